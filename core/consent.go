package core

import (
	"context"
	"encoding/base64"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// The bounds of a consent, the same for `mailoauth authorize` and the wizard.
const (
	// DefaultConsentWait is how long a consent waits for the browser (or the
	// pasted answer) before it gives up.
	DefaultConsentWait = 10 * time.Minute
	// consentPreflightTimeout bounds the load of the consent page before it
	// is shown (Preflight).
	consentPreflightTimeout = 15 * time.Second
	// ConsentExchangeTimeout bounds the trade of the code for tokens.
	ConsentExchangeTimeout = 30 * time.Second
)

// oauthConfig is the x/oauth2 configuration of an OAuth client. Google takes
// the client secret in the form body (AuthStyleInParams), which also spares
// x/oauth2 its auto-detecting second request.
func oauthConfig(c *Credential, ep Endpoints, scopes []string, redirect string) *oauth2.Config {
	ep = ep.WithDefaults()
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: ep.AuthURL, TokenURL: credTokenURL(c, ep), AuthStyle: oauth2.AuthStyleInParams}}
}

// credTokenURL is the token URL for a credential: its own token_uri when it
// is not Google's default (a sandbox file), else the endpoints'.
func credTokenURL(c *Credential, ep Endpoints) string {
	if c != nil && c.TokenURI != "" && c.TokenURI != GoogleTokenURL {
		return c.TokenURI
	}
	return ep.WithDefaults().TokenURL
}

// Consent is one authorization-code request for one mailbox: PKCE (S256)
// verifier, state, and the URL of Google's consent page.
type Consent struct {
	Mailbox     string
	RedirectURI string
	// URL is Google's consent page for this request, to open in a browser.
	URL string
	// Clock is this machine's clock, which the access token's expiry (and
	// the consent's time when Google's answer has no Date) is reckoned
	// by; nil is time.Now. The README's screenshots fix it.
	Clock func() time.Time

	cred     *Credential
	ep       Endpoints
	scopes   []string
	state    string
	verifier string
	cfg      *oauth2.Config
}

// NewConsent prepares a consent request. It checks the redirect URI against
// the client's registered ones (when the client JSON lists them) so a
// mismatch is explained before the browser shows Google's error page.
func NewConsent(cred *Credential, ep Endpoints, scopes []string, mailbox, redirect string) (*Consent, error) {
	if err := cred.RequireOAuthClient(); err != nil {
		return nil, err
	}
	if len(scopes) == 0 {
		scopes = []string{ScopeMail}
	}
	mailbox = strings.ToLower(strings.TrimSpace(mailbox))
	if len(cred.RedirectURIs) > 0 && !RedirectURIMatches(cred.RedirectURIs, redirect) {
		return nil, &FindingError{Finding: redirectMismatchFinding(cred.ClientID, redirect, cred.RedirectURIs)}
	}
	c := &Consent{Mailbox: mailbox, RedirectURI: redirect, cred: cred, ep: ep.WithDefaults(), scopes: scopes,
		state: randomID() + randomID(), verifier: oauth2.GenerateVerifier()}
	c.cfg = oauthConfig(cred, c.ep, scopes, redirect)
	c.URL = c.cfg.AuthCodeURL(c.state, oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(c.verifier),
		oauth2.SetAuthURLParam("prompt", "consent"), oauth2.SetAuthURLParam("login_hint", mailbox))
	return c, nil
}

func (c *Consent) diag() oauthDiag {
	return oauthDiag{DiagContext: DiagContext{Mailbox: c.Mailbox, Domain: domainOf(c.Mailbox), clientID: c.cred.ClientID, Scopes: c.scopes,
		Endpoints: c.ep, Check: CheckToken, tokenURL: credTokenURL(c.cred, c.ep)}, Redirect: c.RedirectURI}
}

// registeredForm is the URI to register for a loopback redirect: without the
// port the listener happened to get, which Google accepts for any port.
func registeredForm(redirect string) string {
	if !IsLoopbackURI(redirect) {
		return redirect
	}
	u, err := url.Parse(redirect)
	if err != nil {
		return redirect
	}
	u.Host = u.Hostname()
	if strings.Contains(u.Host, ":") {
		u.Host = "[" + u.Host + "]"
	}
	return u.String()
}

var errorPageRe = regexp.MustCompile(`Error (\d{3}): ([a-z_]+)`)

