package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core/coretest"
	"github.com/mailoauth/mailoauth/core/proxy"
	"github.com/mailoauth/mailoauth/store"
)

// proxyProcess is a running `mailoauth proxy` with its IMAP and SMTP
// listeners and the POP3 one with implicit TLS on OS-chosen loopback ports.
type proxyProcess struct {
	imap, imaps, smtp, smtps, pop3s string
	fingerprint                     string
	caFile                          string // the proxy's certificate, for clients to trust
	log                             *coretest.Buffer
	cmd                             *exec.Cmd
	exited                          chan struct{}
}

var proxyListenLine = regexp.MustCompile(`^(IMAP|SMTP submission|POP3) \((STARTTLS|implicit TLS)\) on (\S+) `)

func startProxy(t testing.TB, db string, extra ...string) *proxyProcess {
	t.Helper()
	return startProxyThen(t, db, nil, extra...)
}

// startProxyThen is startProxy calling started (when not nil) as soon as
// the process runs, before it is ready.
func startProxyThen(t testing.TB, db string, started func(*proxyProcess), extra ...string) *proxyProcess {
	t.Helper()
	args := append([]string{"--db", db, "proxy", "--imap", "127.0.0.1:0", "--smtp", "127.0.0.1:0", "--imaps", "127.0.0.1:0", "--smtps", "127.0.0.1:0", "--pop3s", "127.0.0.1:0"}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=")
	p := &proxyProcess{log: &coretest.Buffer{}, cmd: cmd, exited: make(chan struct{})}
	stdout := startPiped(t, cmd, p.log)
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("proxy log:\n%s", p.log.String())
		}
	})
	if started != nil {
		started(p)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("mailoauth proxy exited before it was ready:\n%s", p.log.String())
			}
			if m := proxyListenLine.FindStringSubmatch(l); m != nil {
				switch m[1] + m[2] {
				case "IMAPSTARTTLS":
					p.imap = m[3]
				case "IMAPimplicit TLS":
					p.imaps = m[3]
				case "SMTP submissionSTARTTLS":
					p.smtp = m[3]
				case "POP3implicit TLS":
					p.pop3s = m[3]
				default:
					p.smtps = m[3]
				}
			}
			if f, ok := strings.CutPrefix(l, "certificate SHA-256 fingerprint "); ok {
				p.fingerprint = f
			}
			if strings.HasPrefix(l, "serving ") {
				go func() {
					for range lines {
					}
				}()
				r := mailoauth(t, db, "proxy", "cert")
				if r.code != 0 {
					t.Fatalf("proxy cert: exit %d %s", r.code, r.stderr)
				}
				p.caFile = filepath.Join(t.TempDir(), "proxy.pem")
				if err := os.WriteFile(p.caFile, []byte(r.stdout), 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			}
		case <-timeout:
			t.Fatalf("mailoauth proxy not ready after 30 s:\n%s", p.log.String())
		}
	}
}

// stop sends SIGTERM; the proxy must drain and exit 0.
func (p *proxyProcess) stop(t testing.TB) {
	select {
	case <-p.exited:
		return
	default:
	}
	if code, ok := p.terminate(30 * time.Second); !ok {
		t.Errorf("mailoauth proxy did not stop on SIGTERM")
	} else if code != 0 {
		t.Errorf("mailoauth proxy exited %d on SIGTERM:\n%s", code, p.log.String())
	}
}

// terminate sends SIGTERM and waits up to within for the proxy to exit,
// then kills it; ok is false if it had to.
func (p *proxyProcess) terminate(within time.Duration) (code int, ok bool) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode(), true
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		return -1, false
	}
}

// proxySandboxSetup: a service-account profile against a `mailoauth
// sandbox` process, two mailboxes with proxy passwords.
func proxySandboxSetup(t *testing.T) (sb *sandboxProcess, db string, users []string, passwords map[string]string) {
	t.Helper()
	sb = startSandbox(t, 3, "--delegate")
	db = filepath.Join(t.TempDir(), "mailoauth.db")
	setupStore(t, db, sb.dir, "--key")
	users = []string{"user1@example.test", "user2@example.test"}
	passwords = map[string]string{}
	for _, u := range users {
		r := mailoauth(t, db, "mailbox", "add", u)
		if r.code != 0 {
			t.Fatalf("mailbox add %s: exit %d %s", u, r.code, r.stderr)
		}
		if r = mailoauth(t, db, "proxy", "password", u); r.code != 0 {
			t.Fatalf("proxy password %s: exit %d %s", u, r.code, r.stderr)
		}
		passwords[u] = strings.TrimSpace(r.stdout)
	}
	return sb, db, users, passwords
}

