package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// ConsentRefusedError is the consent page's refusal, as ApproveConsent
// reports it: the HTTP status, the OAuth error code and Google's sentence.
type ConsentRefusedError struct {
	Status       int
	Code, Detail string
}

func (e *ConsentRefusedError) Error() string {
	if e.Code == signinNotFound {
		return "Google has no account " + e.Detail + ": sign in with an address of the domain."
	}
	return fmt.Sprintf("Google's consent page refuses (error %d, %s): %s", e.Status, e.Code, e.Detail)
}

// ApproveConsent answers a consent URL as the signed-in mailbox owner who
// chooses Allow on the consent page: it applies the page's rules and
// returns the address the browser is redirected to (with the code, or with
// the error the page redirects with). The wizard's sandbox mode calls it
// instead of reading the page's HTML; real browsers keep using the page.
func (s *Sandbox) ApproveConsent(consentURL string) (string, error) {
	u, err := url.Parse(consentURL)
	if err != nil {
		return "", fmt.Errorf("the consent URL is not one: %v", err)
	}
	if base := strings.SplitN(consentURL, "?", 2)[0]; base != s.Endpoints().AuthURL {
		return "", fmt.Errorf("%s is not the sandbox's consent page %s", base, s.Endpoints().AuthURL)
	}
	req, refused := s.readAuthRequest(u.Query())
	switch {
	case refused == nil:
		return s.issueCode(req), nil
	case refused.redirect != nil:
		return withQuery(refused.redirectURI, refused.redirect), nil
	}
	return "", &ConsentRefusedError{Status: refused.status, Code: refused.code, Detail: refused.detail}
}

// consentRefusal is why the consent page does not ask: an error page
// (status, code, detail) or, with redirect set, a redirect to redirectURI
// with those parameters.
type consentRefusal struct {
	status       int
	code, detail string
	redirectURI  string
	redirect     url.Values
}

func pageRefusal(status int, code, detail string) *consentRefusal {
	return &consentRefusal{status: status, code: code, detail: detail}
}

// readAuthRequest checks a consent URL's query and the signing-in user the
// way the consent page does before it asks.
func (s *Sandbox) readAuthRequest(q url.Values) (*authRequest, *consentRefusal) {
	clientID, redirect := q.Get("client_id"), q.Get("redirect_uri")
	s.mu.Lock()
	app := s.oauth
	knownClient := clientID == app.clientID
	disabled := s.clients[clientID].Disabled
	registered := core.RedirectURIMatches(app.redirectURIs, redirect)
	s.mu.Unlock()
	switch {
	case !knownClient:
		return nil, pageRefusal(http.StatusUnauthorized, core.OAuthInvalidClient, core.DescClientNotFound)
	case disabled:
		return nil, pageRefusal(http.StatusUnauthorized, core.OAuthDisabledClient, core.DescDisabledClient)
	case redirect == "" || !registered:
		return nil, pageRefusal(http.StatusBadRequest, core.OAuthRedirectURIMismatch,
			"You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. If you're the app developer, register the redirect URI in the Google Cloud Console. Request details: redirect_uri="+redirect)
	}
	st := q.Get("state")
	if q.Get("response_type") != "code" {
		return nil, &consentRefusal{redirectURI: redirect, redirect: url.Values{"error": {"unsupported_response_type"}, "state": {st}}}
	}
	scopes := strings.Fields(q.Get("scope"))
	if len(scopes) == 0 {
		return nil, pageRefusal(http.StatusBadRequest, core.OAuthInvalidRequest, "Missing required parameter: scope")
	}
	for _, sc := range scopes {
		if !wellFormedScope(sc) {
			return nil, pageRefusal(http.StatusBadRequest, core.OAuthInvalidScope, "Some requested scopes were invalid. {invalid=["+sc+"]}")
		}
	}
	method := q.Get("code_challenge_method")
	if q.Get("code_challenge") != "" && method != "S256" && method != "plain" && method != "" {
		return nil, pageRefusal(http.StatusBadRequest, core.OAuthInvalidRequest, "Invalid code_challenge_method: "+method)
	}
	if method == "" && q.Get("code_challenge") != "" {
		method = "plain"
	}
	user := strings.ToLower(strings.TrimSpace(q.Get("login_hint")))
	req := &authRequest{user: user, redirect: redirect, state: st, scopes: scopes, challenge: q.Get("code_challenge"), method: method}
	s.mu.Lock()
	req.expiry = s.nowLocked().Add(time.Hour)
	s.mu.Unlock()
	if status, code, detail := s.mayConsent(user); code != "" {
		return nil, pageRefusal(status, code, detail)
	}
	return req, nil
}

// issueCode issues an authorization code for an approved request and
// returns the address the browser is redirected to.
func (s *Sandbox) issueCode(req *authRequest) string {
	code := "4/0A" + randFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 70)
	s.mu.Lock()
	c := &authCode{authRequest: *req}
	c.expiry = s.nowLocked().Add(10 * time.Minute)
	s.oauth.codes[code] = c
	s.mu.Unlock()
	s.logf("sandbox: consent given by %s", req.user)
	return withQuery(req.redirect, url.Values{"state": {req.state}, "code": {code}, "scope": {strings.Join(req.scopes, " ")}})
}

// withQuery appends v to a redirect URI that may have a query already.
func withQuery(redirect string, v url.Values) string {
	sep := "?"
	if strings.Contains(redirect, "?") {
		sep = "&"
	}
	return redirect + sep + v.Encode()
}
