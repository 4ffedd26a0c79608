package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// The README's mail-program recipes, each run for both token kinds against
// both kinds of server: the sandbox, which keeps Gmail's limits (a 512-byte
// SMTP command line, so an initial response carrying a 1 KB delegation
// token is refused with 555 5.5.2), and Debian's Dovecot and Postfix, which
// have no such limit. recipeWorks is the README's table; the tests fail when
// a recipe stops doing what the table says, either way.

// Token kinds: a service-account profile's domain-wide-delegation tokens
// (ya29.c., about 1,000 characters) and an OAuth client profile's
// consent-path tokens (ya29.a0, about 220).
const (
	tokDelegation = "delegation"
	tokConsent    = "consent"
)

// recipeEnv is one store (one token kind) and the servers its recipes use.
type recipeEnv struct {
	gmail        bool // the sandbox, with Gmail's limits
	kind         string
	db, ca       string
	imaps, smtps string // host:port, implicit TLS
	user         string
	logs         func() string
}

func sandboxRecipeEnv(t *testing.T, kind string) *recipeEnv {
	t.Helper()
	dir := t.TempDir()
	sb, err := sandbox.Start(sandbox.Options{Users: 3, Dir: dir, Delegate: kind == tokDelegation, AutoConsent: kind == tokConsent})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	e := &recipeEnv{gmail: true, kind: kind, db: filepath.Join(t.TempDir(), "mailoauth.db"), ca: filepath.Join(dir, "ca.pem"),
		imaps: sb.Endpoints().IMAP, smtps: sb.Endpoints().SMTP, user: "user1@" + sb.Domain(), logs: func() string { return "" }}
	cred := []string{"--key", filepath.Join(dir, "service-account.json")}
	if kind == tokConsent {
		cred = []string{"--client", filepath.Join(dir, "oauth-client.json")}
	}
	r := mailoauth(t, e.db, append([]string{"setup", "--domain", sb.Domain(), "--sender", "admin@" + sb.Domain(),
		"--endpoints", filepath.Join(dir, "endpoints.json")}, cred...)...)
	if r.code != 0 {
		t.Fatalf("setup (%s) against the sandbox: exit %d\n%s%s", kind, r.code, r.stdout, r.stderr)
	}
	if kind == tokConsent {
		if r = mailoauth(t, e.db, "mailbox", "add", e.user); r.code != 0 {
			t.Fatalf("mailbox add: %s", r.stderr)
		}
		if r = authorize(t, e.db, autoBrowser, e.user); r.code != 0 {
			t.Fatalf("authorize: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}
	e.checkTokenKind(t)
	return e
}

func dovecotRecipeEnv(t *testing.T, kind string) *recipeEnv {
	t.Helper()
	user := "user1@" + interopDomain
	var s *interopServers
	var db string
	if kind == tokConsent {
		s, db = interopClientSetup(t, user, core.SecurityTLS, core.SecurityTLS)
	} else {
		s, db = interopSetup(t, core.SecurityTLS, core.SecurityTLS)
	}
	e := &recipeEnv{kind: kind, db: db, ca: s.CAFile, imaps: s.IMAPS, smtps: s.SMTPS, user: user,
		logs: func() string { return "Postfix log:\n" + s.PostfixLog() + "\nDovecot log:\n" + s.DovecotLog() }}
	e.checkTokenKind(t)
	return e
}

// checkTokenKind: the tokens have Google's shapes, on which the table rests.
func (e *recipeEnv) checkTokenKind(t *testing.T) {
	t.Helper()
	tok := tokenFor(t, e.db, e.user)
	if e.kind == tokDelegation && (!strings.HasPrefix(tok, "ya29.c.") || len(tok) < 1000) ||
		e.kind == tokConsent && (!strings.HasPrefix(tok, "ya29.a0") || len(tok) > 300) {
		t.Fatalf("a %s token of %d characters (%.10s…) is not shaped like Google's", e.kind, len(tok), tok)
	}
}

// env is the environment of every recipe: mailoauth on PATH, the store in
// $MAILOAUTH_DB, its own $HOME (which holds ~/.msmtprc where a recipe has one).
func (e *recipeEnv) env(home string) []string {
	return append(os.Environ(), "MAILOAUTH_KEY=", "MAILOAUTH_DB="+e.db, "HOME="+home,
		"PATH="+filepath.Dir(binary)+":"+os.Getenv("PATH"), "TERM=vt100", "LANG=C.UTF-8")
}

func (e *recipeEnv) run(t *testing.T, home, stdin, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = e.env(home)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// has reports whether a message with the subject is in the mailbox (curl
// over IMAP, with a token from `mailoauth token`).
func (e *recipeEnv) has(t *testing.T, subject string) bool {
	t.Helper()
	out, err := exec.Command("curl", "-sS", "--cacert", e.ca, "--user", e.user, "--oauth2-bearer", tokenFor(t, e.db, e.user),
		"imaps://"+e.imaps+"/INBOX", "-X", `SEARCH SUBJECT "`+subject+`"`).CombinedOutput()
	if err != nil {
		t.Fatalf("curl SEARCH: %v: %s", err, out)
	}
	f := strings.Fields(string(out))
	return len(f) > 2 && f[0] == "*" && f[1] == "SEARCH"
}

func (e *recipeEnv) arrived(t *testing.T, subject string) bool {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if e.has(t, subject) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// seed puts a message with a new subject in the mailbox for the reading
// recipes (by curl, itself a recipe that works everywhere).
func (e *recipeEnv) seed(t *testing.T, tag string) string {
	t.Helper()
	subject := "seed " + tag + " " + fmt.Sprint(time.Now().UnixNano())
	if out, err := e.run(t, t.TempDir(), "", "sh", "-c", fmt.Sprintf(`curl -sS --cacert %s smtps://%s --mail-from %s --mail-rcpt %s --upload-file %s --user %s --oauth2-bearer "$(mailoauth token %s)"`,
		e.ca, e.smtps, e.user, e.user, writeMessage(t, e.user, e.user, subject), e.user, e.user)); err != nil || !e.arrived(t, subject) {
		t.Fatalf("seeding a message by curl: %v\n%s\n%s", err, out, e.logs())
	}
	return subject
}

// msmtprc is the README's ~/.msmtprc with the test's server and CA.
func (e *recipeEnv) msmtprc(auth string) string {
	return fmt.Sprintf(`defaults
tls on
tls_trust_file %s
logfile -

account work
host localhost
port %s
tls_starttls off
auth %s
user %s
from %s
passwordeval "mailoauth token %s"

account default : work
`, e.ca, port(e.smtps), auth, e.user, e.user, e.user)
}

// homeWith makes a $HOME holding ~/.msmtprc (mode 0600, as msmtp wants).
func (e *recipeEnv) homeWith(t *testing.T, msmtprc string) string {
	t.Helper()
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ".msmtprc"), []byte(msmtprc), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

// neomuttrc is the README's ~/.neomuttrc with the test's servers, plus
// what a test needs (the CA, no prompts, no caches); sendmail, when set,
// sends through it instead of smtp_url.
func (e *recipeEnv) neomuttrc(t *testing.T, mechs, sendmail string) string {
	t.Helper()
	esc := strings.ReplaceAll(e.user, "@", "%40")
	rc := fmt.Sprintf(`set from = "%[1]s"
set folder = "imaps://%[2]s@localhost:%[3]s/"
set spoolfile = "+INBOX"
set imap_authenticators = "%[4]s"
set imap_oauth_refresh_command = "mailoauth token %[1]s"
`, e.user, esc, port(e.imaps), mechs)
	if sendmail != "" {
		rc += fmt.Sprintf("set sendmail = %q\n", sendmail)
	} else {
		rc += fmt.Sprintf(`set smtp_url = "smtps://%[1]s@localhost:%[2]s/"
set smtp_authenticators = "%[3]s"
set smtp_oauth_refresh_command = "mailoauth token %[4]s"
`, esc, port(e.smtps), mechs, e.user)
	}
	rc += fmt.Sprintf(`
# test only
set ssl_ca_certificates_file = "%s"
set ssl_force_tls = yes
`+neomuttBatch, e.ca)
	return writeTemp(t, "neomuttrc", rc)
}

// A recipe does its one thing (send, or read the seeded message) and
// reports whether it did, with the program's output.
type recipe struct {
	name string
	run  func(t *testing.T, e *recipeEnv) (ok bool, output string)
}

// send runs a sending program and reports whether its message arrived.
func send(t *testing.T, e *recipeEnv, tag string, do func(subject string) (string, error)) (bool, string) {
	subject := tag + " " + fmt.Sprint(time.Now().UnixNano())
	out, err := do(subject)
	if err != nil {
		return e.has(t, subject), fmt.Sprintf("%v\n%s", err, out)
	}
	return e.arrived(t, subject), out
}

var recipes = []recipe{
	{"msmtp auth xoauth2", func(t *testing.T, e *recipeEnv) (bool, string) {
		return send(t, e, "msmtp xoauth2", func(subject string) (string, error) {
			return e.run(t, e.homeWith(t, e.msmtprc("xoauth2")), messageText(e.user, subject), "msmtp", "-a", "work", e.user)
		})
	}},
	{"msmtp auth oauthbearer", func(t *testing.T, e *recipeEnv) (bool, string) {
		return send(t, e, "msmtp oauthbearer", func(subject string) (string, error) {
			return e.run(t, e.homeWith(t, e.msmtprc("oauthbearer")), messageText(e.user, subject), "msmtp", "-a", "work", e.user)
		})
	}},
	{"curl smtps", func(t *testing.T, e *recipeEnv) (bool, string) {
		return send(t, e, "curl smtps", func(subject string) (string, error) {
			return e.run(t, t.TempDir(), "", "sh", "-c", fmt.Sprintf(`curl -sS --cacert %s smtps://%s --mail-from %s --mail-rcpt %s --upload-file %s --user %s --oauth2-bearer "$(mailoauth token %s)"`,
				e.ca, e.smtps, e.user, e.user, writeMessage(t, e.user, e.user, subject), e.user, e.user))
		})
	}},
	{"curl imaps", func(t *testing.T, e *recipeEnv) (bool, string) {
		subject := e.seed(t, "curl")
		found, err := exec.Command("curl", "-sS", "--cacert", e.ca, "--user", e.user, "--oauth2-bearer", tokenFor(t, e.db, e.user),
			"imaps://"+e.imaps+"/INBOX", "-X", `UID SEARCH SUBJECT "`+subject+`"`).CombinedOutput()
		f := strings.Fields(string(found))
		if err != nil || len(f) != 3 {
			t.Fatalf("UID SEARCH for the seeded message: %v %q", err, found)
		}
		// The README's fetch, by the UID just found.
		out, err := e.run(t, t.TempDir(), "", "sh", "-c", fmt.Sprintf(`curl -sS --cacert %s --user %s --oauth2-bearer "$(mailoauth token %s)" 'imaps://%s/INBOX;UID=%s'`,
			e.ca, e.user, e.user, e.imaps, f[2]))
		return err == nil && strings.Contains(out, "Subject: "+subject), out
	}},
	{"mbsync AuthMechs XOAUTH2", func(t *testing.T, e *recipeEnv) (bool, string) {
		if m, _ := filepath.Glob("/usr/lib/*/sasl2/libkdexoauth2.so*"); len(m) == 0 {
			requirePrograms(t, "libsasl2-modules-kdexoauth2")
		}
		subject := e.seed(t, "mbsync")
		local := t.TempDir()
		conf := fmt.Sprintf("IMAPAccount work\nHost localhost\nPort %s\nUser %s\nPassCmd \"mailoauth token %s\"\nAuthMechs XOAUTH2\nSSLType IMAPS\nCertificateFile %s\n\n"+
			"IMAPStore work-remote\nAccount work\n\nMaildirStore work-local\nPath %s/\nInbox %s/INBOX\n\n"+
			"Channel work\nFar :work-remote:\nNear :work-local:\nPatterns INBOX\nCreate Near\nSync Pull\nSyncState *\n",
			port(e.imaps), e.user, e.user, e.ca, local, local)
		rc := filepath.Join(t.TempDir(), "mbsyncrc")
		if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := e.run(t, t.TempDir(), "", "mbsync", "-c", rc, "-a")
		for _, sub := range []string{"new", "cur"} {
			files, _ := filepath.Glob(filepath.Join(local, "INBOX", sub, "*"))
			for _, f := range files {
				if b, _ := os.ReadFile(f); err == nil && strings.Contains(string(b), "Subject: "+subject) {
					return true, out
				}
			}
		}
		return false, fmt.Sprintf("%v\n%s", err, out)
	}},
	{"neomutt imap xoauth2:oauthbearer", func(t *testing.T, e *recipeEnv) (bool, string) {
		subject := e.seed(t, "neomutt")
		piped, screen, _ := neomuttRead(t, e.neomuttrc(t, neomuttAuthenticators, ""), e.db)
		return strings.Contains(piped, "Subject: "), screen + "\npiped: " + piped + "\nseeded: " + subject
	}},
	{"neomutt imap oauthbearer", func(t *testing.T, e *recipeEnv) (bool, string) {
		e.seed(t, "neomutt")
		piped, screen, _ := neomuttRead(t, e.neomuttrc(t, "oauthbearer", ""), e.db)
		return strings.Contains(piped, "Subject: "), screen
	}},
	{"neomutt smtp xoauth2", func(t *testing.T, e *recipeEnv) (bool, string) {
		return send(t, e, "neomutt smtp xoauth2", func(subject string) (string, error) {
			return e.run(t, t.TempDir(), "Hello from NeoMutt.\n", "neomutt", "-n", "-F", e.neomuttrc(t, "xoauth2", ""), "-s", subject, "--", e.user)
		})
	}},
	{"neomutt smtp oauthbearer", func(t *testing.T, e *recipeEnv) (bool, string) {
		return send(t, e, "neomutt smtp oauthbearer", func(subject string) (string, error) {
			return e.run(t, t.TempDir(), "Hello from NeoMutt.\n", "neomutt", "-n", "-F", e.neomuttrc(t, "oauthbearer", ""), "-s", subject, "--", e.user)
		})
	}},
	{"neomutt sendmail msmtp xoauth2", func(t *testing.T, e *recipeEnv) (bool, string) {
		return send(t, e, "neomutt via msmtp", func(subject string) (string, error) {
			return e.run(t, e.homeWith(t, e.msmtprc("xoauth2")), "Hello from NeoMutt.\n", "neomutt", "-n", "-F", e.neomuttrc(t, neomuttAuthenticators, "msmtp -a work"), "-s", subject, "--", e.user)
		})
	}},
}

func messageText(user, subject string) string {
	return fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\n\r\nHello from a mail program.\r\n", user, user, subject, time.Now().Format(time.RFC1123Z))
}

// recipeWorks is the README's table: whether the recipe works for the token
// kind against Gmail (gmail) or a server without Gmail's line limit, and
// when not, the words of its failure.
func recipeWorks(name, kind string, gmail bool) (works bool, failure string) {
	delegation := kind == tokDelegation
	switch {
	case delegation && (name == "neomutt imap oauthbearer" || name == "neomutt smtp oauthbearer"):
		return false, "OAUTH token is too big" // Debian 12's NeoMutt, before it contacts the server
	case delegation && gmail && name == "msmtp auth oauthbearer":
		return false, "555 5.5.2 Syntax error, command line too long"
	case delegation && gmail && name == "neomutt smtp xoauth2":
		return false, "555 5.5.2 Syntax error, command line too long"
	}
	return true, ""
}

func runRecipes(t *testing.T, e *recipeEnv) {
	for _, r := range recipes {
		t.Run(r.name, func(t *testing.T) {
			prog := strings.Fields(r.name)[0]
			requirePrograms(t, prog, "curl")
			if prog == "neomutt" && !neomutt20220429(t) {
				return
			}
			works, failure := recipeWorks(r.name, e.kind, e.gmail)
			ok, out := r.run(t, e)
			switch {
			case works && !ok:
				t.Fatalf("%s with a %s token should work (README table) but did not:\n%s\n%s", r.name, e.kind, out, e.logs())
			case !works && ok:
				t.Fatalf("%s with a %s token worked; the README table says it fails with %q: update the table", r.name, e.kind, failure)
			case !works && !strings.Contains(out, failure):
				t.Fatalf("%s with a %s token failed, but not with %q:\n%s", r.name, e.kind, failure, out)
			}
		})
	}
}

// neomutt20220429: the table's NeoMutt column is Debian 12's NeoMutt; other
// releases are not asserted on.
func neomutt20220429(t *testing.T) bool {
	v, _ := exec.Command("neomutt", "-v").Output()
	if !strings.HasPrefix(string(v), "NeoMutt 20220429") {
		t.Skipf("the README's NeoMutt column is Debian 12's NeoMutt 20220429; this is %.40q", v)
		return false
	}
	return true
}

// TestRecipesAgainstGmailLimits runs every README recipe against the
// sandbox, as Gmail, for both token kinds (no root needed).
func TestRecipesAgainstGmailLimits(t *testing.T) {
	for _, kind := range []string{tokDelegation, tokConsent} {
		t.Run(kind, func(t *testing.T) { runRecipes(t, sandboxRecipeEnv(t, kind)) })
	}
}

// TestInteropRecipesMatrix runs every README recipe against Dovecot and
// Postfix for both token kinds.
func TestInteropRecipesMatrix(t *testing.T) {
	for _, kind := range []string{tokDelegation, tokConsent} {
		t.Run(kind, func(t *testing.T) { runRecipes(t, dovecotRecipeEnv(t, kind)) })
	}
}

// readmeRows names each recipe's row in the README's table.
var readmeRows = map[string]string{
	"msmtp auth xoauth2":               "| msmtp `auth xoauth2` |",
	"msmtp auth oauthbearer":           "| msmtp `auth oauthbearer` |",
	"curl smtps":                       "| curl SMTP (`--oauth2-bearer`) |",
	"curl imaps":                       "| curl IMAP (`--oauth2-bearer`) |",
	"mbsync AuthMechs XOAUTH2":         "| mbsync `AuthMechs XOAUTH2` |",
	"neomutt imap xoauth2:oauthbearer": "| neomutt IMAP `xoauth2:oauthbearer` (as below) |",
	"neomutt imap oauthbearer":         "| neomutt IMAP `oauthbearer` alone |",
	"neomutt smtp xoauth2":             "| neomutt SMTP `xoauth2` (`smtp_url`) |",
	"neomutt smtp oauthbearer":         "| neomutt SMTP `oauthbearer` (`smtp_url`) |",
	"neomutt sendmail msmtp xoauth2":   "| neomutt sending through msmtp `auth xoauth2` (`sendmail`) |",
}

// TestReadmeRecipeTableIsTheTestedOne: the README's table says, cell by
// cell, what recipeWorks (and so the recipe tests) hold.
func TestReadmeRecipeTableIsTheTestedOne(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(readme), "\n")
	for _, r := range recipes {
		prefix, ok := readmeRows[r.name]
		if !ok {
			t.Fatalf("recipe %q has no README row", r.name)
		}
		var row string
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				row = l
			}
		}
		cells := strings.Split(strings.Trim(strings.TrimPrefix(row, prefix), " |"), " | ")
		if len(cells) != 3 {
			t.Fatalf("README row for %q: %q", r.name, row)
		}
		for i, c := range []struct {
			kind  string
			gmail bool
		}{{tokConsent, true}, {tokDelegation, true}, {tokDelegation, false}} {
			works, failure := recipeWorks(r.name, c.kind, c.gmail)
			if works != (cells[i] == "works") || !works && !strings.Contains(cells[i], failure) {
				t.Errorf("README says %q for %s with a %s token (Gmail %v); the tests hold works=%v %q", cells[i], r.name, c.kind, c.gmail, works, failure)
			}
			if c.kind == tokConsent {
				if w, _ := recipeWorks(r.name, c.kind, !c.gmail); w != works {
					t.Errorf("%s with a consent token differs between Gmail and Dovecot/Postfix; the README has one column for both", r.name)
				}
			}
		}
	}
}
