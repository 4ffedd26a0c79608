package core

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/net/idna"
)

// Profile is one Google domain's configuration: the result of wizard steps
// 2-4 (domain, credentials, scope authorization).
type Profile struct {
	Domain        string `json:"domain"`
	DefaultSender string `json:"default_sender"`
	// Credential is the key file exactly as loaded (JSON or .p12 bytes). The
	// store seals it; it never leaves the program unless asked with
	// --include-secrets.
	Credential []byte `json:"-"`
	// P12 holds what a .p12 key cannot carry itself.
	// CredentialKind is the kind of Credential, kept in the clear so the
	// mailbox rule (MailboxRule) is known without unsealing the credential;
	// the store sets it whenever it saves the credential and derives it for
	// records written before it existed.
	CredentialKind CredentialKind `json:"credential_kind,omitempty"`
	P12Password    string         `json:"-"`
	P12ClientEmail string         `json:"p12_client_email,omitempty"`
	P12ClientID    string         `json:"p12_client_id,omitempty"`
	Endpoints      Endpoints      `json:"endpoints"`
	Scopes         []string       `json:"scopes"`
	// RedirectURI is the OAuth client path's redirect URI when it is not
	// the client's first loopback one: the host product's callback, whose
	// redirected URL the user pastes back. Empty: ConsentRedirectURI decides.
	RedirectURI string `json:"redirect_uri,omitempty"`
	// ConsentUserType ("internal" / "external") and ConsentPublishing
	// ("testing" / "production") are what the admin chose on the OAuth
	// consent screen, as far as the wizard was told; they shape its advice.
	ConsentUserType   string `json:"consent_user_type,omitempty"`
	ConsentPublishing string `json:"consent_publishing,omitempty"`
	// CredentialLoaded is when the current credential was first saved (the
	// store sets it when the credential changes); the age of a JSON key,
	// which carries no date, is counted from it.
	CredentialLoaded time.Time `json:"credential_loaded,omitzero"`
	// WizardStep is where the wizard resumes for this profile.
	WizardStep int       `json:"wizard_step,omitempty"`
	Updated    time.Time `json:"updated"`
}

// LoadCredential parses the profile's stored credential.
func (p *Profile) LoadCredential() (*Credential, error) {
	return ParseCredential(p.Credential, CredentialOptions{
		P12Password: p.P12Password, ClientEmail: p.P12ClientEmail, ClientID: p.P12ClientID,
	})
}

// configuredCredential is the credential of profile p; with no profile,
// the input error that says to run setup (the command line given).
func configuredCredential(p *Profile, setup string) (*Credential, error) {
	if p == nil {
		return nil, Inputf("no profile is configured; run `%s` first", setup)
	}
	return p.LoadCredential()
}

// ScopeList returns the profile's scopes, https://mail.google.com/ by default.
func (p *Profile) ScopeList() []string {
	if len(p.Scopes) == 0 {
		return []string{ScopeMail}
	}
	return p.Scopes
}

// OwnerKind is who in the host product a mailbox belongs to.
type OwnerKind string

// The owner kinds of the host products (CIC, Mitel).
const (
	OwnerUser      OwnerKind = "user"
	OwnerWorkgroup OwnerKind = "workgroup"
	OwnerAttendant OwnerKind = "attendant"
	OwnerACD       OwnerKind = "acd"
)

// OwnerKinds lists the valid owner kinds in display order.
var OwnerKinds = []OwnerKind{OwnerUser, OwnerWorkgroup, OwnerAttendant, OwnerACD}

// parseOwnerKind accepts an owner kind in any case; empty means user.
func parseOwnerKind(s string) (OwnerKind, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return OwnerUser, nil
	}
	for _, k := range OwnerKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", Inputf("owner kind %q is not known; use user, workgroup, attendant or acd", s)
}

// Mailbox is one assignment: a mailbox in the domain and who uses it.
type Mailbox struct {
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	OwnerKind   OwnerKind `json:"owner_kind"`
	OwnerName   string    `json:"owner_name"`
}

// domainProfile is IDNA lookup with DNS length rules, so empty labels
// ("a..b") and over-long names are refused.
var domainProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.ValidateLabels(true),
	idna.VerifyDNSLength(true), idna.StrictDomainName(true))

// NormalizeDomain validates a Workspace domain name and returns it in its
// lower-case ASCII (IDNA) form, so "Bücher.Example" and "xn--bcher-kva.example"
// are one profile.
func NormalizeDomain(domain string) (string, error) {
	d := strings.TrimSuffix(strings.TrimSpace(domain), ".")
	if d == "" {
		return "", Inputf("the domain is empty; enter your Google Workspace domain, e.g. yourcompany.example")
	}
	if len(d) > maxHostLen*4 { // room for IDNA; the DNS rule below is exact
		return "", Inputf("the domain %s is %d characters long; a domain name has at most %d", tooLongQuoted(d), len(d), maxHostLen)
	}
	if strings.Contains(d, "@") {
		return "", Inputf("%q is an e-mail address, not a domain; enter only the part after @, e.g. %s", d, d[strings.LastIndex(d, "@")+1:])
	}
	if strings.Contains(d, "://") || strings.Contains(d, "/") {
		return "", Inputf("%q looks like a URL; enter only the domain name, e.g. yourcompany.example", d)
	}
	ascii, err := domainProfile.ToASCII(d)
	if err != nil {
		return "", Inputf("%q is not a valid domain name: it %s; enter your Google Workspace domain, e.g. yourcompany.example", d, domainProblem(d))
	}
	ascii = strings.ToLower(ascii)
	if !strings.Contains(ascii, ".") {
		return "", Inputf("%q has no dot; enter the full domain, e.g. yourcompany.example", d)
	}
	return ascii, nil
}

// domainProblem says in words why a name is not a domain, instead of the
// IDNA library's text.
func domainProblem(d string) string {
	if strings.ContainsAny(d, " \t") {
		return "contains a space"
	}
	for _, label := range strings.Split(d, ".") {
		switch {
		case label == "":
			return "has an empty part between two dots"
		case strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-"):
			return fmt.Sprintf("has a part (%q) that starts or ends with a hyphen", label)
		case len(label) > 63:
			return fmt.Sprintf("has a part longer than 63 characters (%q)", label[:20]+"…")
		}
	}
	return "contains a character a domain name cannot have (letters, digits, hyphens and dots only)"
}

// NormalizeMailbox validates a mailbox address and, when domain is set,
// requires it to be in that domain: the rule of a profile whose credential is
// a service account or not loaded yet. A profile's mailboxes go through
// Profile.MailboxRule instead. It returns the address lower-cased with its
// domain in IDNA form.
func NormalizeMailbox(addr, domain string) (string, error) {
	return MailboxRule{Domain: domain}.Address(addr)
}

func orExample(domain string) string {
	if domain == "" {
		return "yourcompany.example"
	}
	return domain
}

// Normalize validates a mailbox assignment in place against the domain (as
// NormalizeMailbox does); a profile's mailboxes go through
// Profile.MailboxRule().Mailbox instead.
func (m *Mailbox) Normalize(domain string) error {
	return MailboxRule{Domain: domain}.Mailbox(m)
}
