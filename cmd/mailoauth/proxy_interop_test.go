package main

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/textproto"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/coretest"
)

// TestInteropProxyDovecotPostfix: mailoauth proxy in front of Dovecot and
// Postfix (upstream STARTTLS, logged in with the token by XOAUTH2), one
// proxy and one set of servers for all the real clients of issue 14:
// Python's smtplib sends a 10 MB message that imaplib then fetches; a
// client in IDLE sees a message arrive that was sent through the proxy;
// msmtp (auth plain) and curl (--user) send and read; a client sends by
// BDAT (Postfix offers CHUNKING); XCLIENT and XFORWARD, which Postfix
// would trust from the proxy, are refused by the proxy; NeoMutt sends and reads with the proxy
// password; poplib reads by POP3, the proxy logged in to Dovecot's POP3
// by XOAUTH2; a revoked token is replaced, and one that cannot be is
// refused with the finding's code, by IMAP, SMTP and POP3; wrong passwords, by IMAP, POP3 and
// SMTP, never reach the servers and lock the address out. The subtests
// run in this order on purpose: the last two take the delegation and the
// address away.
func TestInteropProxyDovecotPostfix(t *testing.T) {
	requirePrograms(t, "python3", "neomutt", "msmtp", "curl")
	s, db := interopSetup(t, core.SecurityStartTLS, core.SecurityStartTLS)
	user, nmUser, toolUser, revUser := "user1@"+interopDomain, "user2@"+interopDomain, "user3@"+interopDomain, "user4@"+interopDomain
	popUser := "user5@" + interopDomain
	passwords := map[string]string{}
	for _, u := range []string{user, nmUser, toolUser, revUser, popUser} {
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

	t.Run("smtplib 10 MB and imaplib", func(t *testing.T) {
		// smtplib through the proxy's STARTTLS submission, Postfix
		// delivers it to Dovecot, imaplib reads it through the proxy.
		subject := fmt.Sprintf("ten megabytes through the proxy %d", time.Now().UnixNano())
		python(t, pySMTPSend, append(env, "ADDR="+p.smtp, "STARTTLS=1", "SUBJECT="+subject)...)
		dovecotMailbox(s, db, user).mustArrive(t, subject)
		out := python(t, pyIMAPFetch, append(env, "ADDR="+p.imaps, "SUBJECT="+subject)...)
		if size := rfc822Size(out); size < 10*1024*1024 || !strings.Contains(out, "Subject: "+subject) {
			t.Fatalf("imaplib through the proxy from Dovecot: want the 10 MB message, got size %d:\n%s", size, out)
		}
		if lg := s.DovecotLog(); !strings.Contains(lg, "Login: user=<"+user+">, method=XOAUTH2") {
			t.Fatalf("Dovecot did not log the proxy's XOAUTH2 login:\n%s", lg)
		}
		if lg := s.PostfixLog(); !strings.Contains(lg, "sasl_method=XOAUTH2, sasl_username="+user) {
			t.Fatalf("Postfix did not log the proxy's XOAUTH2 login:\n%s", lg)
		}
	})

	t.Run("IDLE sees a message sent by SMTP", func(t *testing.T) {
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
	})

	t.Run("msmtp and curl", func(t *testing.T) {
		msmtpAndCurlThroughProxy(t, p, toolUser, passwords[toolUser], dovecotMailbox(s, db, toolUser).mustArrive)
		if lg := s.PostfixLog(); strings.Count(lg, "sasl_method=XOAUTH2, sasl_username="+toolUser) != 2 {
			t.Fatalf("Postfix did not log the proxy's two logins for msmtp and curl:\n%s", lg)
		}
	})

	t.Run("BDAT", func(t *testing.T) {
		bdatThroughProxy(t, p, toolUser, passwords[toolUser], dovecotMailbox(s, db, toolUser).mustArrive)
	})

	t.Run("XCLIENT refused", func(t *testing.T) {
		xclientThroughProxy(t, s, p, toolUser, passwords[toolUser], dovecotMailbox(s, db, toolUser).mustArrive)
	})

	t.Run("neomutt", func(t *testing.T) {
		// Another mailbox: neomuttRead reads the first message.
		rc := proxyNeomuttrc(t, p, nmUser, passwords[nmUser])
		nmSubject, _ := neomuttSend(t, rc, db, nmUser, "through the proxy")
		dovecotMailbox(s, db, nmUser).mustArrive(t, nmSubject)
		piped, screen, err := neomuttRead(t, rc, db)
		if err != nil || !strings.Contains(piped, "Subject: "+nmSubject) {
			t.Fatalf("neomutt reading through the proxy from Dovecot did not see %q: %v\npiped: %.2000q\n%s", nmSubject, err, piped, screen)
		}
	})

	t.Run("poplib", func(t *testing.T) {
		// A mailbox of its own, so that its one message is the one sent
		// here; the body's lone "." line is dot-stuffed by Dovecot in
		// RETR and must come through the proxy's relay unchanged.
		subject := fmt.Sprintf("poplib through the proxy %d", time.Now().UnixNano())
		body := "First line.\r\n.\r\n..two dots\r\nLast line.\r\n"
		penv := []string{"CA=" + p.caFile, "USER_ADDR=" + popUser, "PASS=" + passwords[popUser], "SUBJECT=" + subject}
		python(t, pySMTPSendBody, append(penv, "ADDR="+p.smtps, "BODY="+body)...)
		dovecotMailbox(s, db, popUser).mustArrive(t, subject)
		var got struct {
			Count   int
			Subject string
			Body    string
		}
		if err := json.Unmarshal([]byte(python(t, pyPOP3Last, append(penv, "ADDR="+p.pop3s)...)), &got); err != nil {
			t.Fatal(err)
		}
		if got.Count != 1 || got.Subject != subject || got.Body != body {
			t.Fatalf("poplib through the proxy from Dovecot: want 1 message %q with the body %q, got %d %q with %q", subject, body, got.Count, got.Subject, got.Body)
		}
		if lg := s.DovecotLog(); !strings.Contains(lg, "pop3-login: Info: Login: user=<"+popUser+">, method=XOAUTH2") {
			t.Fatalf("Dovecot did not log the proxy's POP3 XOAUTH2 login:\n%s", lg)
		}
	})

	t.Run("revoked token", func(t *testing.T) {
		renv := []string{"CA=" + p.caFile, "USER_ADDR=" + revUser, "PASSWORDS=" + passwords[revUser]}
		if out := python(t, pyIMAPLogins, append(renv, "ADDR="+p.imaps)...); strings.TrimSpace(out) != "ok" {
			t.Fatalf("first login: %s", out)
		}
		// Dovecot refuses the proxy's cached token; the proxy mints a
		// fresh one and the client never knows.
		minted := s.Sandbox.TokensMinted()
		s.Sandbox.Revoke(revUser)
		if out := python(t, pyIMAPLogins, append(renv, "ADDR="+p.imaps)...); strings.TrimSpace(out) != "ok" {
			t.Fatalf("after the token was revoked the proxy should log in with a fresh one: %s", out)
		}
		if s.Sandbox.TokensMinted() != minted+1 || !strings.Contains(s.DovecotLog(), "oauth2 failed") {
			t.Fatalf("want Dovecot to refuse the revoked token and one fresh token, minted %d -> %d:\n%s", minted, s.Sandbox.TokensMinted(), s.DovecotLog())
		}
		// The same by POP3, where Dovecot's refusal is a challenge
		// (XOAUTH2's JSON error) the proxy must answer to get the -ERR.
		s.Sandbox.Revoke(revUser)
		if out := python(t, pyPOP3Logins, append(renv, "ADDR="+p.pop3s)...); strings.TrimSpace(out) != "ok" {
			t.Fatalf("by POP3 after the token was revoked the proxy should log in with a fresh one: %s", out)
		}
		if s.Sandbox.TokensMinted() != minted+2 || !regexp.MustCompile(`pop3-login: .*auth failed.*user=<`+regexp.QuoteMeta(revUser)+`>`).MatchString(s.DovecotLog()) {
			t.Fatalf("want Dovecot's POP3 to refuse the revoked token and one fresh token, minted %d -> %d:\n%s", minted+1, s.Sandbox.TokensMinted(), s.DovecotLog())
		}
		// Without the delegation no fresh token can be had: all three
		// protocols get the mapped refusal, the log the finding's fix.
		s.Sandbox.Deauthorize(s.Sandbox.ClientID())
		s.Sandbox.Revoke(revUser)
		const mapped = "mailoauth: delegation_not_authorized, see the log"
		if out := python(t, pyIMAPLogins, append(renv, "ADDR="+p.imaps)...); !strings.Contains(out, "refused: b'[AUTHENTICATIONFAILED] "+mapped+"'") {
			t.Fatalf("IMAP with a revoked token and no delegation: want the mapped refusal, got %s", out)
		}
		if out := python(t, pySMTPLogins, append(renv, "ADDR="+p.smtps)...); strings.TrimSpace(out) != "refused: 535 5.7.8 "+mapped {
			t.Fatalf("SMTP with a revoked token and no delegation: want the mapped refusal, got %s", out)
		}
		if out := python(t, pyPOP3Logins, append(renv, "ADDR="+p.pop3s)...); strings.TrimSpace(out) != "refused: b'-ERR [AUTH] "+mapped+"'" {
			t.Fatalf("POP3 with a revoked token and no delegation: want the mapped refusal, got %s", out)
		}
		if lg := p.log.String(); strings.Count(lg, "code=delegation_not_authorized") != 3 || !strings.Contains(lg, "add client ID "+s.Sandbox.ClientID()) {
			t.Fatalf("the log should name the finding and its fix for the three logins:\n%s", lg)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		logins := func() int {
			return strings.Count(s.DovecotLog(), "Login: user=<"+user+">") + strings.Count(s.PostfixLog(), "sasl_username="+user)
		}
		failed := func() int {
			return len(regexp.MustCompile(`auth failed.*user=<`+regexp.QuoteMeta(user)+`>`).FindAllString(s.DovecotLog(), -1))
		}
		before, failedBefore := logins(), failed()
		wenv := []string{"CA=" + p.caFile, "USER_ADDR=" + user}
		out := python(t, pyIMAPLogins, append(wenv, "ADDR="+p.imaps, "PASSWORDS=wrong1,wrong2,wrong3")...)
		if strings.Count(out, "refused: b'[AUTHENTICATIONFAILED] Invalid credentials") != 3 {
			t.Fatalf("three wrong passwords by IMAP: want three refusals, got:\n%s", out)
		}
		if out = python(t, pyPOP3Logins, append(wenv, "ADDR="+p.pop3s, "PASSWORDS=wrong4")...); strings.TrimSpace(out) != "refused: b'-ERR [AUTH] Invalid credentials'" {
			t.Fatalf("a fourth wrong password by POP3: want it refused, got:\n%s", out)
		}
		// The failures count per client address, whatever the protocol:
		// the fifth, by SMTP, locks the address out of all three.
		out = python(t, pySMTPLogins, append(wenv, "ADDR="+p.smtps, "PASSWORDS=wrong5,"+pw)...)
		got := strings.Split(strings.TrimSpace(out), "\n")
		if len(got) != 2 || got[0] != "refused: 535 5.7.8 Username and Password not accepted" ||
			!strings.HasPrefix(got[1], "refused: 454 4.7.0 mailoauth: too many wrong passwords from 127.0.0.1") {
			t.Fatalf("a fifth wrong password then the right one by SMTP: want 535 then the lockout's 454, got:\n%s", out)
		}
		if out = python(t, pyIMAPLogins, append(wenv, "ADDR="+p.imaps, "PASSWORDS="+pw)...); !strings.Contains(out, "too many wrong passwords") {
			t.Fatalf("the right password by IMAP while locked out: want the lockout, got %s", out)
		}
		if out = python(t, pyPOP3Logins, append(wenv, "ADDR="+p.pop3s, "PASSWORDS="+pw)...); !strings.Contains(out, "too many wrong passwords") {
			t.Fatalf("the right password by POP3 while locked out: want the lockout, got %s", out)
		}
		if !strings.Contains(p.log.String(), "locked out") {
			t.Fatalf("the lockout is not logged:\n%s", p.log.String())
		}
		if n := logins(); n != before {
			t.Fatalf("wrong proxy passwords reached Dovecot or Postfix: %d logins for %s, before %d", n, user, before)
		}
		if n := failed(); n != failedBefore {
			t.Fatalf("wrong proxy passwords reached Dovecot: %d failed logins for %s, before %d:\n%s", n, user, failedBefore, s.DovecotLog())
		}
	})
}

// pySMTPLogins is pyIMAPLogins for smtplib over implicit TLS; a refusal
// prints the reply's code and text. It logs in by AUTH PLAIN alone:
// smtplib's login() tries PLAIN and then LOGIN, two wrong passwords for
// the proxy's count.
const pySMTPLogins = `
import os, smtplib, ssl
host, port = os.environ["ADDR"].rsplit(":", 1)
ctx = ssl.create_default_context(cafile=os.environ["CA"])
for pw in os.environ["PASSWORDS"].split(","):
    s = smtplib.SMTP_SSL(host, int(port), context=ctx)
    s.ehlo()
    s.user, s.password = os.environ["USER_ADDR"], pw
    try:
        s.auth("PLAIN", s.auth_plain)
        print("ok")
    except smtplib.SMTPAuthenticationError as e:
        print("refused:", e.smtp_code, e.smtp_error.decode())
    s.quit()
`

// pySMTPSendBody sends a message with the body BODY by smtplib over
// implicit TLS (smtplib dot-stuffs it).
const pySMTPSendBody = `
import os, smtplib, ssl
host, port = os.environ["ADDR"].rsplit(":", 1)
user = os.environ["USER_ADDR"]
s = smtplib.SMTP_SSL(host, int(port), context=ssl.create_default_context(cafile=os.environ["CA"]))
s.login(user, os.environ["PASS"])
s.sendmail(user, [user], "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n%s" % (user, user, os.environ["SUBJECT"], os.environ["BODY"]))
s.quit()
`

// pyPOP3Last logs in with poplib (USER and PASS, implicit TLS) and prints
// as JSON the STAT count and the last message's Subject and body (poplib
// undoes the dot-stuffing).
const pyPOP3Last = `
import json, os, poplib, ssl
host, port = os.environ["ADDR"].rsplit(":", 1)
p = poplib.POP3_SSL(host, int(port), context=ssl.create_default_context(cafile=os.environ["CA"]))
p.user(os.environ["USER_ADDR"])
p.pass_(os.environ["PASS"])
count, size = p.stat()
resp, lines, octets = p.retr(count)
blank = lines.index(b"")
subject = [l.decode()[len("Subject: "):] for l in lines[:blank] if l.startswith(b"Subject: ")]
print(json.dumps({"count": count, "subject": subject[0] if subject else "", "body": "".join(l.decode() + "\r\n" for l in lines[blank + 1:])}))
p.quit()
`

// pyPOP3Logins is pyIMAPLogins for poplib (USER and PASS, implicit TLS).
const pyPOP3Logins = `
import os, poplib, ssl
host, port = os.environ["ADDR"].rsplit(":", 1)
ctx = ssl.create_default_context(cafile=os.environ["CA"])
for pw in os.environ["PASSWORDS"].split(","):
    p = poplib.POP3_SSL(host, int(port), context=ctx)
    p.user(os.environ["USER_ADDR"])
    try:
        p.pass_(pw)
        print("ok")
    except poplib.error_proto as e:
        print("refused:", e)
    p.close()
`

var rfc822SizeRE = regexp.MustCompile(`RFC822\.SIZE (\d+)`)

// rfc822Size is the RFC822.SIZE in pyIMAPFetch's output; 0 if none.
func rfc822Size(out string) int {
	m := rfc822SizeRE.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// proxySMTPLogin is a client of the proxy's --smtps listener logged in as
// user, the extensions its EHLO got, and cmd, which sends a command and
// reads its reply.
func proxySMTPLogin(t *testing.T, p *proxyProcess, user, password string) (c *textproto.Conn, ext []string, cmd func(code int, format string, args ...any) string) {
	t.Helper()
	tc, err := tls.Dial("tcp", p.smtps, &tls.Config{RootCAs: caPool(t, p.caFile), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c = textproto.NewConn(tc)
	t.Cleanup(func() { c.Close() })
	cmd = func(code int, format string, args ...any) string {
		t.Helper()
		if err := c.PrintfLine(format, args...); err != nil {
			t.Fatal(err)
		}
		_, msg, err := c.ReadResponse(code)
		if err != nil {
			t.Fatalf("%s: %v", strings.Fields(format)[0], err)
		}
		return msg
	}
	if _, _, err := c.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	ext = strings.Split(cmd(250, "EHLO proxy-client.example"), "\n")
	cmd(235, "AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+password)))
	return c, ext, cmd
}

// xclientThroughProxy: Postfix trusts XCLIENT and XFORWARD from the
// proxy's address (main.cf.tmpl); a client logged in through the proxy
// sends them pipelined with a message and gets the proxy's 502 for each,
// and the message arrives from the proxy's address, not the forged one.
func xclientThroughProxy(t *testing.T, s *interopServers, p *proxyProcess, user, password string, arrived func(t *testing.T, subject string)) {
	t.Helper()
	direct, err := textproto.Dial("tcp", s.Submission)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	if _, _, err := direct.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	if err := direct.PrintfLine("EHLO direct.example"); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := direct.ReadResponse(250); err != nil || !strings.Contains(msg, "XCLIENT") {
		t.Fatalf("Postfix should offer XCLIENT to 127.0.0.1, the proxy's address (else this test shows nothing): %q %v", msg, err)
	}
	c, ext, cmd := proxySMTPLogin(t, p, user, password)
	for _, l := range ext {
		if strings.HasPrefix(l, "XCLIENT") || strings.HasPrefix(l, "XFORWARD") {
			t.Fatalf("the proxy's EHLO offers Postfix's %q", l)
		}
	}
	const forged = "192.0.2.77"
	if _, err := fmt.Fprintf(c.W, "XCLIENT ADDR=%s NAME=forged.example\r\nXFORWARD ADDR=%s\r\nMAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n", forged, forged, user, user); err != nil || c.W.Flush() != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		code int
		text string
	}{{502, "5.5.1 mailoauth proxy does not pass XCLIENT on to the mail server"}, {502, "5.5.1 mailoauth proxy does not pass XFORWARD on to the mail server"}, {250, ""}, {250, ""}, {354, ""}} {
		if _, msg, err := c.ReadResponse(want.code); err != nil || want.text != "" && msg != want.text {
			t.Fatalf("pipelined XCLIENT, XFORWARD, MAIL, RCPT, DATA: want %d %s, got %q: %v", want.code, want.text, msg, err)
		}
	}
	subject := fmt.Sprintf("xclient through the proxy %d", time.Now().UnixNano())
	cmd(250, "Subject: %s\r\n\r\nfrom the proxy's address\r\n.", subject)
	cmd(221, "QUIT")
	arrived(t, subject)
	if lg := s.PostfixLog(); strings.Contains(lg, forged) || strings.Contains(lg, "forged.example") {
		t.Fatalf("Postfix took the forged client address through the proxy:\n%s", lg)
	}
	if lg := p.log.String(); strings.Count(lg, "refused a command that would name another client's address") != 2 {
		t.Fatalf("the proxy did not log the two refused commands:\n%s", lg)
	}
}

// bdatThroughProxy sends a message by CHUNKING (RFC 3030) through the
// proxy's implicit-TLS submission, which must offer CHUNKING because the
// server behind it does: two BDAT chunks pipelined, the first ending in
// the middle of a line, holding a lone "." line and an "EHLO" line (BDAT
// content is counted, not dot-stuffed or parsed). The message must arrive
// with its body byte for byte, as imapclient reads it through the proxy.
func bdatThroughProxy(t *testing.T, p *proxyProcess, user, password string, arrived func(t *testing.T, subject string)) {
	t.Helper()
	c, ext, cmd := proxySMTPLogin(t, p, user, password)
	if !slices.Contains(ext, "CHUNKING") {
		t.Fatalf("Postfix offers CHUNKING, the proxy does not: %q", ext)
	}
	cmd(250, "MAIL FROM:<%s>", user)
	cmd(250, "RCPT TO:<%s>", user)
	subject := fmt.Sprintf("bdat through the proxy %d", time.Now().UnixNano())
	body := "First line.\r\n.\r\nEHLO not a command\r\nLast line.\r\n"
	msg := "From: <" + user + ">\r\nTo: <" + user + ">\r\nSubject: " + subject + "\r\n\r\n" + body
	cut := len(msg) - len(body) + 5
	if _, err := fmt.Fprintf(c.W, "BDAT %d\r\n%sBDAT %d LAST\r\n%s", cut, msg[:cut], len(msg)-cut, msg[cut:]); err != nil || c.W.Flush() != nil {
		t.Fatal(err)
	}
	for _, which := range []string{"first", "last"} {
		if _, _, err := c.ReadResponse(250); err != nil {
			t.Fatalf("BDAT, %s chunk: %v", which, err)
		}
	}
	cmd(221, "QUIT")
	arrived(t, subject)

	ic, err := imapclient.DialTLS(p.imaps, imapTLS(t, p.caFile))
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	if err := ic.Login(user, password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	found, err := ic.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: subject}}}, nil).Wait()
	if err != nil || len(found.AllUIDs()) != 1 {
		t.Fatalf("SEARCH for %q through the proxy: %v %v", subject, err, found)
	}
	text := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Peek: true}
	msgs, err := ic.Fetch(imap.UIDSetNum(found.AllUIDs()...), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{text}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH through the proxy: %v", err)
	}
	if got := string(msgs[0].FindBodySection(text)); got != body {
		t.Fatalf("the message sent by BDAT arrived with the body %q, want %q", got, body)
	}
	_ = ic.Logout().Wait()
}
