package core

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"regexp"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// CredentialKind says what a credential file is.
type CredentialKind string

// The kinds of credential files Google hands out.
const (
	KindServiceAccount    CredentialKind = "service_account"
	KindServiceAccountP12 CredentialKind = "service_account_p12"
	KindOAuthClient       CredentialKind = "oauth_client"
	KindAuthorizedUser    CredentialKind = "authorized_user"
)

// DefaultP12Password is the fixed password Google gives every .p12 key.
const DefaultP12Password = "notasecret"

// Credential is a parsed Google credential. Its public fields are what an
// administrator compares with the Google console; the secrets are unexported
// from JSON and never printed.
type Credential struct {
	Kind         CredentialKind `json:"kind"`
	ClientID     string         `json:"client_id,omitempty"`
	ClientEmail  string         `json:"client_email,omitempty"`
	ProjectID    string         `json:"project_id,omitempty"`
	PrivateKeyID string         `json:"private_key_id,omitempty"`
	TokenURI     string         `json:"token_uri,omitempty"`
	// Fingerprint is SHA256 of the public key (service accounts) or of the
	// client secret (OAuth clients), OpenSSH style.
	Fingerprint string `json:"fingerprint,omitempty"`
	// ClientType is "web" or "installed" for an OAuth client.
	ClientType   string   `json:"client_type,omitempty"`
	RedirectURIs []string `json:"redirect_uris,omitempty"`

	// CertNotBefore and CertNotAfter are the validity of a .p12 key's
	// certificate (Google issues it when the key is created); zero for
	// JSON keys, which carry no date.
	CertNotBefore time.Time `json:"cert_not_before,omitzero"`
	CertNotAfter  time.Time `json:"cert_not_after,omitzero"`

	PrivateKey   *rsa.PrivateKey `json:"-"`
	ClientSecret string          `json:"-"`
	RefreshToken string          `json:"-"`
}

// CredentialOptions carries what a .p12 key cannot hold itself.
type CredentialOptions struct {
	P12Password string
	ClientEmail string
	ClientID    string
}

// Describe is the kind of credential in words.
func (k CredentialKind) Describe() string {
	switch k {
	case KindServiceAccount:
		return "service-account key (JSON)"
	case KindServiceAccountP12:
		return "service-account key (legacy .p12)"
	case KindOAuthClient:
		return "OAuth client (client ID and secret)"
	case KindAuthorizedUser:
		return "authorized-user credential (a person's refresh token, e.g. from gcloud)"
	}
	return string(k)
}

// IsServiceAccount reports whether the credential can sign JWT assertions.
func (c *Credential) IsServiceAccount() bool {
	return c.Kind == KindServiceAccount || c.Kind == KindServiceAccountP12
}

// LoadCredentialFile reads and parses a credential file; it returns the raw
// bytes too, which are what a profile stores.
func LoadCredentialFile(ctx context.Context, path string, opts CredentialOptions) (*Credential, []byte, error) {
	data, err := ReadUserFile(ctx, path, CredentialFile)
	if err != nil {
		return nil, nil, err
	}
	c, err := ParseCredential(data, opts)
	if err != nil {
		return nil, nil, err
	}
	return c, data, nil
}

// ParseCredential recognises a service-account JSON key (also with a BOM or
// CRLF line ends), a legacy .p12 key, an OAuth client JSON or an
// authorized_user file, and validates it. Every problem is a finding that
// names the field and the fix.
func ParseCredential(data []byte, opts CredentialOptions) (*Credential, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(trimmed) == 0 {
		return nil, &FindingError{Finding: emptyKeyFileFinding()}
	}
	if bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		if bytes.HasPrefix(trimmed, []byte("-----BEGIN EC ")) {
			return nil, notRSA(&ecdsa.PrivateKey{}, "The file is a bare PEM key, not the service-account JSON key file, and it")
		}
		return nil, &FindingError{Finding: barePEMKeyFinding()}
	}
	if trimmed[0] == 0x30 { // DER SEQUENCE: PKCS#12
		return parseP12(data, opts)
	}
	if trimmed[0] != '{' && json.Valid(trimmed) {
		return nil, jsonNotAnObject(trimmed)
	}
	if trimmed[0] != '{' {
		return nil, &FindingError{Finding: notJSONNorP12Finding()}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		if strings.Contains(err.Error(), "unexpected end of JSON input") || unclosedJSON(trimmed) {
			return nil, &FindingError{Finding: truncatedJSONFinding()}
		}
		return nil, &FindingError{Finding: invalidJSONFinding(err)}
	}
	for _, top := range []string{"web", "installed"} {
		if inner, ok := raw[top]; ok {
			return parseOAuthClient(top, inner)
		}
	}
	var typ string
	_ = json.Unmarshal(raw["type"], &typ)
	switch typ {
	case "service_account":
		return parseServiceAccount(raw)
	case "authorized_user":
		var au struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
			RefreshToken string `json:"refresh_token"`
		}
		_ = json.Unmarshal(trimmed, &au)
		return &Credential{Kind: KindAuthorizedUser, ClientID: au.ClientID, ClientSecret: au.ClientSecret,
			RefreshToken: au.RefreshToken, Fingerprint: secretFingerprint(au.RefreshToken)}, nil
	case "":
		return nil, &FindingError{Finding: noTypeFieldFinding()}
	default:
		return nil, &FindingError{Finding: unsupportedCredentialFinding(typ)}
	}
}

