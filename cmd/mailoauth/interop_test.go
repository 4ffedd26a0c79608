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
)

// The TestInterop* tests drive the engine, the mailoauth binary and the
// mail programs of the README's recipes against Debian's Dovecot and
// Postfix (interop_servers_test.go). `make interop` runs exactly these.

// interopSetup starts the servers and sets up a store whose profile points
// at them with the given security; it returns the servers and the store path.
func interopSetup(t *testing.T, imapSec, smtpSec core.Security) (*interopServers, string) {
	t.Helper()
	s := startInterop(t, interopOptions{Users: 5})
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	r := mailoauth(t, db, "setup", "--domain", interopDomain, "--sender", "admin@"+interopDomain,
		"--key", s.WriteServiceAccount(), "--endpoints", s.WriteEndpoints(imapSec, smtpSec))
	if r.code != 0 {
		t.Fatalf("setup against Dovecot/Postfix: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return s, db
}

// TestInteropCLITestThroughDovecotPostfix: `mailoauth test --checks
// token,imap,smtp,roundtrip` passes through the real servers, over
// implicit TLS and over STARTTLS (OAUTHBEARER: interop_engine_test.go).
func TestInteropCLITestThroughDovecotPostfix(t *testing.T) {
	for _, sec := range []core.Security{core.SecurityTLS, core.SecurityStartTLS} {
		t.Run(string(sec), func(t *testing.T) {
			s, db := interopSetup(t, sec, sec)
			for _, user := range []string{"user1@" + interopDomain, "user2@" + interopDomain} {
				l, code := testOne(t, db, user, "--checks", "token,imap,smtp,roundtrip")
				if code != 0 || !l.OK || len(l.Checks) != 4 {
					t.Fatalf("%s over %s: exit %d %+v", user, sec, code, l)
				}
				if !strings.Contains(string(l.Checks["roundtrip"]), "delivered") {
					t.Fatalf("round trip: %s", l.Checks["roundtrip"])
				}
			}
			if log := s.PostfixLog(); strings.Count(log, "status=sent") < 2 {
				t.Fatalf("Postfix did not deliver both round-trip messages over LMTP:\n%s", log)
			}
		})
	}
}

// TestInteropCLIClockBehindDovecot: this machine's clock is an hour behind
// Google's, so the cached token it still thinks valid is expired: Dovecot
// refuses it, and the fresh token the engine then asks for is refused by
// Google with the clock finding.
func TestInteropCLIClockBehindDovecot(t *testing.T) {
	s, db := interopSetup(t, core.SecurityTLS, core.SecurityTLS)
	user := "user2@" + interopDomain
	if l, code := testOne(t, db, user, "--checks", "token"); code != 0 || !l.OK {
		t.Fatalf("token: %d %+v", code, l)
	}
	s.Sandbox.SetClockSkew(61 * time.Minute)
	l, code := testOne(t, db, user, "--checks", "imap")
	if code != 1 || l.Finding == nil || l.Finding.Code != core.CodeClockSkew || !strings.Contains(l.Finding.Summary, "behind") {
		t.Fatalf("want clock_skew, got exit %d %+v", code, l)
	}
	if !strings.Contains(s.DovecotLog(), "oauth2 failed") {
		t.Fatalf("Dovecot did not refuse the expired token:\n%s", s.DovecotLog())
	}
}

// mailboxHas reports whether the subject is in the mailbox, asked over IMAP
// by curl with a token from `mailoauth token` (itself a README recipe).
func mailboxHas(t *testing.T, s *interopServers, db, user, subject string) bool {
	t.Helper()
	tok := tokenFor(t, db, user)
	out, err := exec.Command("curl", "-sS", "--cacert", s.CAFile, "--user", user, "--oauth2-bearer", tok,
		"imaps://"+s.IMAPS+"/INBOX", "-X", `SEARCH SUBJECT "`+subject+`"`).CombinedOutput()
	if err != nil {
		t.Fatalf("curl SEARCH: %v: %s", err, out)
	}
	fields := strings.Fields(strings.TrimSpace(string(out)))
	return len(fields) > 2 && fields[0] == "*" && fields[1] == "SEARCH"
}

func tokenFor(t *testing.T, db, user string) string {
	t.Helper()
	r := mailoauth(t, db, "token", user)
	if r.code != 0 || r.stderr != "" || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("mailoauth token: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

func writeMessage(t *testing.T, from, to, subject string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "msg.eml")
	msg := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.%s>\r\n\r\nHello from a mail program.\r\n",
		from, to, subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), from)
	if err := os.WriteFile(path, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func waitArrival(t *testing.T, s *interopServers, db, user, subject string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !mailboxHas(t, s, db, user, subject) {
		if time.Now().After(deadline) {
			t.Fatalf("%q did not arrive in %s within 20 s; Postfix log:\n%s", subject, user, s.PostfixLog())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestInteropRecipeMsmtp: the README's msmtp account sends through Postfix
// with passwordeval "mailoauth token ...", by XOAUTH2 and OAUTHBEARER, over
// implicit TLS and STARTTLS, and the mail arrives in Dovecot.
func TestInteropRecipeMsmtp(t *testing.T) {
	requirePrograms(t, "msmtp", "curl")
	s, db := interopSetup(t, core.SecurityTLS, core.SecurityTLS)
	user := "user3@" + interopDomain
	for _, c := range []struct {
		auth     string
		starttls bool
	}{{"xoauth2", false}, {"oauthbearer", false}, {"xoauth2", true}, {"oauthbearer", true}} {
		name := fmt.Sprintf("%s/starttls=%v", c.auth, c.starttls)
		t.Run(name, func(t *testing.T) {
			hostport := s.SMTPS
			tlsStart := "off"
			if c.starttls {
				hostport, tlsStart = s.Submission, "on"
			}
			host, port, _ := strings.Cut(hostport, ":")
			// The README recipe, with this test's paths.
			conf := fmt.Sprintf(`defaults
tls on
tls_trust_file %s
logfile -

account mailoauth
host %s
port %s
tls_starttls %s
auth %s
user %s
from %s
passwordeval "%s --db %s token %s"

account default : mailoauth
`, s.CAFile, host, port, tlsStart, c.auth, user, user, binary, db, user)
			confPath := filepath.Join(t.TempDir(), "msmtprc")
			if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			subject := "msmtp " + strings.ReplaceAll(name, "/", " ") + " " + fmt.Sprint(time.Now().UnixNano())
			msg, err := os.Open(writeMessage(t, user, user, subject))
			if err != nil {
				t.Fatal(err)
			}
			defer msg.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "msmtp", "-C", confPath, "-a", "mailoauth", user)
			cmd.Stdin = msg
			cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("msmtp: %v\n%s\nPostfix log:\n%s", err, out, s.PostfixLog())
			}
			waitArrival(t, s, db, user, subject)
		})
	}
}

// TestInteropRecipeCurl: the README's curl commands read Dovecot over
// imaps:// and send through Postfix over smtps:// (and smtp:// with
// STARTTLS) with --oauth2-bearer "$(mailoauth token ...)".
func TestInteropRecipeCurl(t *testing.T) {
	requirePrograms(t, "curl")
	s, db := interopSetup(t, core.SecurityTLS, core.SecurityTLS)
	user := "user4@" + interopDomain
	sh := func(script string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-c", script)
		cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=", "MAILOAUTH_DB="+db, "PATH="+filepath.Dir(binary)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s\nPostfix log:\n%s", script, err, out, s.PostfixLog())
		}
		return string(out)
	}
	for _, c := range []struct{ name, url, extra string }{
		{"smtps", "smtps://" + s.SMTPS, ""},
		{"smtp+starttls", "smtp://" + s.Submission, "--ssl-reqd"},
	} {
		subject := "curl " + c.name + " " + fmt.Sprint(time.Now().UnixNano())
		msg := writeMessage(t, user, user, subject)
		// The README recipe (the binary is on PATH, the store in $MAILOAUTH_DB).
		sh(fmt.Sprintf(`curl -sS --cacert %s %s %s --mail-from %s --mail-rcpt %s --upload-file %s --user %s --oauth2-bearer "$(mailoauth token %s)"`,
			s.CAFile, c.extra, c.url, user, user, msg, user, user))
		waitArrival(t, s, db, user, subject)
	}
	// Reading: list INBOX and fetch the first message.
	out := sh(fmt.Sprintf(`curl -sS --cacert %s --user %s --oauth2-bearer "$(mailoauth token %s)" 'imaps://%s/INBOX;UID=1'`, s.CAFile, user, user, s.IMAPS))
	if !strings.Contains(out, "Subject: curl smtps") {
		t.Fatalf("curl imaps fetch: %q", out)
	}
	// A wrong token is refused by Dovecot: curl fails, as a script would see.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "curl", "-sS", "--cacert", s.CAFile, "--user", user, "--oauth2-bearer", "ya29.not-a-token", "imaps://"+s.IMAPS+"/INBOX").CombinedOutput(); err == nil {
		t.Fatalf("Dovecot accepted a bogus token: %s", out)
	}
}
