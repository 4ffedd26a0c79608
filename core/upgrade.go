package core

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// The re-run / upgrade assistant (PROCEDURE.md step 1): an installation that
// reached Gmail with passwords moves to OAuth 2.0, keeping every setting it
// can. The legacy passwords stay (sealed) until a mailbox has passed its
// OAuth check, so nothing stops working half-way.

// CodeInsecureTransport: the legacy setup sent passwords without encryption.
const CodeInsecureTransport Code = "insecure_transport"

// LegacyServer is one mail server of a legacy password setup.
type LegacyServer struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	// Security is ssl, tls, starttls or none.
	Security string `json:"security"`
}

// LegacyMailbox is one mailbox of a legacy password setup.
type LegacyMailbox struct {
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	OwnerKind   string `json:"owner_kind"`
	OwnerName   string `json:"owner_name"`
	Username    string `json:"username"`
	Password    string `json:"password"`
}

// LegacyConfig is the configuration a host product exports from its
// password-based Gmail setup (`mailoauth upgrade --legacy FILE`).
type LegacyConfig struct {
	Domain        string          `json:"domain"`
	DefaultSender string          `json:"default_sender"`
	IMAP          LegacyServer    `json:"imap"`
	SMTP          LegacyServer    `json:"smtp"`
	Mailboxes     []LegacyMailbox `json:"mailboxes"`
}

// LoadLegacy reads and validates a legacy configuration file.
func LoadLegacy(ctx context.Context, path string) (*LegacyConfig, error) {
	data, err := ReadUserFile(ctx, path, legacyFile)
	if err != nil {
		return nil, err
	}
	return parseLegacy(data, path)
}

// parseLegacy parses and validates a legacy configuration: the domain, the
// default sender and every mailbox are normalised as everywhere else, and
// every bad mailbox is listed at once.
func parseLegacy(data []byte, name string) (*LegacyConfig, error) {
	var l LegacyConfig
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, Inputf("legacy configuration %s is not valid JSON of the expected shape (%s); the keys are domain, default_sender, imap, smtp (host, port, security) and mailboxes (email, display_name, owner_kind, owner_name, username, password)", name, jsonProblem(err))
	}
	d, err := NormalizeDomain(l.Domain)
	if err != nil {
		return nil, Inputf("legacy configuration %s: %v", name, err)
	}
	l.Domain = d
	if strings.TrimSpace(l.DefaultSender) == "" {
		l.DefaultSender = "administrator@" + d
		if len(l.Mailboxes) > 0 {
			l.DefaultSender = l.Mailboxes[0].Email
		}
	}
	if l.DefaultSender, err = NormalizeMailbox(l.DefaultSender, d); err != nil {
		return nil, Inputf("legacy configuration %s: default_sender: %v", name, err)
	}
	for _, s := range []struct {
		key string
		srv *LegacyServer
	}{{"imap", &l.IMAP}, {"smtp", &l.SMTP}} {
		sec := strings.ToLower(strings.TrimSpace(s.srv.Security))
		switch sec {
		case "ssl", "tls", "starttls", "none":
		case "":
			sec = "ssl"
		default:
			return nil, Inputf("legacy configuration %s: %s.security is %q; use ssl, tls, starttls or none", name, s.key, s.srv.Security)
		}
		s.srv.Security = sec
		s.srv.Host = strings.TrimSpace(s.srv.Host)
		if err := checkText(s.key+".host", s.srv.Host, maxHostLen); err != nil {
			return nil, Inputf("legacy configuration %s: %v", name, err)
		}
		if s.srv.Port < 0 || s.srv.Port > 65535 {
			return nil, Inputf("legacy configuration %s: %s.port is %d; use a port between 1 and 65535, e.g. 993 for IMAP and 465 for SMTP", name, s.key, s.srv.Port)
		}
	}
	var bad []string
	seen := map[string]int{}
	for i := range l.Mailboxes {
		lm := &l.Mailboxes[i]
		m := Mailbox{Email: lm.Email, DisplayName: lm.DisplayName, OwnerKind: OwnerKind(lm.OwnerKind), OwnerName: lm.OwnerName}
		if err := m.Normalize(d); err != nil {
			bad = append(bad, fmt.Sprintf("mailbox %d: %v", i+1, err))
			continue
		}
		if err := checkLegacyLogin(lm); err != nil {
			bad = append(bad, fmt.Sprintf("mailbox %d: %v", i+1, err))
			continue
		}
		if first, dup := seen[m.Email]; dup {
			bad = append(bad, fmt.Sprintf("mailbox %d: %s is already mailbox %d", i+1, m.Email, first))
			continue
		}
		seen[m.Email] = i + 1
		lm.Email, lm.DisplayName, lm.OwnerKind, lm.OwnerName = m.Email, m.DisplayName, string(m.OwnerKind), m.OwnerName
		if strings.TrimSpace(lm.Username) == "" {
			lm.Username = m.Email
		}
	}
	if len(bad) > 0 {
		return nil, Inputf("legacy configuration %s has %d bad mailbox(es) and nothing was changed; fix them and run the upgrade again:\n  %s", name, len(bad), strings.Join(bad, "\n  "))
	}
	return &l, nil
}