// unclosedJSON reports whether data ends inside a string or an object: the
// mark of a file cut short, whatever error the parser met first.
func unclosedJSON(data []byte) bool {
	depth, inString, escaped := 0, false, false
	for _, b := range data {
		switch {
		case escaped:
			escaped = false
		case inString && b == '\\':
			escaped = true
		case b == '"':
			inString = !inString
		case inString:
		case b == '{' || b == '[':
			depth++
		case b == '}' || b == ']':
			depth--
		}
	}
	return inString || depth > 0
}

var clientIDDigits = regexp.MustCompile(`^[0-9]{10,30}$`)

func parseServiceAccount(raw map[string]json.RawMessage) (*Credential, error) {
	field := func(name string) (string, error) {
		v, ok := raw[name]
		if !ok {
			return "", &FindingError{Finding: keyFieldMissingFinding(name)}
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil || strings.TrimSpace(s) == "" {
			return "", &FindingError{Finding: keyFieldNotStringFinding(name)}
		}
		return strings.TrimSpace(s), nil
	}
	c := &Credential{Kind: KindServiceAccount}
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{{"client_email", &c.ClientEmail}, {"client_id", &c.ClientID}, {"private_key_id", &c.PrivateKeyID},
		{"private_key", nil}, {"token_uri", &c.TokenURI}} {
		var v string
		if v, err = field(f.name); err != nil {
			return nil, err
		}
		if f.dst != nil {
			*f.dst = v
		}
	}
	_ = json.Unmarshal(raw["project_id"], &c.ProjectID)
	if err := checkKeyTexts("key", keyAsDownloadedFix,
		keyField{"client_email", c.ClientEmail, MaxAddressLen}, keyField{"project_id", c.ProjectID, 100},
		keyField{"private_key_id", c.PrivateKeyID, 100}, keyField{"client_id", c.ClientID, 100},
		keyField{"token_uri", c.TokenURI, 2048}); err != nil {
		return nil, err
	}
	if !strings.Contains(c.ClientEmail, "@") {
		return nil, &FindingError{Finding: keyEmailNotAddressFinding(c.ClientEmail)}
	}
	if err := checkSecureURL(c.TokenURI); err != nil {
		return nil, &FindingError{Finding: keyTokenURIFinding(err)}
	}
	if !clientIDDigits.MatchString(c.ClientID) {
		return nil, &FindingError{Finding: keyClientIDNotNumericFinding(c.ClientID)}
	}
	var pemText string
	_ = json.Unmarshal(raw["private_key"], &pemText)
	key, err := parsePrivateKeyPEM(pemText)
	if err != nil {
		return nil, err
	}
	c.PrivateKey = key
	c.Fingerprint = PublicKeyFingerprint(&key.PublicKey)
	return c, nil
}

func parsePrivateKeyPEM(text string) (*rsa.PrivateKey, error) {
	// A key that went through a CRLF conversion or a shell may carry literal
	// "\n" sequences or \r; both are harmless once normalised.
	text = strings.ReplaceAll(text, `\n`, "\n")
	text = strings.ReplaceAll(text, "\r", "")
	block, _ := pem.Decode([]byte(text))
	mangled := func(why string) error { return &FindingError{Finding: privateKeyDamagedFinding(why)} }
	if block == nil {
		return nil, mangled("is not a PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, notRSA(k, "The key's private_key field")
		}
		return rk, checkRSASize(rk, "The key's private_key field")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, checkRSASize(k, "The key's private_key field")
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return nil, notRSA(k, "The key's private_key field")
	}
	return nil, mangled("does not parse as an RSA private key")
}

func parseP12(data []byte, opts CredentialOptions) (*Credential, error) {
	c, _, err := decodeP12(data, opts)
	if err != nil {
		return nil, err
	}
	if c.ClientEmail == "" {
		return nil, &FindingError{Finding: p12NoEmailFinding()}
	}
	if c.ClientID == "" {
		return nil, &FindingError{Finding: p12NoClientIDFinding()}
	}
	return c, nil
}

// decodeP12 opens a .p12 key and checks the e-mail and client ID given
// with it, where given; it returns the key's certificate when it has one.
func decodeP12(data []byte, opts CredentialOptions) (*Credential, *x509.Certificate, error) {
	pw := opts.P12Password
	if pw == "" {
		pw = DefaultP12Password
	}
	if err := checkP12Work(data); err != nil {
		return nil, nil, err
	}
	key, cert, _, err := pkcs12.DecodeChain(data, pw)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, nil, &FindingError{Finding: p12WrongPasswordFinding()}
	}
	if err != nil {
		return nil, nil, &FindingError{Finding: p12UnparsableFinding(err)}
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, notRSA(key, "The .p12 file")
	}
	if err := checkRSASize(rk, "The .p12 file"); err != nil {
		return nil, nil, err
	}
	c := &Credential{Kind: KindServiceAccountP12, PrivateKey: rk, Fingerprint: PublicKeyFingerprint(&rk.PublicKey),
		ClientEmail: strings.TrimSpace(opts.ClientEmail), ClientID: strings.TrimSpace(opts.ClientID), TokenURI: GoogleTokenURL}
	if cert != nil {
		c.CertNotBefore, c.CertNotAfter = cert.NotBefore.UTC(), cert.NotAfter.UTC()
		if len(cert.Subject.CommonName) == 40 {
			c.PrivateKeyID = strings.ToLower(cert.Subject.CommonName)
		}
	}
	if err := checkKeyTexts("service account", p12ValuesFix,
		keyField{"e-mail", c.ClientEmail, MaxAddressLen}, keyField{"client ID", c.ClientID, 100}); err != nil {
		return nil, nil, err
	}
	if c.ClientEmail != "" && !strings.Contains(c.ClientEmail, "@") {
		return nil, nil, &FindingError{Finding: p12EmailNotAddressFinding(c.ClientEmail)}
	}
	if c.ClientID != "" && !clientIDDigits.MatchString(c.ClientID) {
		return nil, nil, &FindingError{Finding: p12ClientIDNotNumericFinding(c.ClientID)}
	}
	return c, cert, nil
}