// python runs a Python script with the environment given; it returns its
// output and fails the test if it fails.
func python(t *testing.T, script string, env ...string) string {
	t.Helper()
	requirePrograms(t, "python3")
	out, err := runProgram(append(os.Environ(), env...), "", "python3", "-c", script)
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return out
}

const pyIMAPFetch = `
import imaplib, os, ssl
host, port = os.environ["ADDR"].rsplit(":", 1)
ctx = ssl.create_default_context(cafile=os.environ["CA"])
m = imaplib.IMAP4_SSL(host, int(port), ssl_context=ctx)
m.login(os.environ["USER_ADDR"], os.environ["PASS"])
typ, data = m.select("INBOX")
assert typ == "OK", data
typ, data = m.search(None, "SUBJECT", '"%s"' % os.environ["SUBJECT"])
assert typ == "OK" and data[0], ("not found", data)
num = data[0].split()[-1].decode()
typ, data = m.fetch(num, "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
assert typ == "OK", data
print(data[0][0].decode())
print(data[0][1].decode().strip())
m.logout()
`

const pySMTPSend = `
import os, smtplib, ssl
host, port = os.environ["ADDR"].rsplit(":", 1)
ctx = ssl.create_default_context(cafile=os.environ["CA"])
user = os.environ["USER_ADDR"]
line = "x" * 998 + "\r\n"
body = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n" % (user, user, os.environ["SUBJECT"])) + line * (10 * 1024 * 1024 // len(line) + 1)
if os.environ.get("STARTTLS"):
    s = smtplib.SMTP(host, int(port))
    s.starttls(context=ctx)
else:
    s = smtplib.SMTP_SSL(host, int(port), context=ctx)
s.login(user, os.environ["PASS"])
s.sendmail(user, [user], body)
s.quit()
print("sent", len(body))
`

// pyPOP3Retr tries a wrong password with poplib, then logs in with the
// right one and prints STAT and the last message's Subject and size.
const pyPOP3Retr = `
import os, poplib, ssl
host, port = os.environ["ADDR"].rsplit(":", 1)
ctx = ssl.create_default_context(cafile=os.environ["CA"])
p = poplib.POP3_SSL(host, int(port), context=ctx)
p.user(os.environ["USER_ADDR"])
try:
    p.pass_("not-the-proxy-password")
    raise SystemExit("a wrong password was accepted")
except poplib.error_proto as e:
    print("refused:", e)
p.user(os.environ["USER_ADDR"])
p.pass_(os.environ["PASS"])
count, size = p.stat()
print("stat", count, size)
resp, lines, octets = p.retr(count)
print([l.decode() for l in lines if l.startswith(b"Subject:")][0])
print("whole" if octets >= 10 * 1024 * 1024 else "short: %d octets" % octets)
p.quit()
`

