package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/mailoauth/mailoauth/core"
)

// interopClientSetup is interopSetup for an OAuth client (consent path)
// profile: the sandbox's OAuth client, the mailbox added and consented to
// (the sandbox approves the consent page at once, as with --auto-consent).
func interopClientSetup(t *testing.T, mailbox string, imapSec, smtpSec core.Security) (*interopServers, string) {
	t.Helper()
	s := startInterop(t, interopOptions{Users: 3})
	s.Sandbox.SetAutoConsent(true)
	client := filepath.Join(t.TempDir(), "client_secret.json")
	if err := os.WriteFile(client, s.Sandbox.OAuthClientJSON(), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	r := mailoauth(t, db, "setup", "--domain", interopDomain, "--sender", "admin@"+interopDomain,
		"--client", client, "--endpoints", s.WriteEndpoints(imapSec, smtpSec))
	if r.code != 0 {
		t.Fatalf("setup --client against Dovecot/Postfix: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = mailoauth(t, db, "mailbox", "add", mailbox); r.code != 0 {
		t.Fatalf("mailbox add: exit %d %s", r.code, r.stderr)
	}
	if r = authorize(t, db, autoBrowser, mailbox); r.code != 0 || !strings.Contains(r.stdout, "consent stored") {
		t.Fatalf("authorize %s: exit %d\n%s%s", mailbox, r.code, r.stdout, r.stderr)
	}
	return s, db
}

// neomuttrc is the README's ~/.neomuttrc for the mailbox with the test's
// servers, plus what a test needs: the servers' CA, no prompts, no caches.
func neomuttrc(t *testing.T, s *interopServers, user, mech string, starttls bool) string {
	t.Helper()
	imapURL, smtpURL := "imaps://", "smtps://"
	imapAddr, smtpAddr := s.IMAPS, s.SMTPS
	if starttls {
		imapURL, smtpURL = "imap://", "smtp://"
		imapAddr, smtpAddr = s.IMAP, s.Submission
	}
	imapPort := port(imapAddr)
	smtpPort := port(smtpAddr)
	esc := strings.ReplaceAll(user, "@", "%40")
	rc := fmt.Sprintf(`set from = "%[1]s"
set folder = "%[2]s%[3]s@localhost:%[4]s/"
set spoolfile = "+INBOX"
set imap_authenticators = "%[5]s"
set imap_oauth_refresh_command = "mailoauth token %[1]s"
set smtp_url = "%[6]s%[3]s@localhost:%[7]s/"
set smtp_authenticators = "%[5]s"
set smtp_oauth_refresh_command = "mailoauth token %[1]s"

# test only
set ssl_ca_certificates_file = "%[8]s"
set ssl_force_tls = yes
set ssl_starttls = yes
`+neomuttBatch, user, imapURL, esc, imapPort, mech, smtpURL, smtpPort, s.CAFile)
	return writeTemp(t, "neomuttrc", rc)
}

// neomuttEnv is the environment of the README recipe: mailoauth on PATH,
// the store in $MAILOAUTH_DB, a fresh $HOME.
func neomuttEnv(t *testing.T, db string) []string {
	return append(os.Environ(), "MAILOAUTH_KEY=", "MAILOAUTH_DB="+db, "HOME="+t.TempDir(),
		"PATH="+filepath.Dir(binary)+":"+os.Getenv("PATH"), "TERM=vt100", "LANG=C.UTF-8")
}

// neomuttRead opens the mailbox in NeoMutt on a pseudo-terminal, with a
// macro that pipes the first message to a file and quits: NeoMutt runs the
// pushed keys only once the mailbox is open, so nothing depends on timing.
// It returns what was piped (empty if NeoMutt saw no message), and NeoMutt's
// log followed by what it wrote to the terminal.
func neomuttRead(t *testing.T, rc, db string) (piped, screen string, err error) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "piped.eml")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "neomutt", "-n", "-F", rc, "-d", "1", "-l", filepath.Join(filepath.Dir(out), "neomutt.log"),
		"-e", fmt.Sprintf(`push "<pipe-message>cat > %s<enter><quit>"`, out))
	cmd.Env = neomuttEnv(t, db)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 120})
	if err != nil {
		return "", "", err
	}
	var scr bytes.Buffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&scr, f); close(done) }()
	// An error (no mailbox, no message) discards the pushed keys, <quit>
	// included. Typed keys are read only once the pushed ones are used up,
	// so a "q" typed now and then quits such a NeoMutt and never disturbs
	// one that works.
	exited := make(chan struct{})
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-exited:
				return
			case <-tick.C:
				_, _ = f.Write([]byte("q"))
			}
		}
	}()
	err = cmd.Wait()
	close(exited)
	f.Close()
	<-done
	b, _ := os.ReadFile(out)
	// NeoMutt's log (-l) gets a number appended; it has the errors the
	// screen showed only for an instant.
	logs, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "neomutt.log*"))
	var lg []byte
	for _, l := range logs {
		c, _ := os.ReadFile(l)
		lg = append(lg, c...)
	}
	return string(b), string(lg) + "\n-- screen --\n" + scr.String(), err
}

