package sandbox

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// The OAuth client (consent) path of the simulated Google: the consent page
// at auth_url, the consent-screen settings of the Cloud console (user type,
// publishing status, test users), redirect-URI checking, the
// authorization-code grant with PKCE, refresh tokens (optionally rotating,
// expiring after 7 days for an External app in Testing, by the sandbox
// clock) and the admin calls that change all of it.

// Consent-screen user types and publishing states, as the Cloud console names them.
const (
	UserTypeInternal  = "internal"
	UserTypeExternal  = "external"
	PublishTesting    = "testing"
	PublishProduction = "production"
)

// ConsentScreen is the OAuth consent screen of the sandbox's project.
type ConsentScreen struct {
	AppName          string `json:"app_name"`
	UserType         string `json:"user_type"`         // internal | external
	PublishingStatus string `json:"publishing_status"` // testing | production
	// RotateRefreshTokens makes every refresh answer with a new refresh
	// token and retire the old one.
	RotateRefreshTokens bool `json:"rotate_refresh_tokens"`
}

type oauthApp struct {
	clientID     string
	secret       string
	redirectURIs []string
	screen       ConsentScreen
	testUsers    map[string]bool
	testEver     map[string]bool // Google counts the cap over the app's life
	autoConsent  bool
	codes        map[string]*authCode
	refresh      map[string]*refreshGrant
	pending      map[string]*authRequest
}

type authRequest struct {
	user      string
	redirect  string
	state     string
	scopes    []string
	challenge string
	method    string
	expiry    time.Time
}

type authCode struct {
	authRequest
	used bool
}

type refreshGrant struct {
	user    string
	scopes  []string
	issued  time.Time
	expires time.Time // zero: until revoked
	revoked bool
}

func newOAuthApp(clientID, secret string, redirects []string, autoConsent bool) *oauthApp {
	return &oauthApp{clientID: clientID, secret: secret, redirectURIs: redirects, autoConsent: autoConsent,
		screen:    ConsentScreen{AppName: "mailoauth sandbox", UserType: UserTypeInternal, PublishingStatus: PublishProduction},
		testUsers: map[string]bool{}, testEver: map[string]bool{},
		codes: map[string]*authCode{}, refresh: map[string]*refreshGrant{}, pending: map[string]*authRequest{}}
}

// OAuthClientID is the client ID of the generated OAuth client (oauth-client.json).
func (s *Sandbox) OAuthClientID() string { return s.oauth.clientID }

// OAuthClientSecret is the generated OAuth client's secret.
func (s *Sandbox) OAuthClientSecret() string { return s.oauth.secret }

