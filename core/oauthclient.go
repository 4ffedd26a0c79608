package core

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// The OAuth client (consent) path: an OAuth client ID of type Web
// application (Webex Connect, Creatio) or Desktop ("installed"), consented to
// once per mailbox. This file holds the client's validation, the redirect-URI
// rules and the per-mailbox refresh-token store interface; consent.go holds
// the authorization-code flow and refresh.go the access-token refresh.

// OAuthClientIDSuffix ends every OAuth client ID Google issues.
const OAuthClientIDSuffix = ".apps.googleusercontent.com"

var oauthClientIDRe = regexp.MustCompile(`^[0-9]+-[a-z0-9]+\.apps\.googleusercontent\.com$`)

// ValidateOAuthClientID checks the shape of an OAuth client ID as Google
// issues it ("123456789012-abc...xyz.apps.googleusercontent.com").
func ValidateOAuthClientID(id string) error {
	id = strings.TrimSpace(id)
	switch {
	case id == "":
		return &FindingError{Finding: clientIDEmptyFinding()}
	case clientIDDigits.MatchString(id):
		return &FindingError{Finding: clientIDIsServiceAccountFinding(id)}
	case !strings.HasSuffix(id, OAuthClientIDSuffix):
		return &FindingError{Finding: clientIDSuffixFinding(id)}
	case !oauthClientIDRe.MatchString(id):
		return &FindingError{Finding: clientIDShapeFinding(id)}
	}
	return nil
}

// NewOAuthClientCredential builds an OAuth client credential from a client
// ID and secret entered by hand (the Webex / Creatio fields), validated.
func NewOAuthClientCredential(clientID, clientSecret string, redirectURIs []string) (*Credential, error) {
	c := &Credential{Kind: KindOAuthClient, ClientType: "web", ClientID: strings.TrimSpace(clientID),
		ClientSecret: strings.TrimSpace(clientSecret), TokenURI: GoogleTokenURL, RedirectURIs: redirectURIs,
		Fingerprint: secretFingerprint(strings.TrimSpace(clientSecret))}
	if err := c.RequireOAuthClient(); err != nil {
		return nil, err
	}
	return c, nil
}

// RequireOAuthClient returns a finding unless the credential is a usable
// OAuth client: a well-formed client ID and a client secret.
func (c *Credential) RequireOAuthClient() error {
	switch c.Kind {
	case KindOAuthClient:
	case KindServiceAccount, KindServiceAccountP12:
		return &FindingError{Finding: serviceAccountNotClientFinding(c)}
	default:
		return &FindingError{Finding: notOAuthClientFinding(c)}
	}
	if err := ValidateOAuthClientID(c.ClientID); err != nil {
		return err
	}
	if strings.TrimSpace(c.ClientSecret) == "" {
		return &FindingError{Finding: clientSecretMissingFinding(c.ClientID)}
	}
	if strings.ContainsAny(c.ClientSecret, " \t\r\n") {
		return &FindingError{Finding: clientSecretSpacesFinding(c.ClientID)}
	}
	for _, u := range c.RedirectURIs {
		if pu, err := url.Parse(u); err != nil || pu.Scheme == "" || pu.Host == "" {
			return &FindingError{Finding: redirectURINotAbsoluteFinding(u, c.ClientID)}
		}
	}
	return nil
}

// OAuthClientFileJSON writes a credential entered by hand as the client JSON
// Google would have downloaded, so a profile stores one format whichever way
// the client was loaded.
func OAuthClientFileJSON(c *Credential, ep Endpoints) []byte {
	ep = ep.WithDefaults()
	typ := c.ClientType
	if typ != "installed" {
		typ = "web"
	}
	tokenURI := c.TokenURI
	if tokenURI == "" || tokenURI == GoogleTokenURL {
		tokenURI = ep.TokenURL
	}
	inner := map[string]any{"client_id": c.ClientID, "client_secret": c.ClientSecret,
		"auth_uri": ep.AuthURL, "token_uri": tokenURI}
	if c.ProjectID != "" {
		inner["project_id"] = c.ProjectID
	}
	if len(c.RedirectURIs) > 0 {
		inner["redirect_uris"] = c.RedirectURIs
	}
	b, _ := json.Marshal(map[string]any{typ: inner})
	return b
}

