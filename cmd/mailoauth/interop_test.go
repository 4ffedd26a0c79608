package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/mailproto"
)

// The TestInterop* tests drive the engine, the mailoauth binary and the
// mail programs of the README's recipes (recipes_test.go) against Debian's
// Dovecot and Postfix (interop_servers_test.go). `make interop` runs
// exactly these.

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
// implicit TLS and over STARTTLS (OAUTHBEARER: TestInteropRoundTripDovecotPostfix).
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

// tokenFor is `mailoauth token` for the user, one line and nothing else.
func tokenFor(t *testing.T, db, user string) string {
	t.Helper()
	r := mailoauth(t, db, "token", user)
	if r.code != 0 || r.stderr != "" || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("mailoauth token: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// hookCache is a token cache that runs a hook after each freshly minted
// token is saved: the tests use it to revoke or age a token between minting
// and use, so that even the engine's fresh token is refused by the server.
type hookCache struct {
	core.MemoryTokenCache
	onSave func(core.Token)
}

func (c *hookCache) SaveToken(t core.Token) error {
	err := c.MemoryTokenCache.SaveToken(t)
	if c.onSave != nil {
		c.onSave(t)
	}
	return err
}

func interopTester(t *testing.T, s *interopServers, imapSec, smtpSec core.Security, mech string, cache core.TokenCache) *core.Tester {
	t.Helper()
	tester, err := core.NewTester(s.Profile(imapSec, smtpSec), cache)
	if err != nil {
		t.Fatal(err)
	}
	tester.Mechanism = mech
	tester.Timeout = 10 * time.Second
	tester.RoundtripTimeout = 20 * time.Second
	return tester
}

// TestInteropIMAPLoginDovecot logs in to Dovecot with a sandbox token, by
// XOAUTH2 and OAUTHBEARER, over implicit TLS and STARTTLS, with our SASL
// clients on a plain go-imap client (not the engine).
func TestInteropIMAPLoginDovecot(t *testing.T) {
	s := startInterop(t, interopOptions{})
	tester := interopTester(t, s, core.SecurityTLS, core.SecurityTLS, "", nil)
	user := "user1@" + interopDomain
	tok, _, err := tester.Tokens.Token(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	for _, mech := range []string{mailproto.XOAUTH2, mailproto.OAUTHBEARER} {
		for _, sec := range []core.Security{core.SecurityTLS, core.SecurityStartTLS} {
			t.Run(mech+"/"+string(sec), func(t *testing.T) {
				var c *imapclient.Client
				var err error
				if sec == core.SecurityTLS {
					c, err = imapclient.DialTLS(s.IMAPS, imapTLS(t, s.CAFile))
				} else {
					c, err = imapclient.DialStartTLS(s.IMAP, imapTLS(t, s.CAFile))
				}
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if !c.Caps().Has(imap.Cap("AUTH=" + mech)) {
					t.Fatalf("Dovecot does not offer AUTH=%s: %v", mech, c.Caps())
				}
				var sc sasl.Client = mailproto.NewOAuthClient(mech, user, tok.AccessToken)
				if err := c.Authenticate(sc); err != nil {
					t.Fatalf("Dovecot refused a valid token by %s: %v\n%s", mech, err, s.DovecotLog())
				}
				if _, err := c.Select("INBOX", nil).Wait(); err != nil {
					t.Fatal(err)
				}
				// A token for another mailbox is refused: Dovecot really
				// compares tokeninfo's email with the SASL user.
				c2, err := imapclient.DialTLS(s.IMAPS, imapTLS(t, s.CAFile))
				if err != nil {
					t.Fatal(err)
				}
				defer c2.Close()
				if err := c2.Authenticate(mailproto.NewOAuthClient(mech, "user2@"+interopDomain, tok.AccessToken)); err == nil {
					t.Fatal("Dovecot accepted user1's token for user2")
				}
			})
		}
	}
}

// TestInteropRoundTripDovecotPostfix runs every check through the real
// servers: token from the sandbox, IMAP login at Dovecot, SMTP login at
// Postfix (Dovecot SASL), and the round trip Postfix -> LMTP -> Dovecot.
func TestInteropRoundTripDovecotPostfix(t *testing.T) {
	s := startInterop(t, interopOptions{})
	cases := []struct {
		mech             string
		imapSec, smtpSec core.Security
	}{
		{mailproto.XOAUTH2, core.SecurityTLS, core.SecurityTLS},
		{mailproto.OAUTHBEARER, core.SecurityStartTLS, core.SecurityStartTLS},
		{mailproto.XOAUTH2, core.SecurityStartTLS, core.SecurityTLS},
		{mailproto.OAUTHBEARER, core.SecurityTLS, core.SecurityStartTLS},
	}
	for i, c := range cases {
		t.Run(c.mech+"/imap-"+string(c.imapSec)+"/smtp-"+string(c.smtpSec), func(t *testing.T) {
			tester := interopTester(t, s, c.imapSec, c.smtpSec, c.mech, nil)
			user := fmt.Sprintf("user%d@%s", i%3+1, interopDomain)
			r := tester.Check(context.Background(), user, nil)
			if !r.OK || len(r.Checks) != 4 {
				t.Fatalf("checks through Dovecot/Postfix failed: %+v %+v", r.Checks, r.Finding)
			}
			for _, cr := range r.Checks {
				t.Logf("%s: %s", cr.Name, cr.Detail)
			}
		})
	}
	// The messages really went Postfix -> LMTP -> Dovecot.
	if log := s.PostfixLog(); !strings.Contains(log, "relay=127.0.0.1[127.0.0.1]:") || !strings.Contains(log, "status=sent") {
		t.Fatalf("Postfix did not deliver over LMTP:\n%s", log)
	}
}

// TestInteropRefusedTokens: tokens that are revoked or expired by the time
// Dovecot or Postfix see them are refused by the real servers, and the
// engine names the reason with our finding codes.
func TestInteropRefusedTokens(t *testing.T) {
	s := startInterop(t, interopOptions{Users: 12})
	type tc struct {
		name             string
		mech             string
		imapSec, smtpSec core.Security
		checks           []core.CheckName
		spoil            func(tok core.Token) // runs right after the token is minted
		want             core.Code
		inText           string
	}
	revoke := func(tok core.Token) { s.Sandbox.Revoke(tok.Mailbox) }
	// The sandbox's clock moves past the token's expiry: the token is
	// minted valid, and is expired when the server asks tokeninfo.
	expire := func(tok core.Token) { s.Sandbox.SetClockSkew(time.Until(tok.Expiry) + time.Minute) }
	imapOnly := []core.CheckName{core.CheckToken, core.CheckIMAP}
	smtpOnly := []core.CheckName{core.CheckToken, core.CheckSMTP}
	cases := []tc{
		{"revoked/imap/XOAUTH2", mailproto.XOAUTH2, core.SecurityTLS, core.SecurityTLS, imapOnly, revoke, core.CodeTokenRevoked, "NO [AUTHENTICATIONFAILED]"},
		{"revoked/imap/OAUTHBEARER/starttls", mailproto.OAUTHBEARER, core.SecurityStartTLS, core.SecurityTLS, imapOnly, revoke, core.CodeTokenRevoked, "NO [AUTHENTICATIONFAILED]"},
		{"revoked/smtp/XOAUTH2", mailproto.XOAUTH2, core.SecurityTLS, core.SecurityTLS, smtpOnly, revoke, core.CodeTokenRevoked, "535 5.7.8"},
		{"revoked/smtp/OAUTHBEARER/starttls", mailproto.OAUTHBEARER, core.SecurityTLS, core.SecurityStartTLS, smtpOnly, revoke, core.CodeTokenRevoked, "535 5.7.8"},
		{"expired/imap/XOAUTH2", mailproto.XOAUTH2, core.SecurityTLS, core.SecurityTLS, imapOnly, expire, core.CodeTokenExpired, "NO [AUTHENTICATIONFAILED]"},
		{"expired/imap/OAUTHBEARER", mailproto.OAUTHBEARER, core.SecurityTLS, core.SecurityTLS, imapOnly, expire, core.CodeTokenExpired, "NO [AUTHENTICATIONFAILED]"},
		{"expired/smtp/XOAUTH2/starttls", mailproto.XOAUTH2, core.SecurityTLS, core.SecurityStartTLS, smtpOnly, expire, core.CodeTokenExpired, "535 5.7.8"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.Sandbox.SetClockSkew(0)
			defer s.Sandbox.SetClockSkew(0)
			user := fmt.Sprintf("user%d@%s", i+1, interopDomain)
			cache := &hookCache{onSave: c.spoil}
			tester := interopTester(t, s, c.imapSec, c.smtpSec, c.mech, cache)
			r := tester.Check(context.Background(), user, c.checks)
			if r.OK || r.Finding == nil || r.Finding.Code != c.want {
				t.Fatalf("want finding %s, got ok=%v %+v %+v", c.want, r.OK, r.Finding, r.Checks)
			}
			if !strings.Contains(r.Finding.Summary, c.inText) || !strings.Contains(r.Finding.Summary, user) {
				t.Fatalf("the finding does not quote the server's reply %q for %s: %+v", c.inText, user, r.Finding)
			}
			t.Logf("%s: %s %s", r.Finding.Code, r.Finding.Summary, r.Finding.Fix)
		})
	}
}

// TestInteropCachedTokenRevokedIsReplaced: Dovecot refuses a revoked cached
// token; the engine drops it, mints a fresh one, and the check passes with
// the note that says so.
func TestInteropCachedTokenRevokedIsReplaced(t *testing.T) {
	s := startInterop(t, interopOptions{})
	cache := &core.MemoryTokenCache{}
	user := "user1@" + interopDomain
	for _, mech := range []string{mailproto.XOAUTH2, mailproto.OAUTHBEARER} {
		tester := interopTester(t, s, core.SecurityTLS, core.SecurityTLS, mech, cache)
		if r := tester.Check(context.Background(), user, []core.CheckName{core.CheckToken}); !r.OK {
			t.Fatalf("token: %+v", r.Finding)
		}
		s.Sandbox.Revoke(user)
		r := tester.Check(context.Background(), user, []core.CheckName{core.CheckIMAP, core.CheckSMTP})
		if !r.OK || len(r.Notes) != 1 || r.Notes[0] != core.NoteTokenRefreshed {
			t.Fatalf("%s: a revoked cached token was not replaced: ok=%v %+v notes=%q", mech, r.OK, r.Finding, r.Notes)
		}
	}
}

// TestInteropTokeninfoUnreachable: when Dovecot cannot validate tokens (its
// tokeninfo endpoint is down), Dovecot answers NO [UNAVAILABLE] and Postfix
// 535 5.7.8; the findings say the server is at fault, not the token.
func TestInteropTokeninfoUnreachable(t *testing.T) {
	s := startInterop(t, interopOptions{TokeninfoURL: "http://127.0.0.1:9/tokeninfo"})
	user := "user1@" + interopDomain
	for _, c := range []struct {
		checks []core.CheckName
		want   core.Code
		text   string
	}{
		{[]core.CheckName{core.CheckToken, core.CheckIMAP}, core.CodeIMAPFailed, "UNAVAILABLE"},
		// Postfix turns Dovecot's temporary failure into a plain 535, so
		// only tokeninfo's verdict tells that the server is at fault.
		{[]core.CheckName{core.CheckToken, core.CheckSMTP}, core.CodeSMTPAuthFailed, "535 5.7.8"},
	} {
		tester := interopTester(t, s, core.SecurityTLS, core.SecurityTLS, "", nil)
		r := tester.Check(context.Background(), user, c.checks)
		if r.OK || r.Finding == nil || r.Finding.Code != c.want || !strings.Contains(r.Finding.Summary, c.text) ||
			!(strings.Contains(r.Finding.Summary, "could not check") || strings.Contains(r.Finding.Summary, "tokeninfo says the token is valid")) {
			t.Fatalf("want %s quoting %s, got %+v", c.want, c.text, r.Finding)
		}
		t.Logf("%s: %s %s", r.Finding.Code, r.Finding.Summary, r.Finding.Fix)
	}
}
