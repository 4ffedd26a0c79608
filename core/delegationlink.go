package core

import (
	"net/url"
	"strings"
)

// DelegationLinkBase is the Admin console page of domain-wide delegation
// that takes the client ID and scopes to add from its query.
const DelegationLinkBase = "https://admin.google.com/ac/owl/domainwidedelegation"

// DelegationLink is the one-click link that opens the Admin console's
// domain-wide delegation form already filled with the client ID and the
// scopes (comma-separated, URL-encoded), replacing an existing entry for
// the client ID; an administrator signed in to admin.google.com only
// checks it and clicks Authorize. With no scopes it uses ScopeMail.
func DelegationLink(clientID string, scopes []string) string {
	if len(scopes) == 0 {
		scopes = []string{ScopeMail}
	}
	return DelegationLinkBase + "?clientIdToAdd=" + url.QueryEscape(clientID) +
		"&clientScopeToAdd=" + url.QueryEscape(strings.Join(scopes, ",")) + "&overwriteClientId=true"
}