// IsLoopbackURI reports whether a redirect URI points back at this machine
// (http://127.0.0.1, http://[::1] or http://localhost), where a listener of
// mailoauth can receive the code.
func IsLoopbackURI(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// RedirectURIMatches reports whether uri is registered: exactly, or (RFC 8252
// section 7.3, as Google does for loopback redirects) a loopback URI
// registered without a port matches that URI on any port.
func RedirectURIMatches(registered []string, uri string) bool {
	for _, r := range registered {
		if r == uri {
			return true
		}
		if !IsLoopbackURI(r) || !IsLoopbackURI(uri) {
			continue
		}
		ru, _ := url.Parse(r)
		uu, _ := url.Parse(uri)
		if ru.Port() == "" && ru.Hostname() == uu.Hostname() && orSlash(ru.Path) == orSlash(uu.Path) && ru.RawQuery == uu.RawQuery {
			return true
		}
	}
	return false
}

func orSlash(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// defaultLoopbackRedirect is the redirect URI used when the client lists no
// loopback URI: 127.0.0.1 on a port the OS chooses.
const defaultLoopbackRedirect = "http://127.0.0.1/"

// ConsentRedirectURI is the redirect URI a consent for the profile uses: the
// profile's explicit one (the host product's callback, for paste-back), else
// the client's first registered loopback URI, else its first registered one
// when pasting, else defaultLoopbackRedirect. A loopback URI without a port
// gets the listener's port when the listener starts.
func ConsentRedirectURI(p *Profile, c *Credential, paste bool) string {
	if p != nil && p.RedirectURI != "" {
		return p.RedirectURI
	}
	for _, r := range c.RedirectURIs {
		if IsLoopbackURI(r) {
			return r
		}
	}
	if paste && len(c.RedirectURIs) > 0 {
		return c.RedirectURIs[0]
	}
	return defaultLoopbackRedirect
}

// RefreshToken is one mailbox's consent: the refresh token Google issued to
// the OAuth client when the mailbox's owner chose Allow.
type RefreshToken struct {
	Mailbox  string   `json:"mailbox"`
	ClientID string   `json:"client_id"`
	Token    string   `json:"refresh_token"`
	Scopes   []string `json:"scopes,omitempty"`
	// ConsentedAt is when consent was given, on Google's clock (the token
	// endpoint's Date header) when it sent one: refresh tokens of apps in
	// Testing expire seven days after it by Google's clock, not ours.
	ConsentedAt time.Time `json:"consented_at"`
	// Rotated is when Google last replaced the token (zero: never).
	Rotated time.Time `json:"rotated,omitzero"`
	// ExpiresAt is when Google said the refresh token ends (its
	// refresh_token_expires_in, sent for apps in Testing and time-limited
	// access), on Google's clock; zero: until revoked.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Fingerprint identifies the refresh token without revealing it.
func (r RefreshToken) Fingerprint() string { return secretFingerprint(r.Token) }

// RefreshTokenStore keeps each mailbox's refresh token. The store implements
// it (sealed on disk); MemoryRefreshStore serves tests. SaveRefreshToken
// replaces the mailbox's token in one step, so a token Google rotated is
// never half-written.
type RefreshTokenStore interface {
	LoadRefreshToken(mailbox string) (RefreshToken, bool, error)
	SaveRefreshToken(rt RefreshToken) error
	DeleteRefreshToken(mailbox string) error
}

// DamagedConsentError is a mailbox's stored consent (its refresh token)
// that a RefreshTokenStore cannot read back. Its sentence is the same in
// every face: how to give the consent again.
type DamagedConsentError struct {
	Mailbox string
	Store   string // where the consent is kept (the store's file)
	Err     error  // why it does not decode; quoted, not unwrapped
}

func (e *DamagedConsentError) Error() string {
	return fmt.Sprintf("the stored consent of %s in store %s is damaged (%v); run %s to give it again", e.Mailbox, e.Store, e.Err, reconsentCommand(e.Mailbox))
}

// MemoryRefreshStore is a RefreshTokenStore in memory, safe for concurrent use.
type MemoryRefreshStore struct {
	tokens memoryMap[RefreshToken] // by lower-cased mailbox
}

// LoadRefreshToken implements RefreshTokenStore.
func (m *MemoryRefreshStore) LoadRefreshToken(mailbox string) (RefreshToken, bool, error) {
	rt, ok := m.tokens.load(strings.ToLower(mailbox))
	return rt, ok, nil
}

// SaveRefreshToken implements RefreshTokenStore.
func (m *MemoryRefreshStore) SaveRefreshToken(rt RefreshToken) error {
	m.tokens.save(strings.ToLower(rt.Mailbox), rt)
	return nil
}

// DeleteRefreshToken implements RefreshTokenStore.
func (m *MemoryRefreshStore) DeleteRefreshToken(mailbox string) error {
	m.tokens.delete(strings.ToLower(mailbox))
	return nil
}

// ConsentState is what the wizard and `mailbox ls` show about a mailbox's
// consent on the OAuth client path.
type ConsentState struct {
	Consented   bool      `json:"consented"`
	ConsentedAt time.Time `json:"consented_at,omitzero"`
	// OtherClient: consent was given to a different OAuth client than the
	// profile's, so it does not count.
	OtherClient bool   `json:"other_client,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

// Summary says the consent state in a word or two for a list column; layout
// formats the consent's date.
func (c ConsentState) Summary(layout string) string {
	switch {
	case c.Consented:
		return "✓ " + c.ConsentedAt.Local().Format(layout)
	case c.OtherClient:
		return "other app"
	}
	return "none"
}

// ConsentOf reports a mailbox's consent state for the client ID.
func ConsentOf(rs RefreshTokenStore, clientID, mailbox string) ConsentState {
	if rs == nil {
		return ConsentState{}
	}
	rt, ok, err := rs.LoadRefreshToken(strings.ToLower(strings.TrimSpace(mailbox)))
	if err != nil || !ok || rt.Token == "" {
		return ConsentState{}
	}
	if rt.ClientID != clientID {
		return ConsentState{OtherClient: true, ConsentedAt: rt.ConsentedAt}
	}
	return ConsentState{Consented: true, ConsentedAt: rt.ConsentedAt, Fingerprint: rt.Fingerprint()}
}

// Describe is the consent state in a few words.
func (c ConsentState) Describe() string {
	switch {
	case c.Consented:
		return "consented " + c.ConsentedAt.Local().Format("2006-01-02")
	case c.OtherClient:
		return "consent given to another client"
	}
	return "no consent yet"
}

// reconsentCommand is the command that (re-)consents a mailbox.
func reconsentCommand(mailbox string) string {
	return "`mailoauth authorize " + orUnknown(mailbox, "ADDR") + "`"
}

// ChecklistItem is one line of the consent-screen checklist: what to set in
// the Cloud console, and the value to paste.
type ChecklistItem struct {
	Item  string `json:"item"`
	Value string `json:"value"`
}

// ConsentChecklist is what the admin sets in console.cloud.google.com >
// APIs & Services for the OAuth client path, with the values to paste. The
// wizard's step 4 and `mailoauth setup --client` both show it.
func ConsentChecklist(p *Profile, c *Credential) []ChecklistItem {
	redirect := callbackURL(p, c)
	userType := "Internal if every mailbox is in " + p.Domain + " (no test users, no 7-day limit); External for mailboxes outside it"
	switch p.ConsentUserType {
	case "internal":
		userType = "Internal: only mailboxes of the " + p.Domain + " organisation can consent"
	case "external":
		userType = "External: while Testing, only test users can consent and their refresh tokens expire after 7 days; publish the app for production"
	}
	domains := p.Domain
	if u, err := url.Parse(redirect); err == nil && !IsLoopbackURI(redirect) && u.Hostname() != "" {
		domains += ", " + registrableDomain(u.Hostname())
	}
	publishing := "In production for real use (in Testing only test users consent, and for 7 days)"
	switch {
	case p.ConsentUserType == "internal":
		publishing = "no matter for an Internal app: no test users, no 7-day limit"
	case p.ConsentPublishing == "testing":
		publishing = "Testing: only test users can consent and their refresh tokens expire after 7 days; choose Publish app once the setup works"
	case p.ConsentPublishing == "production":
		publishing = "In production: refresh tokens last until revoked (" + ScopeMail + " is a restricted scope: an External app needs Google's verification beyond 100 users)"
	}
	return []ChecklistItem{
		{"User type (" + consentScreenPage + ")", userType},
		{"Publishing status (" + consentScreenPage + ")", publishing},
		{"Test users (External + Testing only)", fmt.Sprintf("every mailbox that will consent, e.g. %s (at most %d over the app's life)", orUnknown(p.DefaultSender, "administrator@"+p.Domain), MaxTestUsers)},
		{"Authorized domains", domains},
		{"Scopes (Data access)", strings.Join(p.ScopeList(), " ")},
		{"Authorized redirect URI (" + credentialsPage + " > " + c.ClientID + ")", registeredForm(redirect)},
	}
}

// registrableDomain is the last two labels of a host name (good enough for
// the authorized-domains hint; the console shows its own error otherwise).
func registrableDomain(host string) string {
	parts := strings.Split(host, ".")
	if len(parts) <= 2 || net.ParseIP(host) != nil {
		return host
	}
	return strings.Join(parts[len(parts)-2:], ".")
}