// TestProxyPythonClients: Python's smtplib logs in to the proxy and sends
// a 10 MB message (implicit TLS and STARTTLS), and imaplib logs in,
// selects and fetches it whole-size, and poplib retrieves it, against the
// sandbox, which takes no password itself. The proxy's fingerprint is the certificate's, and every
// login is in the audit log.
func TestProxyPythonClients(t *testing.T) {
	sb, db, users, pw := proxySandboxSetup(t)
	_ = sb
	p := startProxy(t, db)
	blk, _ := pem.Decode([]byte(mustRead(t, p.caFile)))
	if blk == nil {
		t.Fatal("proxy cert printed no PEM certificate")
	}
	if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(blk.Bytes)
	if want := strings.ToUpper(fmt.Sprintf("% x", sum[:])); strings.ReplaceAll(want, " ", ":") != p.fingerprint {
		t.Fatalf("printed fingerprint %s is not the certificate's %s", p.fingerprint, want)
	}
	user := users[0]
	for _, c := range []struct{ addr, starttls string }{{p.smtps, ""}, {p.smtp, "1"}} {
		subject := fmt.Sprintf("ten megabytes %s %d", c.addr, time.Now().UnixNano())
		env := []string{"CA=" + p.caFile, "USER_ADDR=" + user, "PASS=" + pw[user], "SUBJECT=" + subject}
		python(t, pySMTPSend, append(env, "ADDR="+c.addr, "STARTTLS="+c.starttls)...)
		out := python(t, pyIMAPFetch, append(env, "ADDR="+p.imaps)...)
		if size := rfc822Size(out); size < 10*1024*1024 || !strings.Contains(out, "Subject: "+subject) {
			t.Fatalf("imaplib through the proxy: want the 10 MB message %q, got size %d:\n%s", subject, size, out)
		}
	}
	// poplib reads the last of them by POP3, after a wrong password refused
	out := python(t, pyPOP3Retr, "ADDR="+p.pop3s, "CA="+p.caFile, "USER_ADDR="+user, "PASS="+pw[user])
	if !strings.Contains(out, "refused: b'-ERR [AUTH] Invalid credentials'") || !strings.Contains(out, "stat 2 ") ||
		!strings.Contains(out, "Subject: ten megabytes "+p.smtp) || !strings.Contains(out, "whole") {
		t.Fatalf("poplib through the proxy: want a wrong password refused, 2 messages and the last one whole:\n%s", out)
	}
	p.stop(t)
	st, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := st.Audit("example.test", 0)
	if err != nil {
		t.Fatal(err)
	}
	logins := 0
	for _, e := range entries {
		if e.Action == "proxy.login" && strings.Contains(e.Detail, user+" from 127.0.0.1: ok") {
			logins++
		}
		if strings.Contains(e.Detail, pw[user]) {
			t.Fatalf("the audit log holds the proxy password: %+v", e)
		}
	}
	if logins != 5 {
		t.Fatalf("want 5 audited proxy logins (2 SMTP, 2 IMAP, 1 POP3), got %d: %+v", logins, entries)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestProxyMsmtpAndCurl: msmtp (auth plain, STARTTLS) and curl (SMTP,
// IMAP and POP3 with --user) send and read through the proxy.
func TestProxyMsmtpAndCurl(t *testing.T) {
	requirePrograms(t, "msmtp", "curl")
	_, db, users, pw := proxySandboxSetup(t)
	p := startProxy(t, db)
	// The sandbox has a message once its SMTP server accepted it.
	msmtpAndCurlThroughProxy(t, p, users[1], pw[users[1]], nil)

	// curl reads them by POP3 with --user; a wrong password is refused
	pop := func(path, password string) (string, error) {
		return runProgram(nil, "", "curl", "-sS", "--cacert", p.caFile, "--user", users[1]+":"+password, "--url", "pop3s://"+p.pop3s+path)
	}
	if out, err := pop("/", pw[users[1]]); err != nil || len(strings.Fields(out)) != 4 {
		t.Fatalf("curl POP3 LIST through the proxy: want 2 messages, got %v\n%s", err, out)
	}
	if out, err := pop("/1", pw[users[1]]); err != nil || !strings.Contains(out, "Subject: msmtp through the proxy") {
		t.Fatalf("curl POP3 RETR 1 through the proxy: %v\n%s", err, out)
	}
	if out, err := pop("/", "not-the-proxy-password"); err == nil || !strings.Contains(out, "Login denied") {
		t.Fatalf("curl POP3 with a wrong password: want it refused, got %v\n%s", err, out)
	}
}

// msmtpAndCurlThroughProxy sends a message with msmtp (auth plain,
// STARTTLS) and one with curl (smtps, --user) through the proxy, and
// finds and fetches each with curl (imaps, --user). arrived, if not nil,
// waits until the server delivered a sent message.
func msmtpAndCurlThroughProxy(t *testing.T, p *proxyProcess, user, password string, arrived func(t *testing.T, subject string)) {
	t.Helper()
	requirePrograms(t, "msmtp", "curl")
	conf := filepath.Join(t.TempDir(), "msmtprc")
	rc := fmt.Sprintf("account default\nhost 127.0.0.1\nport %s\ntls on\ntls_starttls on\ntls_trust_file %s\nauth plain\nuser %s\npassword %s\nfrom %s\n",
		port(p.smtp), p.caFile, user, password, user)
	if err := os.WriteFile(conf, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	msmtpSubject := fmt.Sprintf("msmtp through the proxy %d", time.Now().UnixNano())
	if out, err := runProgram(nil, messageText(user, msmtpSubject), "msmtp", "-C", conf, user); err != nil {
		t.Fatalf("msmtp auth plain through the proxy: %v\n%s", err, out)
	}
	curlSubject := fmt.Sprintf("curl through the proxy %d", time.Now().UnixNano())
	out, err := runProgram(nil, "", "curl", "-sS", "--cacert", p.caFile, "--url", "smtps://"+p.smtps, "--user", user+":"+password,
		"--mail-from", user, "--mail-rcpt", user, "--upload-file", writeMessage(t, user, curlSubject))
	if err != nil {
		t.Fatalf("curl SMTP through the proxy: %v\n%s", err, out)
	}
	for _, subject := range []string{msmtpSubject, curlSubject} {
		if arrived != nil {
			arrived(t, subject)
		}
		out, err := runProgram(nil, "", "curl", "-sS", "--cacert", p.caFile, "--user", user+":"+password,
			"--url", "imaps://"+p.imaps+"/INBOX", "--request", `SEARCH SUBJECT "`+subject+`"`)
		n := strings.Fields(strings.TrimPrefix(strings.TrimSpace(out), "* SEARCH"))
		if err != nil || len(n) != 1 {
			t.Fatalf("curl IMAP SEARCH through the proxy for %q: %v\n%s", subject, err, out)
		}
		out, err = runProgram(nil, "", "curl", "-sS", "--cacert", p.caFile, "--user", user+":"+password,
			"--url", "imaps://"+p.imaps+"/INBOX;MAILINDEX="+n[0])
		if err != nil || !strings.Contains(out, "Subject: "+subject) {
			t.Fatalf("curl IMAP FETCH through the proxy: %v\n%s", err, out)
		}
	}
}

// pyIMAPLogins logs in with imaplib once per password in PASSWORDS
// (comma-separated) and prints "ok" or "refused: " and the server's words
// for each.
const pyIMAPLogins = `
import imaplib, os, ssl
host, port = os.environ["ADDR"].rsplit(":", 1)
ctx = ssl.create_default_context(cafile=os.environ["CA"])
for pw in os.environ["PASSWORDS"].split(","):
    m = imaplib.IMAP4_SSL(host, int(port), ssl_context=ctx)
    try:
        m.login(os.environ["USER_ADDR"], pw)
        m.select("INBOX")
        print("ok")
        m.logout()
    except imaplib.IMAP4.error as e:
        print("refused:", e)
`

// TestProxyWrongPasswordAndRevokedToken: wrong proxy passwords are refused,
// the fifth locks the address out (logged); after the sandbox revoked the
// cached token the proxy mints a fresh one; without the delegation the
// client gets the finding's code and the log the fix.
func TestProxyWrongPasswordAndRevokedToken(t *testing.T) {
	sb, db, users, pw := proxySandboxSetup(t)
	p := startProxy(t, db)
	user := users[0]
	env := []string{"CA=" + p.caFile, "USER_ADDR=" + user, "ADDR=" + p.imaps}
	out := python(t, pyIMAPLogins, append(env, "PASSWORDS="+pw[user])...)
	if strings.TrimSpace(out) != "ok" {
		t.Fatalf("right password: %s", out)
	}
	sb.admin(t, "POST", "/revoke", map[string]any{"email": user})
	if out = python(t, pyIMAPLogins, append(env, "PASSWORDS="+pw[user])...); strings.TrimSpace(out) != "ok" {
		t.Fatalf("after POST /admin/revoke the proxy should mint a fresh token: %s", out)
	}
	sb.admin(t, "DELETE", "/delegation?client_id="+sb.clientID, nil)
	sb.admin(t, "POST", "/revoke", map[string]any{"email": user})
	out = python(t, pyIMAPLogins, append(env, "PASSWORDS="+pw[user])...)
	if !strings.Contains(out, "[AUTHENTICATIONFAILED] mailoauth: delegation_not_authorized, see the log") {
		t.Fatalf("without the delegation: want the mapped refusal, got %s", out)
	}
	if lg := p.log.String(); !strings.Contains(lg, "code=delegation_not_authorized") || !strings.Contains(lg, "add client ID "+sb.clientID) {
		t.Fatalf("the log should name the finding and its fix:\n%s", lg)
	}
	out = python(t, pyIMAPLogins, append(env, "PASSWORDS=wrong1,wrong2,wrong3,wrong4,wrong5,"+pw[user])...)
	got := strings.Split(strings.TrimSpace(out), "\n")
	if len(got) != 6 || strings.Count(out, "AUTHENTICATIONFAILED] Invalid credentials") != 5 || !strings.Contains(got[5], "too many wrong passwords") {
		t.Fatalf("five wrong passwords then the right one: want five refusals and a lockout, got:\n%s", out)
	}
	if !strings.Contains(p.log.String(), "locked out") {
		t.Fatalf("the lockout is not logged:\n%s", p.log.String())
	}
}

// proxyNeomuttrc is a ~/.neomuttrc for the proxy with the mailbox's proxy
// password (STARTTLS listeners), plus what a test needs.
func proxyNeomuttrc(t *testing.T, p *proxyProcess, user, password string) string {
	t.Helper()
	return neomuttAccount{user: user, ca: p.caFile, imap: p.imap, smtp: p.smtp, starttls: true, password: password}.write(t)
}

// TestProxyNeomutt is the proxy's acceptance: against the sandbox with a
// service-account profile (Gmail-sized delegation tokens), NeoMutt cannot
// send with OAuth itself (it puts the token on the AUTH line, which Gmail
// refuses as too long), but with a password through mailoauth proxy it
// sends a message and reads it back.
func TestProxyNeomutt(t *testing.T) {
	requirePrograms(t, "neomutt")
	sb, db, users, pw := proxySandboxSetup(t)
	user := users[0]
	// The README's OAuth neomuttrc pointed straight at the sandbox's
	// Gmail-like servers.
	oauthRC := neomuttAccount{user: user, ca: filepath.Join(sb.dir, "ca.pem"), imap: sb.endpoints.IMAP, smtp: sb.endpoints.SMTP, mechs: "xoauth2"}.write(t)
	out, err := runProgram(storeEnv(db, t.TempDir()), "Hello.\n", "neomutt", "-n", "-F", oauthRC, "-s", "direct", "--", user)
	if strings.HasPrefix(neomuttVersion(), "NeoMutt 20220429") {
		// It tries XOAUTH2 with the ~1,000-character token on the AUTH
		// line, and Gmail's line limit refuses that line, not the token.
		_, refusal := recipeWorks("neomutt smtp xoauth2", tokDelegation, true)
		if err == nil || sb.messages(t, user) != 0 || !strings.Contains(out, "Authenticating (XOAUTH2)") || !strings.Contains(out, refusal) {
			t.Fatalf("NeoMutt 20220429 should fail to send by XOAUTH2 with a delegation token straight to the sandbox with %q: %v\n%s", refusal, err, out)
		}
		t.Logf("NeoMutt with OAuth, directly: %v: %s", err, strings.TrimSpace(out))
	}

	p := startProxy(t, db)
	rc := proxyNeomuttrc(t, p, user, pw[user])
	subject, _ := neomuttSend(t, rc, db, user, "through the proxy")
	piped, screen, err := neomuttRead(t, rc, db)
	if err != nil || !strings.Contains(piped, "Subject: "+subject) {
		t.Fatalf("neomutt reading through the proxy did not see %q: %v\npiped: %.2000q\n%s", subject, err, piped, screen)
	}
	if n := strings.Count(p.log.String(), `msg="proxy: login" protocol=`); n != 2 {
		t.Fatalf("want NeoMutt's SMTP and IMAP logins in the proxy log, got %d:\n%s", n, p.log.String())
	}
}

// messages is how many messages the sandbox holds for the user (GET /admin/state).
func (s *sandboxProcess) messages(t *testing.T, user string) int {
	t.Helper()
	var st struct {
		Users []struct {
			Email    string `json:"email"`
			Messages int    `json:"messages"`
		} `json:"users"`
	}
	s.adminState(t, &st)
	for _, u := range st.Users {
		if u.Email == user {
			return u.Messages
		}
	}
	t.Fatalf("the sandbox has no user %s", user)
	return 0
}

// TestProxyReloadOnSIGHUP: a mailbox added while the proxy runs is served
// after SIGHUP; a rotated password works at once and the old one no longer.
func TestProxyReloadOnSIGHUP(t *testing.T) {
	_, db, users, pw := proxySandboxSetup(t)
	p := startProxy(t, db)
	const pyIMAPLogins = `
import imaplib, os, ssl
host, port = os.environ["ADDR"].rsplit(":", 1)
m = imaplib.IMAP4_SSL(host, int(port), ssl_context=ssl.create_default_context(cafile=os.environ["CA"]))
try:
    m.login(os.environ["USER_ADDR"], os.environ["PASS"])
    print("ok")
except imaplib.IMAP4.error as e:
    print("refused:", e)
`
	login := func(user, password string) string {
		return strings.TrimSpace(python(t, pyIMAPLogins, "ADDR="+p.imaps, "CA="+p.caFile, "USER_ADDR="+user, "PASS="+password))
	}
	newUser := "user3@example.test"
	if r := mailoauth(t, db, "mailbox", "add", newUser); r.code != 0 {
		t.Fatalf("mailbox add: %s", r.stderr)
	}
	r := mailoauth(t, db, "proxy", "password", newUser)
	if r.code != 0 {
		t.Fatalf("proxy password: %s", r.stderr)
	}
	newPW := strings.TrimSpace(r.stdout)
	if got := login(newUser, newPW); got == "ok" {
		t.Fatal("a mailbox added after the start was served before SIGHUP")
	}
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.log.String(), "reloaded profiles and mailboxes") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP:\n%s", p.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := login(newUser, newPW); got != "ok" {
		t.Fatalf("after SIGHUP the new mailbox should log in: %s", got)
	}
	user := users[0]
	if r = mailoauth(t, db, "proxy", "password", user); r.code != 2 || !strings.Contains(r.stderr, "--rotate") {
		t.Fatalf("a second proxy password without --rotate: want exit 2 naming --rotate, got %d %s", r.code, r.stderr)
	}
	if r = mailoauth(t, db, "proxy", "password", user, "--rotate"); r.code != 0 {
		t.Fatalf("--rotate: %d %s", r.code, r.stderr)
	}
	rotated := strings.TrimSpace(r.stdout)
	if got := login(user, pw[user]); got == "ok" {
		t.Fatal("the old proxy password still works after --rotate")
	}
	if got := login(user, rotated); got != "ok" {
		t.Fatalf("the rotated password: %s", got)
	}
}

// TestUpgradeViaProxy: `upgrade --yes --via-proxy` moves a password setup
// of a product that cannot do OAuth to the proxy: each upgraded mailbox
// gets a proxy password, checked through a proxy before the product's new
// settings are printed; the printed password then works through
// `mailoauth proxy` for a password-only client (imaplib). No proxy
// password is lost: a failed check saves none, and a mailbox that has one
// keeps it.
func TestUpgradeViaProxy(t *testing.T) {
	sb := startSandbox(t, 3, "--delegate")
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	legacyFile, _ := writeLegacy(t, t.TempDir(), 2)
	r := mailoauth(t, db, "upgrade", "--yes", "--via-proxy", "--proxy-imap", "mail-gw.example.test:1993", "--proxy-smtp", "mail-gw.example.test:1587",
		"--legacy", legacyFile, "--key", filepath.Join(sb.dir, "service-account.json"), "--endpoints", filepath.Join(sb.dir, "endpoints.json"),
		"--checks", "token,imap,smtp")
	if r.code != 0 {
		t.Fatalf("upgrade --via-proxy: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"IMAP server     mail-gw.example.test:1993 STARTTLS", "SMTP server     mail-gw.example.test:1587 STARTTLS",
		"user name       the mailbox address", "certificate     SHA-256 "} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("upgrade --via-proxy should print %q:\n%s", want, r.stdout)
		}
	}
	pw := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^proxy +(\S+) +password (\S+) +\(checked through the proxy`).FindAllStringSubmatch(r.stdout, -1) {
		pw[m[1]] = m[2]
	}
	if len(pw) != 2 {
		t.Fatalf("want a checked proxy password for each of the 2 mailboxes:\n%s", r.stdout)
	}
	p := startProxy(t, db)
	for user, password := range pw {
		subject := "after the upgrade " + user
		env := []string{"CA=" + p.caFile, "USER_ADDR=" + user, "PASS=" + password, "SUBJECT=" + subject}
		python(t, strings.Replace(pySMTPSend, "10 * 1024 * 1024", "1024", 1), append(env, "ADDR="+p.smtp, "STARTTLS=1")...)
		if out := python(t, pyIMAPFetch, append(env, "ADDR="+p.imaps)...); !strings.Contains(out, "Subject: "+subject) {
			t.Fatalf("%s through the proxy with the upgrade's password:\n%s", user, out)
		}
	}
	// A mailbox whose check through the proxy fails (IMAP switched off
	// after an OAuth check that did not log in to IMAP) gets no password
	// printed, and the run exits 1 with the finding's code; with no
	// mailbox through, no settings are printed either.
	legacy3, _ := writeLegacy(t, t.TempDir(), 3)
	f := false
	sb.admin(t, "POST", "/users", map[string]any{"email": "user3@example.test", "imap": &f})
	rr := mailoauth(t, db, "upgrade", "--yes", "--via-proxy", "--legacy", legacy3, "--checks", "token")
	if rr.code != 1 || !strings.Contains(rr.stdout, "proxy     user3@example.test: the check through the proxy failed") ||
		!strings.Contains(rr.stdout, "imap_disabled") || regexp.MustCompile(`user3@example.test +password`).MatchString(rr.stdout) {
		t.Fatalf("a failing check through the proxy: want exit 1, the finding and no password, got %d\n%s%s", rr.code, rr.stdout, rr.stderr)
	}
	for _, setting := range []string{"new settings", "IMAP server", "SMTP server", "certificate"} {
		if strings.Contains(rr.stdout, setting) {
			t.Fatalf("no mailbox passed its check through the proxy, yet the run printed the product's settings (%q):\n%s", setting, rr.stdout)
		}
	}
	// The failed check left no password behind that nobody knows: user3
	// has none, so a plain `proxy password` makes its first one.
	if r := mailoauth(t, db, "proxy", "password", "user3@example.test"); r.code != 0 {
		t.Fatalf("after its failed check through the proxy user3 should have no proxy password; `proxy password` exits %d: %s", r.code, r.stderr)
	}
	// A mailbox that already has a proxy password (a product may log in
	// with it) keeps it: the upgrade checks the mailbox through the proxy
	// but neither replaces its password nor shows a new one.
	sb.admin(t, "POST", "/users", map[string]any{"email": "user4@example.test", "suspended": true})
	legacy4, _ := writeLegacy(t, t.TempDir(), 4)
	if r := mailoauth(t, db, "upgrade", "--yes", "--legacy", legacy4, "--checks", "token"); r.code != 1 || !strings.Contains(r.stdout, "pending   user4@example.test") {
		t.Fatalf("a suspended user4 should stay pending: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = mailoauth(t, db, "proxy", "password", "user4@example.test")
	if r.code != 0 {
		t.Fatalf("proxy password user4: %d %s", r.code, r.stderr)
	}
	pw4 := strings.TrimSpace(r.stdout)
	sb.admin(t, "POST", "/users", map[string]any{"email": "user4@example.test", "suspended": false})
	r = mailoauth(t, db, "upgrade", "--yes", "--via-proxy", "--legacy", legacy4, "--checks", "token")
	if r.code != 0 || !strings.Contains(r.stdout, "user4@example.test  keeps its existing proxy password") ||
		!strings.Contains(r.stdout, "IMAP server") || regexp.MustCompile(`user4@example.test +password`).MatchString(r.stdout) {
		t.Fatalf("user4 should pass, keep its proxy password and get no new one: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	p4 := startProxy(t, db)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := proxy.CheckLogin(ctx, p4.imap, p4.smtp, &tls.Config{RootCAs: caPool(t, p4.caFile), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		"user4@example.test", pw4); err != nil {
		t.Fatalf("user4's proxy password from before the upgrade no longer logs in: %v", err)
	}
}

// The proxy's systemd unit is hardened like the others and passes
// systemd-analyze verify where it is installed.
func TestProxyUnitIsHardened(t *testing.T) {
	checkHardenedUnit(t, "mailoauth-proxy.service", "mailoauth proxy --imap 127.0.0.1:1993 --smtp 127.0.0.1:1587")
}
