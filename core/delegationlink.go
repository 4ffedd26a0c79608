package core

import (
	"fmt"
	"net/url"
	"strings"
)

// delegationLinkDir is the Admin console's folder of the delegation page,
// without the scheme: what DelegationLinkShort keeps of the link.
const delegationLinkDir = adminConsole + "/ac/owl/"

// delegationLinkBase is the Admin console page of domain-wide delegation
// that takes the client ID and scopes to add from its query.
const delegationLinkBase = "https://" + delegationLinkDir + "domainwidedelegation"

// DelegationLinkShort is the link cut to where it leads, for a screen too
// narrow to show it whole; the keys beside it copy or open the whole link.
const DelegationLinkShort = delegationLinkDir + "…"

// DelegationLinkIntro introduces the link where the client ID and scopes
// are shown for pasting.
const DelegationLinkIntro = "Or open this link, which fills in the form (check it and click Authorize):"

// DelegationLink is the one-click link that opens the Admin console's
// domain-wide delegation form already filled with the client ID and the
// scopes (comma-separated, URL-encoded), replacing an existing entry for
// the client ID; an administrator signed in to admin.google.com only
// checks it and clicks Authorize. With no scopes it uses ScopeMail.
func DelegationLink(clientID string, scopes []string) string {
	if len(scopes) == 0 {
		scopes = []string{ScopeMail}
	}
	return delegationLinkBase + "?clientIdToAdd=" + url.QueryEscape(clientID) +
		"&clientScopeToAdd=" + url.QueryEscape(strings.Join(scopes, ",")) + "&overwriteClientId=true"
}

// delegationFix is the fix of delegation_not_authorized: the values to
// paste and, when the client ID is known, the link that pastes them.
func (d DiagContext) delegationFix() string {
	fix := fmt.Sprintf("In %s, add client ID %s with scope %s (exactly these strings; it can take from minutes to hours to take effect)",
		delegationConsolePath, d.shownClientID(), strings.Join(d.Scopes, ","))
	if d.clientID == "" {
		return fix + "."
	}
	return fix + "; or open " + DelegationLink(d.clientID, d.Scopes) + ", which fills in the form."
}
