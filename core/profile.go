package core

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
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

// ParseOwnerKind accepts an owner kind in any case; empty means user.
func ParseOwnerKind(s string) (OwnerKind, error) {
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
	if len(d) > MaxHostLen*4 { // room for IDNA; the DNS rule below is exact
		return "", Inputf("the domain %s is %d characters long; a domain name has at most %d", tooLongQuoted(d), len(d), MaxHostLen)
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

// CSVHeader is the header of a mailbox CSV file.
var CSVHeader = []string{"email", "display_name", "owner_kind", "owner_name"}

// LineError is one bad row of an imported file.
type LineError struct {
	Line int
	Err  error
}

// ImportError lists every bad row of an import; nothing of it was saved.
type ImportError struct {
	File  string
	Lines []LineError
}

func (e *ImportError) Error() string {
	if len(e.Lines) == 1 { // one bad row: one sentence
		return SafeText(fmt.Sprintf("%s line %d: %v; nothing was imported, fix it and import again", e.File, e.Lines[0].Line, e.Lines[0].Err))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s has %d bad row(s) and nothing was imported; fix them and import again:", e.File, len(e.Lines))
	for _, l := range e.Lines {
		fmt.Fprintf(&b, "\n  line %d: %v", l.Line, l.Err)
	}
	return SafeLines(b.String())
}

// ParseMailboxCSV is ParseCSV under the rule of NormalizeMailbox(addr, domain).
func ParseMailboxCSV(r io.Reader, name, domain string) ([]Mailbox, error) {
	return MailboxRule{Domain: domain}.ParseCSV(r, name)
}

// ParseCSV reads mailbox assignments (header
// email,display_name,owner_kind,owner_name) and validates every row under the
// rule. Either every row is good or an *ImportError lists all the bad ones by
// line number.
func (rule MailboxRule) ParseCSV(r io.Reader, name string) ([]Mailbox, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &InputError{Msg: fmt.Sprintf("cannot read %s: %v", name, err), Env: true}
	}
	if err := checkCSVShape(data, name); err != nil {
		return nil, err
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, Inputf("%s is empty; its first line must be the header %s", name, strings.Join(CSVHeader, ","))
	}
	if err != nil {
		line, why := csvSyntaxError(err, data)
		return nil, Inputf("%s line %d (the header) %v; make the first line %s", name, line, why, strings.Join(CSVHeader, ","))
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	cols := map[string]int{}
	for i, h := range header {
		cols[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := cols["email"]; !ok {
		return nil, Inputf("%s line 1 is not the header; make the first line %s", name, strings.Join(CSVHeader, ","))
	}
	for h := range cols {
		known := false
		for _, k := range CSVHeader {
			known = known || h == k
		}
		if !known {
			return nil, Inputf("%s line 1 has an unknown column %q; the columns are %s", name, h, strings.Join(CSVHeader, ","))
		}
	}
	get := func(rec []string, col string) string {
		if i, ok := cols[col]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var out []Mailbox
	bad := &ImportError{File: name}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil { // FieldPos is only valid after a record was read
			line, why := csvSyntaxError(err, data)
			bad.Lines = append(bad.Lines, LineError{line, why})
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) > len(header) {
			bad.Lines = append(bad.Lines, LineError{line, fmt.Errorf("has %d fields, the header has %d", len(rec), len(header))})
			continue
		}
		m := Mailbox{Email: get(rec, "email"), DisplayName: get(rec, "display_name"),
			OwnerKind: OwnerKind(get(rec, "owner_kind")), OwnerName: get(rec, "owner_name")}
		if err := rule.Mailbox(&m); err != nil {
			bad.Lines = append(bad.Lines, LineError{line, err})
			continue
		}
		if first, dup := seen[m.Email]; dup {
			bad.Lines = append(bad.Lines, LineError{line, fmt.Errorf("%s is already on line %d", m.Email, first)})
			continue
		}
		seen[m.Email] = line
		out = append(out, m)
	}
	if len(bad.Lines) > 0 {
		sort.SliceStable(bad.Lines, func(i, j int) bool { return bad.Lines[i].Line < bad.Lines[j].Line })
		return nil, bad
	}
	return out, nil
}

// WriteMailboxCSV writes mailboxes in the format ParseMailboxCSV reads.
func WriteMailboxCSV(w io.Writer, boxes []Mailbox) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, m := range boxes {
		if err := cw.Write([]string{m.Email, m.DisplayName, string(m.OwnerKind), m.OwnerName}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