// SetConsentScreen replaces the consent-screen settings; empty fields keep
// their value.
func (s *Sandbox) SetConsentScreen(c ConsentScreen) error {
	if c.UserType != "" && c.UserType != UserTypeInternal && c.UserType != UserTypeExternal {
		return fmt.Errorf("user_type %q: use internal or external", c.UserType)
	}
	if c.PublishingStatus != "" && c.PublishingStatus != PublishTesting && c.PublishingStatus != PublishProduction {
		return fmt.Errorf("publishing_status %q: use testing or production", c.PublishingStatus)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := &s.oauth.screen
	if c.AppName != "" {
		sc.AppName = c.AppName
	}
	if c.UserType != "" {
		sc.UserType = c.UserType
	}
	if c.PublishingStatus != "" {
		sc.PublishingStatus = c.PublishingStatus
	}
	sc.RotateRefreshTokens = c.RotateRefreshTokens
	return nil
}

// AddTestUsers adds test users; as at Google, at most 100 addresses may ever
// have been test users of the app, removed ones included.
func (s *Sandbox) AddTestUsers(emails ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ever := len(s.oauth.testEver)
	for _, e := range emails {
		if !s.oauth.testEver[strings.ToLower(e)] {
			ever++
		}
	}
	if ever > core.MaxTestUsers {
		return fmt.Errorf("test user cap reached: %d users would have been test users over the app's life, Google allows %d until the app is verified", ever, core.MaxTestUsers)
	}
	for _, e := range emails {
		e = strings.ToLower(strings.TrimSpace(e))
		s.oauth.testUsers[e], s.oauth.testEver[e] = true, true
	}
	return nil
}

// RemoveTestUsers removes test users (they still count toward the cap).
func (s *Sandbox) RemoveTestUsers(emails ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range emails {
		delete(s.oauth.testUsers, strings.ToLower(strings.TrimSpace(e)))
	}
}

// SetRedirectURIs replaces the OAuth client's authorized redirect URIs.
func (s *Sandbox) SetRedirectURIs(uris []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.redirectURIs = append([]string(nil), uris...)
}

// SetAutoConsent makes the consent page approve at once for login_hint.
func (s *Sandbox) SetAutoConsent(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.autoConsent = on
}

// RevokeConsent removes the OAuth client's access for the user, as
// myaccount.google.com/permissions > Remove access does: its refresh tokens
// and access tokens stop working.
func (s *Sandbox) RevokeConsent(email string) {
	email = strings.ToLower(strings.TrimSpace(email))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.oauth.refresh {
		if g.user == email {
			g.revoked = true
		}
	}
	for _, t := range s.tokens {
		if t.email == email && t.clientID == s.oauth.clientID {
			t.revoked = true
		}
	}
}

// AdvanceClock moves the sandbox clock forward by d (on top of any skew).
func (s *Sandbox) AdvanceClock(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skew += d
}

// RefreshTokensIssued is how many refresh tokens are live for the user.
func (s *Sandbox) RefreshTokensIssued(email string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	now := s.nowLocked()
	for _, g := range s.oauth.refresh {
		if g.user == strings.ToLower(email) && g.live(now) {
			n++
		}
	}
	return n
}

func (g *refreshGrant) live(now time.Time) bool {
	return !g.revoked && (g.expires.IsZero() || now.Before(g.expires))
}

// ---- token endpoint: authorization_code and refresh_token grants ----

// consentTokenLen is the length of the access tokens of the authorization
// code and refresh token grants, in the middle of Google's range.
const consentTokenLen = 220

// tokenGrant answers the consent path's grants; it reports false for a
// grant type it does not handle.
func (s *Sandbox) tokenGrant(w http.ResponseWriter, r *http.Request) bool {
	gt := r.PostForm.Get("grant_type")
	if gt != "authorization_code" && gt != "refresh_token" {
		return false
	}
	body, oe := s.oauthGrant(r, gt)
	if oe != nil {
		s.logf("sandbox: %s grant refused: %s: %s", gt, oe.code, oe.desc)
		writeJSON(w, oe.status, map[string]string{"error": oe.code, "error_description": oe.desc})
		return true
	}
	writeJSON(w, http.StatusOK, body)
	return true
}

func (s *Sandbox) oauthGrant(r *http.Request, gt string) (map[string]any, *oauthError) {
	f := r.PostForm
	id, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.oauth
	now := s.nowLocked()
	switch {
	case id == "" || id != app.clientID:
		return nil, oerr(core.OAuthInvalidClient, core.DescClientNotFound)
	case subtle.ConstantTimeCompare([]byte(secret), []byte(app.secret)) != 1:
		return nil, oerr(core.OAuthInvalidClient, core.DescUnauthorized)
	case s.clients[id].Disabled:
		return nil, oerr(core.OAuthDisabledClient, core.DescDisabledClient)
	}
	var user string
	var scopes []string
	var grant *refreshGrant
	if gt == "authorization_code" {
		code := f.Get("code")
		if code == "" {
			return nil, oerr(core.OAuthInvalidRequest, "Missing required parameter: code")
		}
		c := app.codes[code]
		switch {
		case c == nil:
			return nil, oerr(core.OAuthInvalidGrant, core.DescMalformedCode)
		case c.used || !now.Before(c.expiry):
			return nil, oerr(core.OAuthInvalidGrant, core.DescBadRequest)
		case f.Get("redirect_uri") != c.redirect:
			return nil, oerr(core.OAuthRedirectURIMismatch, core.DescBadRequest)
		}
		if c.challenge != "" {
			v := f.Get("code_verifier")
			if v == "" {
				return nil, oerr(core.OAuthInvalidGrant, core.DescMissingCodeVerifier)
			}
			want := v
			if c.method == "S256" {
				sum := sha256.Sum256([]byte(v))
				want = base64.RawURLEncoding.EncodeToString(sum[:])
			}
			if subtle.ConstantTimeCompare([]byte(want), []byte(c.challenge)) != 1 {
				return nil, oerr(core.OAuthInvalidGrant, core.DescInvalidCodeVerifier)
			}
		}
		c.used = true
		user, scopes = c.user, c.scopes
		grant = &refreshGrant{user: user, scopes: scopes, issued: now}
		if app.screen.UserType == UserTypeExternal && app.screen.PublishingStatus == PublishTesting {
			grant.expires = now.Add(core.TestingRefreshTokenLife)
		}
	} else {
		rt := f.Get("refresh_token")
		if rt == "" {
			return nil, oerr(core.OAuthInvalidRequest, "Missing required parameter: refresh_token")
		}
		g := app.refresh[rt]
		if g == nil || !g.live(now) {
			return nil, oerr(core.OAuthInvalidGrant, core.DescTokenRevoked)
		}
		if u := s.users[g.user]; u == nil || u.suspended {
			return nil, oerr(core.OAuthInvalidGrant, core.DescTokenRevoked)
		}
		user, scopes = g.user, g.scopes
		if app.screen.RotateRefreshTokens {
			g.revoked = true
			ng := *g
			ng.revoked = false
			grant = &ng
		}
	}
	const ttl = 3599
	// Google's user-consent access tokens are "ya29.a0" and about 200 to 260
	// characters, unlike the thousand-character "ya29.c." tokens of
	// domain-wide delegation (newAccessToken); mail programs with small
	// token buffers (Debian 12's NeoMutt) depend on the difference.
	at := "ya29.a0" + randFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", consentTokenLen-len("ya29.a0"))
	s.tokens[at] = &token{email: user, scopes: scopes, clientID: app.clientID, expiry: now.Add(ttl * time.Second)}
	s.minted++
	body := map[string]any{"access_token": at, "expires_in": ttl, "scope": strings.Join(scopes, " "), "token_type": "Bearer"}
	if grant != nil {
		rt := "1//0g" + randFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 98)
		app.refresh[rt] = grant
		body["refresh_token"] = rt
		if !grant.expires.IsZero() {
			body["refresh_token_expires_in"] = int(grant.expires.Sub(now) / time.Second)
		}
	}
	return body, nil
}