// mailbox is the assignment the legacy mailbox becomes.
func (lm LegacyMailbox) mailbox() Mailbox {
	return Mailbox{Email: lm.Email, DisplayName: lm.DisplayName, OwnerKind: OwnerKind(lm.OwnerKind), OwnerName: lm.OwnerName}
}

func legacyAddr(s LegacyServer, defHost string, defPort int) string {
	host, port := s.Host, s.Port
	if host == "" {
		host = defHost
	}
	if port == 0 {
		port = defPort
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// endpoints are the legacy servers as OAuth endpoints. ssl and tls mean
// implicit TLS. A server with security none gets TLS instead: OAuth tokens
// are never sent in clear text (IMAP moves to 993; SMTP keeps 587 or 25
// with STARTTLS, else moves to 465). Token and consent URLs are Google's.
func (l *LegacyConfig) endpoints() Endpoints {
	e := Endpoints{IMAP: legacyAddr(l.IMAP, "imap.gmail.com", 993), SMTP: legacyAddr(l.SMTP, "smtp.gmail.com", 465)}
	e.IMAPSecurity, e.SMTPSecurity = legacySecurity(l.IMAP.Security), legacySecurity(l.SMTP.Security)
	if l.IMAP.Security == "none" {
		host, _, _ := net.SplitHostPort(e.IMAP)
		e.IMAP, e.IMAPSecurity = net.JoinHostPort(host, "993"), SecurityTLS
	}
	if l.SMTP.Security == "none" {
		host, port, _ := net.SplitHostPort(e.SMTP)
		if port == "587" || port == "25" {
			e.SMTPSecurity = SecurityStartTLS
		} else {
			e.SMTP, e.SMTPSecurity = net.JoinHostPort(host, "465"), SecurityTLS
		}
	}
	return e.WithDefaults()
}

func legacySecurity(s string) Security {
	if s == "starttls" {
		return SecurityStartTLS
	}
	return SecurityTLS
}

// risks are what the legacy setup did unsafely: a server with security
// none, and the passwords that crossed the network over it.
func (l *LegacyConfig) risks() []*Finding {
	withPassword := 0
	for _, m := range l.Mailboxes {
		if m.Password != "" {
			withPassword++
		}
	}
	e := l.endpoints()
	var out []*Finding
	for _, s := range []struct {
		name, now string
		srv       LegacyServer
	}{{"IMAP", e.IMAP, l.IMAP}, {"SMTP", e.SMTP, l.SMTP}} {
		if s.srv.Security != "none" {
			continue
		}
		out = append(out, insecureTransportFinding(s.name, legacyAddr(s.srv, "?", 0), s.now, withPassword))
	}
	return out
}

// PendingPassword is a legacy login kept, sealed, until its mailbox is on
// OAuth.
type PendingPassword struct {
	Mailbox  string
	Username string
	Password string
}

// UpgradePlan is what importing a legacy configuration changes in the store.
type UpgradePlan struct {
	Domain string
	// Profile is the profile to create; nil when the store has one already,
	// whose settings are kept.
	Profile *Profile
	// Add are the legacy mailboxes the store does not have yet.
	Add []Mailbox
	// Passwords are the logins of the mailboxes not on OAuth yet.
	Passwords []PendingPassword
	// OnOAuth are legacy mailboxes the store already has on OAuth; their
	// legacy passwords are not kept.
	OnOAuth []string
	Risks   []*Finding
}

// PlanUpgrade decides what the legacy configuration adds to the store:
// existing is the stored profile (nil if none), have its mailboxes, and
// pending the mailboxes still waiting for their upgrade. A mailbox the store
// has and that is not pending is on OAuth already (upgraded earlier or set
// up with OAuth), so re-running the upgrade never brings a password back.
func PlanUpgrade(l *LegacyConfig, existing *Profile, have []Mailbox, pending map[string]bool) UpgradePlan {
	plan := UpgradePlan{Domain: l.Domain, Risks: l.risks()}
	if existing == nil {
		plan.Profile = &Profile{Domain: l.Domain, DefaultSender: l.DefaultSender, Endpoints: l.endpoints(), Scopes: []string{ScopeMail}}
	}
	known := map[string]bool{}
	for _, m := range have {
		known[m.Email] = true
	}
	for _, lm := range l.Mailboxes {
		switch {
		case !known[lm.Email]:
			plan.Add = append(plan.Add, lm.mailbox())
		case !pending[lm.Email]:
			plan.OnOAuth = append(plan.OnOAuth, lm.Email)
			continue
		}
		// Pending even without a password: it is not on OAuth yet.
		plan.Passwords = append(plan.Passwords, PendingPassword{Mailbox: lm.Email, Username: lm.Username, Password: lm.Password})
	}
	return plan
}

// UpgradeStore is what the upgrade needs of the store.
type UpgradeStore interface {
	// PendingUpgrades lists the mailboxes that still sign in with a password.
	PendingUpgrades(domain string) ([]string, error)
	// CompleteUpgrade switches a mailbox to OAuth and erases its password.
	CompleteUpgrade(domain, mailbox, actor string) error
}

// UpgradeReport is the outcome of an upgrade run.
type UpgradeReport struct {
	// Upgraded passed their OAuth checks and are on OAuth now.
	Upgraded []MailboxResult
	// Pending failed; they keep their passwords. Each has its finding.
	Pending []MailboxResult
}

// Done reports whether no mailbox is left on passwords.
func (r UpgradeReport) Done() bool { return len(r.Pending) == 0 }

// finishUpgrade switches each pending mailbox whose OAuth check passed in
// results to OAuth, erasing its password; the others stay pending. Results
// of mailboxes that were not pending are ignored. beforeSwitch, if not nil,
// runs once just before the first mailbox switches (the backup of the
// store); nothing switches when it fails.
func finishUpgrade(st UpgradeStore, domain, actor string, results []MailboxResult, beforeSwitch func() error) (UpgradeReport, error) {
	var rep UpgradeReport
	pending, err := st.PendingUpgrades(domain)
	if err != nil {
		return rep, err
	}
	isPending := map[string]bool{}
	for _, m := range pending {
		isPending[m] = true
	}
	for _, r := range results {
		key := strings.ToLower(strings.TrimSpace(r.Mailbox))
		if !isPending[key] {
			continue
		}
		delete(isPending, key)
		if !r.OK {
			rep.Pending = append(rep.Pending, r)
			continue
		}
		if beforeSwitch != nil {
			if err := beforeSwitch(); err != nil {
				return rep, err
			}
			beforeSwitch = nil
		}
		if err := st.CompleteUpgrade(domain, key, actor); err != nil {
			return rep, err
		}
		rep.Upgraded = append(rep.Upgraded, r)
	}
	return rep, nil
}

// PendingMailboxes are the mailboxes an upgrade run checks (Run with
// RunRequest.Upgrade): those of domain still signing in with a password, in
// address order. Mailboxes already on OAuth are not among them, so running
// the upgrade again picks up only what is left.
func PendingMailboxes(st UpgradeStore, domain string) ([]string, error) {
	pending, err := st.PendingUpgrades(domain)
	sort.Strings(pending)
	return pending, err
}
