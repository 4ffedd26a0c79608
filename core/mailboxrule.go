package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// MailboxRule is the one rule for which addresses a profile may hold as
// mailboxes; the CLI, the wizard, the CSV import and the store all apply it.
//
// A service account with domain-wide delegation can act only for users of
// its own Workspace domain, so its profile keeps to that domain. An OAuth
// client acts for whoever consents, so its profile accepts a mailbox in any
// domain (a consumer Gmail address, a partner's Workspace): that is the only
// path for a mailbox outside the profile's domain. Either way malformed
// addresses and a service account's own address are refused.
type MailboxRule struct {
	// Domain is the profile's domain (IDNA ASCII, lower case). Empty
	// accepts any domain: only for looking up an address already stored.
	Domain string
	// Kind is the profile's credential kind. Empty (no credential loaded
	// yet) is as strict as a service account.
	Kind CredentialKind
}

// MailboxRule returns the rule for this profile's mailboxes.
func (p *Profile) MailboxRule() MailboxRule {
	return MailboxRule{Domain: p.Domain, Kind: p.kind()}
}

// kind is the kind of the profile's credential: read from the credential
// bytes when they are at hand (so a credential just replaced counts at
// once), else the stored CredentialKind; empty when there is none.
func (p *Profile) kind() CredentialKind {
	if len(p.Credential) > 0 {
		return SniffCredentialKind(p.Credential)
	}
	return p.CredentialKind
}

// SniffCredentialKind tells a stored credential's kind from its shape alone,
// without validating it or needing a .p12 password (ParseCredential does
// the validation, once, when the credential is loaded); it returns "" for
// anything else.
func SniffCredentialKind(data []byte) CredentialKind {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(trimmed) == 0 {
		return ""
	}
	if trimmed[0] == 0x30 { // DER SEQUENCE: PKCS#12
		return KindServiceAccountP12
	}
	var raw map[string]json.RawMessage
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &raw) != nil {
		return ""
	}
	if raw["web"] != nil || raw["installed"] != nil {
		return KindOAuthClient
	}
	var typ string
	_ = json.Unmarshal(raw["type"], &typ)
	switch typ {
	case "service_account":
		return KindServiceAccount
	case "authorized_user":
		return KindAuthorizedUser
	}
	return ""
}

// anyDomain reports whether the rule accepts mailboxes outside Domain.
func (r MailboxRule) anyDomain() bool {
	return r.Domain == "" || r.Kind == KindOAuthClient
}

// Address validates a mailbox address under the rule and returns it
// lower-cased with its domain in IDNA form.
func (r MailboxRule) Address(addr string) (string, error) {
	domain := r.Domain
	a := strings.TrimSpace(addr)
	if a == "" {
		return "", Inputf("the mailbox address is empty; enter an address such as administrator@%s", orExample(domain))
	}
	if n := utf8.RuneCountInString(a); n > MaxAddressLen {
		return "", Inputf("the mailbox address %s is %d characters long; an e-mail address has at most %d", tooLongQuoted(a), n, MaxAddressLen)
	}
	parsed, err := mail.ParseAddress(a)
	if err != nil || parsed.Address != a || strings.Count(a, "@") != 1 {
		return "", Inputf("%q is not an e-mail address; enter it as name@%s with no display name or brackets", a, orExample(domain))
	}
	at := strings.LastIndex(a, "@")
	local, dom := a[:at], a[at+1:]
	ndom, err := NormalizeDomain(dom)
	if err != nil {
		return "", Inputf("the domain of %q is not valid; enter the address as name@%s", a, orExample(domain))
	}
	email := strings.ToLower(local) + "@" + ndom
	if len(email) > MaxAddressLen { // the IDNA form may be longer
		return "", Inputf("the mailbox address %s is %d characters long in its ASCII form; an e-mail address has at most %d", tooLongQuoted(email), len(email), MaxAddressLen)
	}
	if ndom == "gserviceaccount.com" || strings.HasSuffix(ndom, ".gserviceaccount.com") {
		return "", &FindingError{Finding: serviceAccountEnteredAsMailboxFinding(email, domain)}
	}
	if !r.anyDomain() && ndom != domain {
		// A service account acts only for its own domain's users; the
		// OAuth client path is the way to any other mailbox.
		return "", &FindingError{Finding: mailboxOutsideDomainFinding(email, domain)}
	}
	return email, nil
}

// Mailbox validates a mailbox assignment in place under the rule; the
// display name defaults to the address, as Gmail uses the two alike.
func (r MailboxRule) Mailbox(m *Mailbox) error {
	email, err := r.Address(m.Email)
	if err != nil {
		return err
	}
	kind, err := parseOwnerKind(string(m.OwnerKind))
	if err != nil {
		return err
	}
	m.Email, m.OwnerKind = email, kind
	m.DisplayName = strings.TrimSpace(m.DisplayName)
	m.OwnerName = strings.TrimSpace(m.OwnerName)
	if err := checkText("display name", m.DisplayName, maxNameLen); err != nil {
		return err
	}
	if err := checkText("owner name", m.OwnerName, maxNameLen); err != nil {
		return err
	}
	if m.DisplayName == "" {
		m.DisplayName = email
	}
	return nil
}

// OutsideDomainServedBy says which credential kinds can serve a mailbox
// outside domain: what a profile whose credential is not chosen yet is told
// beside the CodeMailboxOutsideDomain finding.
func OutsideDomainServedBy(domain string) string {
	return fmt.Sprintf("Only an OAuth client (per-mailbox consent) can serve it: a service account's domain-wide delegation covers only the users of %s.", domain)
}

// OutsideMailboxesKept is the refusal to replace the OAuth client of the
// profile of domain while it holds n mailboxes outside it (list names the
// first few) that only an OAuth client can serve.
func OutsideMailboxesKept(domain string, n int, list string) error {
	return &FindingError{Finding: outsideMailboxesKeptFinding(domain, n, list)}
}