// Preflight loads the consent page without following redirects, the way a
// browser would start, to turn what Google would show as an error page
// ("Error 400: redirect_uri_mismatch", "Error 401: invalid_client",
// "Error 403: access_denied") into a finding before anyone waits for a
// browser. A page that asks the user to sign in or to consent passes. It
// takes at most 15 s (consentPreflightTimeout).
func (c *Consent) Preflight(ctx context.Context) error {
	hc, err := c.ep.HTTPClient()
	if err != nil {
		return &FindingError{Finding: c.diag().diagnose(err), Err: err}
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	pctx, cancel := context.WithTimeout(ctx, consentPreflightTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return Inputf("the consent URL %s is not valid (%v); check auth_url in the endpoints file", c.ep.AuthURL, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		err = &ServerError{Server: HostOfURL(c.ep.AuthURL), Err: err}
		return &FindingError{Finding: c.diag().diagnose(err), Err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc, _ := resp.Location()
		if loc == nil {
			return nil
		}
		q := loc.Query()
		if e := q.Get("error"); e != "" && strings.HasPrefix(loc.String(), strings.SplitN(c.RedirectURI, "?", 2)[0]) {
			return &FindingError{Finding: consentErrorFinding(e, q.Get("error_description"), c.diag())}
		}
		// Google sends its error pages as /signin/oauth/error?authError=...
		if ae := q.Get("authError"); ae != "" {
			raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(ae, "="))
			for _, code := range []string{OAuthRedirectURIMismatch, OAuthInvalidClient, OAuthDisabledClient, OAuthOrgInternal, OAuthAccessDenied, OAuthAdminPolicyEnforced, OAuthInvalidScope} {
				if strings.Contains(string(raw), code) {
					return &FindingError{Finding: consentErrorFinding(code, "", c.diag())}
				}
			}
		}
		return nil
	}
	if f := c.consentPageFinding(resp, body); f != nil {
		return &FindingError{Finding: f}
	}
	return nil
}

var tagRe = regexp.MustCompile(`<[^>]*>`)

// pageText is the visible text of an error page, collapsed and cut short.
func pageText(body []byte) string {
	t := strings.Join(strings.Fields(html.UnescapeString(tagRe.ReplaceAllString(string(body), " "))), " ")
	if len(t) > 300 {
		t = t[:300]
	}
	return t
}

// consentErrorFinding explains an error of the consent step: the "error"
// parameter of the redirect, or the code on Google's error page.
func consentErrorFinding(code, desc string, d oauthDiag) *Finding {
	switch code {
	case OAuthAccessDenied:
		return accessDeniedFinding(d)
	case OAuthOrgInternal:
		return orgInternalFinding(d)
	case OAuthRedirectURIMismatch:
		return redirectMismatchFinding(d.clientID, d.Redirect, nil)
	case OAuthInvalidClient:
		return invalidClientFinding(d, DescClientNotFound)
	case OAuthDisabledClient:
		return consentClientDisabledFinding(d)
	case OAuthAdminPolicyEnforced:
		return consentAdminPolicyFinding(d)
	}
	text := code
	if desc != "" {
		text += ": " + desc
	}
	return consentFailedFinding(d, text)
}

func invalidClientFinding(d oauthDiag, desc string) *Finding {
	if strings.Contains(strings.ToLower(desc), "not found") {
		return clientNotFoundFinding(d)
	}
	return clientSecretRejectedFinding(d, desc)
}

// ParseResponse takes what came back from Google: the full redirected URL
// (from the loopback listener, or pasted from the browser's address bar) or
// the bare code, and returns the code. An "error" parameter becomes its
// finding; a URL of another attempt (state differs) is refused.
func (c *Consent) ParseResponse(input string) (string, error) {
	in := strings.TrimSpace(input)
	if in == "" {
		return "", Inputf("nothing was pasted; paste the whole address the browser shows after Allow (it contains code=...), or just the code")
	}
	looksURL := strings.Contains(in, "://") || strings.HasPrefix(in, "/") || strings.HasPrefix(in, "?") ||
		strings.Contains(in, "code=") || strings.Contains(in, "error=")
	if !looksURL {
		if strings.ContainsAny(in, " \t<>\"") {
			return "", Inputf("%q is neither the redirected address nor an authorization code; paste the whole address from the browser's address bar", truncate(in, 40))
		}
		return in, nil
	}
	raw := in
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[i+1:]
	}
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i]
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "", Inputf("the pasted address does not parse (%v); copy it again from the browser's address bar", err)
	}
	if e := q.Get("error"); e != "" {
		return "", &FindingError{Finding: consentErrorFinding(e, q.Get("error_description"), c.diag())}
	}
	if st := q.Get("state"); st != c.state {
		return "", Inputf("the address belongs to another consent attempt (its state does not match this one); open the URL shown for this attempt and paste the address it ends on")
	}
	code := q.Get("code")
	if code == "" {
		return "", Inputf("the address has no code parameter; paste the address the browser shows after choosing Allow")
	}
	return code, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Grant is the outcome of a consent: what "Generate token" shows in the