// neomuttSend sends a message to the mailbox itself in NeoMutt's batch
// mode (no terminal: it sends at once through smtp_url) and returns the
// subject; NeoMutt's output is returned for messages it printed.
func neomuttSend(t *testing.T, s *interopServers, rc, db, user, tag string) (subject, output string) {
	t.Helper()
	subject = "neomutt " + tag + " " + fmt.Sprint(time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	send := exec.CommandContext(ctx, "neomutt", "-n", "-F", rc, "-s", subject, "--", user)
	send.Env = neomuttEnv(t, db)
	send.Stdin = strings.NewReader("Hello from NeoMutt.\n")
	out, err := send.CombinedOutput()
	if err != nil {
		t.Fatalf("neomutt (sending): %v\n%s\nPostfix log:\n%s", err, out, s.PostfixLog())
	}
	waitArrival(t, s, db, user, subject)
	return subject, string(out)
}

// neomuttSendRead sends with neomuttSend, reads the message back with
// neomuttRead, and checks that Postfix and Dovecot logged NeoMutt's logins
// by the mechanism (curl, which waitArrival uses, logs in to Dovecot too:
// the count must grow by one).
func neomuttSendRead(t *testing.T, s *interopServers, rc, db, user, method string) (sendOutput string) {
	t.Helper()
	submitted := "sasl_method=" + method + ", sasl_username=" + user
	login := "Login: user=<" + user + ">, method=" + method + ","
	sentBefore := strings.Count(s.PostfixLog(), submitted)
	subject, out := neomuttSend(t, s, rc, db, user, method)
	if strings.Count(s.PostfixLog(), submitted) != sentBefore+1 {
		t.Fatalf("Postfix did not log NeoMutt's %s login:\n%s", method, s.PostfixLog())
	}
	before := strings.Count(s.DovecotLog(), login)
	piped, screen, err := neomuttRead(t, rc, db)
	if err != nil || !strings.Contains(piped, "Subject: "+subject) {
		t.Fatalf("neomutt (reading) did not see %q: %v\npiped: %q\n%s\nDovecot log:\n%s", subject, err, piped, screen, s.DovecotLog())
	}
	if strings.Count(s.DovecotLog(), login) != before+1 {
		t.Fatalf("Dovecot did not log NeoMutt's %s login:\n%s", method, s.DovecotLog())
	}
	return out
}

// TestInteropRecipeNeomutt: the README's neomuttrc for a mailbox of an
// OAuth client profile (consent-path tokens, about 220 characters) sends
// through Postfix (smtp_oauth_refresh_command, NeoMutt's batch mode) and
// reads the message back from Dovecot (imap_oauth_refresh_command, on a
// pseudo-terminal): the README's authenticator list, and each mechanism
// alone, over implicit TLS and STARTTLS.
func TestInteropRecipeNeomutt(t *testing.T) {
	requirePrograms(t, "neomutt", "curl")
	for _, c := range []struct {
		mechs, method string
		starttls      bool
	}{{neomuttAuthenticators, "XOAUTH2", false}, {"oauthbearer", "OAUTHBEARER", false}, {"xoauth2", "XOAUTH2", true}} {
		t.Run(fmt.Sprintf("%s/starttls=%v", c.mechs, c.starttls), func(t *testing.T) {
			user := "user1@" + interopDomain
			sec := core.SecurityTLS
			if c.starttls {
				sec = core.SecurityStartTLS
			}
			s, db := interopClientSetup(t, user, sec, sec)
			if tok := tokenFor(t, db, user); !strings.HasPrefix(tok, "ya29.a0") || len(tok) > 300 {
				t.Fatalf("a consent-path token should be short like Google's (ya29.a0…, about 220 characters), got %d characters", len(tok))
			}
			if out := neomuttSendRead(t, s, neomuttrc(t, s, user, c.mechs, c.starttls), db, user, c.method); strings.Contains(out, "too big") {
				t.Fatalf("NeoMutt complained of the token's size: %s", out)
			}
		})
	}
}

// neomuttAuthenticators is the README's imap_authenticators and
// smtp_authenticators: XOAUTH2 first, because Debian 12's NeoMutt cannot
// send a 1 KB token by OAUTHBEARER (TestInteropRecipeNeomuttDelegationToken).
const neomuttAuthenticators = "xoauth2:oauthbearer"

// TestInteropRecipeNeomuttDelegationToken: what the README says of Debian
// 12's NeoMutt (20220429) and a domain-wide-delegation token (about 1 KB,
// like Google's): by OAUTHBEARER it refuses the token itself ("OAUTH token
// is too big") and never logs in; by XOAUTH2, the README's first choice, it
// sends and reads with it. Other NeoMutt releases are not asserted on.
func TestInteropRecipeNeomuttDelegationToken(t *testing.T) {
	requirePrograms(t, "neomutt", "curl")
	v, _ := exec.Command("neomutt", "-v").Output()
	if !strings.HasPrefix(string(v), "NeoMutt 20220429") {
		t.Skipf("the README's note is about Debian 12's NeoMutt 20220429; this is %.40q", v)
	}
	s, db := interopSetup(t, core.SecurityTLS, core.SecurityTLS)
	user := "user1@" + interopDomain
	if tok := tokenFor(t, db, user); !strings.HasPrefix(tok, "ya29.c.") || len(tok) < 1000 {
		t.Fatalf("a delegation token should be about 1 KB like Google's, got %d characters", len(tok))
	}
	piped, screen, _ := neomuttRead(t, neomuttrc(t, s, user, "oauthbearer", false), db)
	if piped != "" || !strings.Contains(screen, "OAUTH token is too big") {
		t.Fatalf("NeoMutt 20220429 should refuse a 1 KB token for OAUTHBEARER:\npiped: %q\n%s", piped, screen)
	}
	if strings.Contains(s.DovecotLog(), "Login: user=<"+user+">, method=OAUTHBEARER") {
		t.Fatalf("Dovecot logged an OAUTHBEARER login NeoMutt could not have made:\n%s", s.DovecotLog())
	}
	if out := neomuttSendRead(t, s, neomuttrc(t, s, user, neomuttAuthenticators, false), db, user, "XOAUTH2"); strings.Contains(out, "too big") {
		t.Fatalf("with XOAUTH2 first NeoMutt should not try OAUTHBEARER: %s", out)
	}
}
