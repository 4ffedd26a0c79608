package core

import (
	"fmt"
	"html"
	"net/http"
	"strings"
)

// AccountNotFoundText is what Google's sign-in page says when the address
// it is asked to sign in (the consent URL's login_hint) has no Google
// Account: the page stays at sign-in, no consent is ever asked, and nothing
// comes back to the redirect URI.
const AccountNotFoundText = "Couldn't find your Google Account"

// unknownUserFinding is the finding of a mailbox Google has no account for,
// on either credential path; retry is what to run once it is fixed.
func unknownUserFinding(who, domain, summary, retry string) *Finding {
	return NewFinding(CodeUnknownUser, summary,
		fmt.Sprintf("Check the spelling of %s, or create the user in "+UsersConsolePath+" > Add new user (in %s), then %s.", who, orUnknown(domain, "the domain"), retry))
}

// consentPageFinding reads a consent page that did not redirect: Google's
// sign-in page for an address without an account (its apostrophe may be
// typographic or an HTML entity), an "Error NNN: code" page,
// or another HTTP error. It returns nil for a page that asks the user to sign
// in or to consent.
func (c *Consent) consentPageFinding(resp *http.Response, body []byte) *Finding {
	d := c.diag()
	text := strings.ReplaceAll(html.UnescapeString(string(body)), "\u2019", "'")
	if strings.Contains(text, AccountNotFoundText) {
		return unknownUserFinding(d.who(), d.Domain,
			fmt.Sprintf("Google has no account %s: its sign-in page says \"%s\", so nobody can consent for it.", d.who(), AccountNotFoundText),
			"run "+ReconsentCommand(d.Mailbox)+" again")
	}
	if resp.StatusCode < 400 {
		return nil
	}
	if m := errorPageRe.FindStringSubmatch(string(body)); m != nil {
		return consentErrorFinding(m[2], pageText(body), d)
	}
	return NewFinding(CodeTokenFailed,
		fmt.Sprintf("Google's consent page %s answered %s for %s.", c.ep.AuthURL, resp.Status, c.Mailbox),
		"Check auth_url in the endpoints file (Google's is "+GoogleAuthURL+") and the OAuth client in "+clientHowTo+", then retry.")
}
