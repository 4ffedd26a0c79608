package core

import (
	"html"
	"net/http"
	"strings"
)

// AccountNotFoundText is what Google's sign-in page says when the address
// it is asked to sign in (the consent URL's login_hint) has no Google
// Account: the page stays at sign-in, no consent is ever asked, and nothing
// comes back to the redirect URI.
const AccountNotFoundText = "Couldn't find your Google Account"

// consentPageFinding reads a consent page that did not redirect: Google's
// sign-in page for an address without an account (its apostrophe may be
// typographic or an HTML entity), an "Error NNN: code" page,
// or another HTTP error. It returns nil for a page that asks the user to sign
// in or to consent.
func (c *Consent) consentPageFinding(resp *http.Response, body []byte) *Finding {
	d := c.diag()
	text := strings.ReplaceAll(html.UnescapeString(string(body)), "\u2019", "'")
	if strings.Contains(text, AccountNotFoundText) {
		return accountNotFoundFinding(d)
	}
	if resp.StatusCode < 400 {
		return nil
	}
	if m := errorPageRe.FindStringSubmatch(string(body)); m != nil {
		return consentErrorFinding(m[2], pageText(body), d)
	}
	return consentPageErrorFinding(c, resp)
}