// handleRevoke is Google's revoke endpoint: a refresh token or an access
// token of the OAuth client stops working.
func (s *Sandbox) handleRevoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	_ = r.ParseForm()
	tok := r.Form.Get("token")
	s.mu.Lock()
	found := false
	if g := s.oauth.refresh[tok]; g != nil {
		g.revoked, found = true, true
	}
	if t := s.tokens[tok]; t != nil {
		t.revoked, found = true, true
	}
	s.mu.Unlock()
	if !found {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": core.OAuthInvalidToken, "error_description": "Token expired or revoked"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// ---- admin API ----

type oauthStateDump struct {
	ClientID      string        `json:"client_id"`
	RedirectURIs  []string      `json:"redirect_uris"`
	ConsentScreen ConsentScreen `json:"consent_screen"`
	TestUsers     []string      `json:"test_users"`
	TestUsersEver int           `json:"test_users_ever"`
	AutoConsent   bool          `json:"auto_consent"`
}

// handleAdminOAuth serves the consent path's admin calls; it reports false
// for a path it does not know.
func (s *Sandbox) handleAdminOAuth(w http.ResponseWriter, r *http.Request, path string) bool {
	a := adminAnswer{w, r}
	switch {
	case path == "oauth" && r.Method == http.MethodGet:
		s.mu.Lock()
		d := oauthStateDump{ClientID: s.oauth.clientID, RedirectURIs: append([]string(nil), s.oauth.redirectURIs...),
			ConsentScreen: s.oauth.screen, TestUsersEver: len(s.oauth.testEver), AutoConsent: s.oauth.autoConsent}
		for u := range s.oauth.testUsers {
			d.TestUsers = append(d.TestUsers, u)
		}
		s.mu.Unlock()
		sort.Strings(d.TestUsers)
		writeJSON(w, http.StatusOK, d)
	case path == "oauth/consent" && r.Method == http.MethodPost:
		var b struct {
			ConsentScreen
			AutoConsent *bool `json:"auto_consent"`
		}
		if !a.decode(&b) {
			return true
		}
		if err := s.SetConsentScreen(b.ConsentScreen); err != nil {
			a.fail(err)
			return true
		}
		if b.AutoConsent != nil {
			s.SetAutoConsent(*b.AutoConsent)
		}
		a.ok()
	case path == "oauth/test_users" && r.Method == http.MethodPost:
		var b struct {
			Add    []string `json:"add"`
			Remove []string `json:"remove"`
		}
		if !a.decode(&b) {
			return true
		}
		if err := s.AddTestUsers(b.Add...); err != nil {
			a.fail(err)
			return true
		}
		s.RemoveTestUsers(b.Remove...)
		a.ok()
	case path == "oauth/redirect_uris" && r.Method == http.MethodPost:
		var b struct {
			URIs []string `json:"uris"`
		}
		if !a.decode(&b) {
			return true
		}
		s.SetRedirectURIs(b.URIs)
		a.ok()
	case path == "oauth/revoke" && r.Method == http.MethodPost:
		a.withEmail(s.RevokeConsent)
	case path == "clock/advance" && r.Method == http.MethodPost:
		var b struct {
			Seconds *float64 `json:"seconds"`
		}
		if !a.decode(&b) {
			return true
		}
		if b.Seconds == nil || *b.Seconds < 0 {
			a.fail(errors.New("seconds is required and must not be negative"))
			return true
		}
		s.AdvanceClock(time.Duration(*b.Seconds * float64(time.Second)))
		a.ok()
	default:
		return false
	}
	return true
}