func parseOAuthClient(typ string, inner json.RawMessage) (*Credential, error) {
	var oc struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		ProjectID    string   `json:"project_id"`
		TokenURI     string   `json:"token_uri"`
		RedirectURIs []string `json:"redirect_uris"`
	}
	if err := json.Unmarshal(inner, &oc); err != nil {
		return nil, &FindingError{Finding: oauthSectionFinding(typ, oauthSectionProblem(inner, err))}
	}
	if oc.ClientID == "" {
		return nil, &FindingError{Finding: oauthNoClientIDFinding(typ)}
	}
	texts := []keyField{{"client_id", oc.ClientID, 256}, {"project_id", oc.ProjectID, 100}, {"token_uri", oc.TokenURI, 2048}}
	for _, u := range oc.RedirectURIs {
		texts = append(texts, keyField{"redirect URI", u, 2048})
	}
	if err := checkKeyTexts("OAuth client JSON", clientDownloadAgain, texts...); err != nil {
		return nil, err
	}
	return &Credential{Kind: KindOAuthClient, ClientType: typ, ClientID: oc.ClientID, ClientSecret: oc.ClientSecret,
		ProjectID: oc.ProjectID, TokenURI: oc.TokenURI, RedirectURIs: oc.RedirectURIs,
		Fingerprint: secretFingerprint(oc.ClientSecret)}, nil
}

// RequireServiceAccount returns a wrong_credential_type finding unless the
// credential can do domain-wide delegation, saying which step the file is for.
func (c *Credential) RequireServiceAccount() error {
	switch c.Kind {
	case KindServiceAccount, KindServiceAccountP12:
		return nil
	case KindOAuthClient:
		return &FindingError{Finding: oauthClientNotServiceAccountFinding(c.ClientType, c.ClientID)}
	case KindAuthorizedUser:
		return &FindingError{Finding: authorizedUserNotServiceAccountFinding()}
	}
	return &FindingError{Finding: noDelegationFinding()}
}

// consumerDomains are Google's own consumer Gmail domains: no Admin console,
// so no domain-wide delegation.
var consumerDomains = map[string]bool{"gmail.com": true, "googlemail.com": true}

// RequireWorkspaceDomain refuses a consumer Gmail domain for a service
// account, which can only act for mailboxes of a Workspace domain.
func RequireWorkspaceDomain(domain string) error {
	if !consumerDomains[strings.ToLower(domain)] {
		return nil
	}
	return &FindingError{Finding: consumerGmailFinding(domain)}
}

// PublicKeyFingerprint is the OpenSSH-style SHA256 fingerprint of the DER
// public key: safe to show, enough to compare two keys.
func PublicKeyFingerprint(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// secretFingerprint identifies a secret (token, client secret) without
// revealing it.
func secretFingerprint(secret string) string {
	if secret == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(secret))
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])[:16]
}
