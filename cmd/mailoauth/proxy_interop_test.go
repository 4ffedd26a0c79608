package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/coretest"
)

// TestInteropProxyDovecotPostfix: mailoauth proxy in front of Dovecot and
// Postfix (upstream STARTTLS, logged in with the token by XOAUTH2): Python's
// smtplib sends a large message that imaplib then fetches, a client in IDLE
// through the proxy sees a message arrive that was sent through it, and
// NeoMutt sends and reads with the proxy password.
func TestInteropProxyDovecotPostfix(t *testing.T) {
	requirePrograms(t, "python3", "neomutt")
	s, db := interopSetup(t, core.SecurityStartTLS, core.SecurityStartTLS)
	user, nmUser := "user1@"+interopDomain, "user2@"+interopDomain
	passwords := map[string]string{}
	for _, u := range []string{user, nmUser} {
		if r := mailoauth(t, db, "mailbox", "add", u); r.code != 0 {
			t.Fatalf("mailbox add: %d %s", r.code, r.stderr)
		}
		r := mailoauth(t, db, "proxy", "password", u)
		if r.code != 0 {
			t.Fatalf("proxy password: %d %s", r.code, r.stderr)
		}
		passwords[u] = strings.TrimSpace(r.stdout)
	}
	pw := passwords[user]
	p := startProxy(t, db)
	env := []string{"CA=" + p.caFile, "USER_ADDR=" + user, "PASS=" + pw}

	// A large message: smtplib through the proxy's STARTTLS submission,
	// Postfix delivers it to Dovecot, imaplib reads it through the proxy.
	subject := fmt.Sprintf("large through the proxy %d", time.Now().UnixNano())
	python(t, strings.Replace(pySMTPSend, "10 * 1024 * 1024", "5 * 1024 * 1024", 1), append(env, "ADDR="+p.smtp, "STARTTLS=1", "SUBJECT="+subject)...)
	dovecotMailbox(s, db, user).mustArrive(t, subject)
	out := python(t, pyIMAPFetch, append(env, "ADDR="+p.imaps, "SUBJECT="+subject)...)
	if !strings.Contains(out, "Subject: "+subject) || !strings.Contains(out, "RFC822.SIZE 52") {
		t.Fatalf("imaplib through the proxy from Dovecot: want the 5 MB message, got:\n%s", out)
	}
	if lg := s.DovecotLog(); !strings.Contains(lg, "Login: user=<"+user+">, method=XOAUTH2") {
		t.Fatalf("Dovecot did not log the proxy's XOAUTH2 login:\n%s", lg)
	}
	if lg := s.PostfixLog(); !strings.Contains(lg, "sasl_method=XOAUTH2, sasl_username="+user) {
		t.Fatalf("Postfix did not log the proxy's XOAUTH2 login:\n%s", lg)
	}

	// IDLE through the proxy sees a message delivered by SMTP through it.
	opts := imapTLS(t, p.caFile)
	var arrived <-chan uint32
	opts.UnilateralDataHandler, arrived = coretest.MailboxSizes()
	c, err := imapclient.DialTLS(p.imaps, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, pw).Wait(); err != nil {
		t.Fatalf("LOGIN through the proxy: %v", err)
	}
	sel, idle := coretest.IdleInbox(t, c)
	idleSubject := fmt.Sprintf("idle through the proxy %d", time.Now().UnixNano())
	python(t, strings.Replace(pySMTPSend, "10 * 1024 * 1024", "1024", 1), append(env, "ADDR="+p.smtps, "SUBJECT="+idleSubject)...)
	select {
	case n := <-arrived:
		if n != sel.NumMessages+1 {
			t.Fatalf("IDLE: EXISTS %d, want %d", n, sel.NumMessages+1)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("IDLE through the proxy saw no new message; Postfix log:\n%s", s.PostfixLog())
	}
	coretest.StopIdle(t, idle)
	_ = c.Logout().Wait()

	// NeoMutt with the proxy password (another mailbox: it reads the
	// first message).
	rc := proxyNeomuttrc(t, p, nmUser, passwords[nmUser])
	nmSubject, _ := neomuttSend(t, rc, db, nmUser, "through the proxy")
	dovecotMailbox(s, db, nmUser).mustArrive(t, nmSubject)
	piped, screen, err := neomuttRead(t, rc, db)
	if err != nil || !strings.Contains(piped, "Subject: "+nmSubject) {
		t.Fatalf("neomutt reading through the proxy from Dovecot did not see %q: %v\npiped: %.2000q\n%s", nmSubject, err, piped, screen)
	}
}