// host products (access token validity, whether a refresh token came).
type Grant struct {
	Mailbox string `json:"mailbox"`
	// Token is the first access token, already in the token cache.
	Token Token `json:"-"`
	// ExpiresIn is the access token's validity as Google stated it (~3599 s).
	ExpiresIn            time.Duration `json:"expires_in"`
	RefreshTokenReceived bool          `json:"refresh_token_received"`
	RefreshFingerprint   string        `json:"refresh_token_fingerprint,omitempty"`
	Scopes               []string      `json:"scopes"`
}

// Exchange trades the code for tokens (with the PKCE verifier), stores the
// refresh token for the mailbox (replacing any earlier one) and caches the
// access token, so `mailoauth token` and the tests use it at once.
func (c *Consent) Exchange(ctx context.Context, code string, rs RefreshTokenStore, cache TokenCache) (*Grant, error) {
	d := c.diag()
	rt := &recordingTransport{ctx: ctx}
	octx, err := rt.context(c.ep, d.tokenURL)
	if err != nil {
		return nil, &FindingError{Finding: d.diagnose(err), Err: err}
	}
	start := time.Now()
	ot, err := c.cfg.Exchange(octx, code, oauth2.VerifierOption(c.verifier))
	if err != nil {
		err = rt.cause(ctx, err, d.tokenURL)
		return nil, &FindingError{Finding: d.diagnose(err), Err: err}
	}
	life := time.Hour
	if !ot.Expiry.IsZero() {
		life = ot.Expiry.Sub(start)
	}
	scopes := c.scopes
	if s, ok := ot.Extra("scope").(string); ok && s != "" {
		scopes = strings.Fields(s)
	}
	now := time.Now
	if c.Clock != nil {
		now = c.Clock
	}
	tok := Token{Mailbox: c.Mailbox, Scopes: append([]string(nil), c.scopes...), AccessToken: ot.AccessToken, Expiry: now().Add(life)}
	g := &Grant{Mailbox: c.Mailbox, Token: tok, ExpiresIn: life.Round(time.Second), RefreshTokenReceived: ot.RefreshToken != "", Scopes: scopes}
	if !hasScope(scopes, ScopeMail) && hasScope(c.scopes, ScopeMail) {
		return g, &FindingError{Finding: grantScopeInsufficientFinding(c.Mailbox, scopes)}
	}
	if ot.RefreshToken == "" {
		return g, &FindingError{Finding: noRefreshTokenFinding(c.Mailbox)}
	}
	consented := rt.serverTime()
	if consented.IsZero() {
		consented = now()
	}
	rec := RefreshToken{Mailbox: c.Mailbox, ClientID: c.cred.ClientID, Token: ot.RefreshToken, Scopes: scopes, ConsentedAt: consented.UTC(),
		ExpiresAt: refreshExpiry(ot, consented)}
	if rs != nil {
		if err := rs.SaveRefreshToken(rec); err != nil {
			return g, err
		}
	}
	g.RefreshFingerprint = rec.Fingerprint()
	if cache != nil {
		_ = cache.SaveToken(tok)
	}
	return g, nil
}

// recordingTransport attaches the caller's context to the token request
// (x/oauth2 posts with the context's client but keeps the transport error
// only as text), and keeps the transport error and the server's Date.
type recordingTransport struct {
	ctx  context.Context
	base http.RoundTripper
	err  error
	date time.Time
}

func (t *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r.WithContext(t.ctx))
	if err != nil {
		t.err = err
		return nil, err
	}
	if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
		t.date = d
	}
	return resp, nil
}

// context returns a context carrying an HTTP client that trusts the
// endpoints' CA and goes through t.
func (t *recordingTransport) context(ep Endpoints, tokenURL string) (context.Context, error) {
	hc, err := ep.HTTPClient()
	if err != nil {
		if u, perr := url.Parse(tokenURL); perr == nil && u.Scheme == "http" {
			hc, err = &http.Client{Timeout: defaultNetTimeout}, nil
		} else {
			return nil, err
		}
	}
	t.base = hc.Transport
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	hc2 := *hc
	hc2.Transport = t
	return context.WithValue(t.ctx, oauth2.HTTPClient, &hc2), nil
}

// cause is the error to diagnose: the context's, the transport's, or err.
func (t *recordingTransport) cause(ctx context.Context, err error, tokenURL string) error {
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re):
		return err
	case ctx.Err() != nil:
		return ctx.Err()
	case t.err != nil:
		return &ServerError{Server: HostOfURL(tokenURL), Err: t.err}
	}
	return err
}

func (t *recordingTransport) serverTime() time.Time { return t.date }
