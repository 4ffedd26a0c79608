package main

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/mailoauth/mailoauth/core/coretest"
	"github.com/mailoauth/mailoauth/core/mailproto"
)

// sandboxLogins is the sandbox's count of accepted IMAP and SMTP logins by
// SASL mechanism (GET /admin/state).
func sandboxLogins(t *testing.T, sb *sandboxProcess) map[string]int {
	t.Helper()
	var st struct {
		Logins map[string]int `json:"logins"`
	}
	sb.adminState(t, &st)
	return st.Logins
}

// proxyIMAPSession logs in to the proxy's implicit-TLS IMAP listener as
// user, selects INBOX and logs out.
func proxyIMAPSession(t *testing.T, p *proxyProcess, user, password string) {
	t.Helper()
	c, err := imapclient.DialTLS(p.imaps, imapTLS(t, p.caFile))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatalf("LOGIN through the proxy: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("SELECT through the proxy: %v", err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatalf("LOGOUT through the proxy: %v", err)
	}
}

// TestProxyMechanismOAUTHBEARER: with --mechanism OAUTHBEARER the proxy
// logs in to the server by OAUTHBEARER, for IMAP and for SMTP, and never by
// XOAUTH2.
func TestProxyMechanismOAUTHBEARER(t *testing.T) {
	sb, db, users, pw := proxySandboxSetup(t)
	user := users[0]
	p := startProxy(t, db, "--mechanism", "oauthbearer")
	before := sandboxLogins(t, sb)

	proxyIMAPSession(t, p, user, pw[user])
	sc, err := smtp.DialTLS(p.smtps, imapTLS(t, p.caFile).TLSConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.Auth(sasl.NewPlainClient("", user, pw[user])); err != nil {
		t.Fatalf("SMTP AUTH through the proxy with --mechanism OAUTHBEARER: %v", err)
	}
	if err := sc.SendMail(user, []string{user}, strings.NewReader("Subject: by OAUTHBEARER\r\n\r\nx\r\n")); err != nil {
		t.Fatalf("sending: %v", err)
	}
	_ = sc.Quit()

	after := sandboxLogins(t, sb)
	if got := after[mailproto.OAUTHBEARER] - before[mailproto.OAUTHBEARER]; got != 2 {
		t.Fatalf("want the proxy's IMAP and SMTP logins upstream by OAUTHBEARER (2), got %d; the sandbox counted %v before, %v after", got, before, after)
	}
	if after[mailproto.XOAUTH2] != before[mailproto.XOAUTH2] {
		t.Fatalf("the proxy logged in by XOAUTH2 despite --mechanism OAUTHBEARER: %v before, %v after", before, after)
	}
	if r := mailoauth(t, db, "proxy", "--mechanism", "PLAIN"); r.code != 2 || !strings.Contains(r.stderr, `--mechanism "PLAIN" is not known; use XOAUTH2 or OAUTHBEARER`) {
		t.Fatalf("proxy --mechanism PLAIN: want exit 2 naming the two mechanisms, got %d %s", r.code, r.stderr)
	}
}

// TestProxyDrainBound: on SIGTERM, `mailoauth proxy --drain 1s` gives a
// session that never ends (a client in IDLE) the drain, then closes it and
// exits 0 with a log line saying so; the client finds its connection
// closed.
func TestProxyDrainBound(t *testing.T) {
	_, db, users, pw := proxySandboxSetup(t)
	user := users[0]
	p := startProxy(t, db, "--drain", "1s")
	c, err := imapclient.DialTLS(p.imaps, imapTLS(t, p.caFile))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, pw[user]).Wait(); err != nil {
		t.Fatalf("LOGIN through the proxy: %v", err)
	}
	coretest.IdleInbox(t, c) // the session ends only when the client says DONE
	code, ok := p.terminate(2 * time.Minute)
	if !ok {
		t.Fatal("mailoauth proxy --drain 1s did not exit on SIGTERM with a session in IDLE")
	}
	if code != 0 || !strings.Contains(p.log.String(), "proxy: closed the sessions still open after the drain") {
		t.Fatalf("after the drain: want exit 0 and the closed sessions logged, got %d:\n%s", code, p.log.String())
	}
	select {
	case <-c.Closed():
	case <-time.After(time.Minute):
		t.Fatal("the idling client's connection is still open after the proxy exited")
	}
}
