package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/coretest"
)

// clockStart is where the tests' fake clocks start.
var clockStart = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// imapLogin sends a LOGIN on a raw IMAP connection and returns the reply
// lines up to the tagged one (or up to the connection's end).
func imapLogin(t testing.TB, w io.Writer, br *bufio.Reader, tag, user, password string) []string {
	t.Helper()
	if _, err := fmt.Fprintf(w, "%s LOGIN %q %q\r\n", tag, user, password); err != nil {
		return nil
	}
	var lines []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return lines
		}
		lines = append(lines, strings.TrimRight(line, "\r\n"))
		if strings.HasPrefix(line, tag+" ") {
			return lines
		}
	}
}

// TestProxyRefusedLoginsCloseConnection: after maxRefusedLogins refused
// logins, IMAP, SMTP and POP3 close the connection instead of taking more
// passwords.
func TestProxyRefusedLoginsCloseConnection(t *testing.T) {
	f := startFixture(t, Config{FailLimit: 100})
	user := f.sb.Users()[0]

	conn, br := f.rawIMAP(t)
	for i := 0; i < maxRefusedLogins; i++ {
		got := imapLogin(t, conn, br, fmt.Sprintf("a%d", i), user, "wrong")
		if len(got) == 0 || got[len(got)-1] != fmt.Sprintf("a%d NO [AUTHENTICATIONFAILED] Invalid credentials", i) {
			t.Fatalf("IMAP wrong password %d: got %q", i, got)
		}
	}
	if line, err := br.ReadString('\n'); line != "* BYE mailoauth proxy: too many refused logins\r\n" {
		t.Fatalf("IMAP after %d refused logins: want the BYE, got %q %v", maxRefusedLogins, line, err)
	}
	if got := imapLogin(t, conn, br, "z", user, f.password[user]); len(got) != 0 {
		t.Fatalf("IMAP: the connection still takes logins: %q", got)
	}

	c, _ := ehlo(t, f, f.smtpPlain, false)
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00wrong"))
	for i := 0; i < maxRefusedLogins; i++ {
		if err := c.PrintfLine("AUTH PLAIN %s", plain); err != nil {
			t.Fatal(err)
		}
		expect(t, c, 535, "")
	}
	expect(t, c, 421, "4.7.0 mailoauth proxy: too many refused logins, closing")

	p := f.dialPOP3(t, f.pop3Plain, false)
	for i := 0; i < maxRefusedLogins; i++ {
		p.want("USER", p.say("USER "+user), "+OK send PASS")
		p.want("PASS", p.say("PASS wrong"), "-ERR [AUTH] Invalid credentials")
	}
	p.want("after the refusals", p.line(), "-ERR mailoauth proxy: too many refused logins")
}

// TestProxyLockedOutReportedOncePerMinute: an address that is locked out
// and keeps trying gets one audit entry and one log line per minute, the
// next one saying how many attempts were refused meanwhile.
func TestProxyLockedOutReportedOncePerMinute(t *testing.T) {
	clock := coretest.NewClock(clockStart)
	f := startFixture(t, Config{Now: clock.Now})
	user := f.sb.Users()[0]
	attempt := func(password string) string {
		conn, br := f.rawIMAP(t)
		got := imapLogin(t, conn, br, "a", user, password)
		conn.Close()
		if len(got) == 0 {
			t.Fatal("no reply to the LOGIN")
		}
		return got[len(got)-1]
	}
	for i := 0; i < DefaultFailLimit; i++ {
		attempt("wrong")
	}
	const hammer = 10
	for i := 0; i < hammer; i++ {
		if got := attempt("wrong"); !strings.Contains(got, "too many wrong passwords") {
			t.Fatalf("attempt %d while locked out: %q", i, got)
		}
	}
	locked := func(l Login) bool { return strings.Contains(l.Reason, "locked out") }
	if n := f.auditedCount(locked); n != 1 {
		t.Fatalf("%d attempts while locked out: want 1 audit entry, got %d: %+v", hammer, n, f.audited())
	}
	if n := strings.Count(f.log.String(), "login refused"); n != DefaultFailLimit+1 {
		t.Fatalf("want %d \"login refused\" log lines, got %d:\n%s", DefaultFailLimit+1, n, f.log.String())
	}
	clock.Advance(lockedReportEvery + time.Second)
	attempt("wrong")
	var last Login
	for _, l := range f.audited() {
		if locked(l) {
			last = l
		}
	}
	if want := fmt.Sprintf("still locked out, %d attempts refused since 12:00:00 UTC", hammer); last.Reason != want {
		t.Fatalf("the next report: want reason %q, got %+v", want, last)
	}
}

// TestProxyLongUserNameCapped: a user name of 8 KB is neither logged nor
// audited whole.
func TestProxyLongUserNameCapped(t *testing.T) {
	f := startFixture(t, Config{})
	conn, br := f.rawIMAP(t)
	long := strings.Repeat("x", 8000)
	got := imapLogin(t, conn, br, "a", long, "pw")
	if len(got) == 0 || got[len(got)-1] != "a NO [AUTHENTICATIONFAILED] Invalid credentials" {
		t.Fatalf("LOGIN with an 8 KB user name: %q", got)
	}
	a := f.audited()
	if len(a) != 1 {
		t.Fatalf("want one audit entry, got %d", len(a))
	}
	if len(a[0].Mailbox) > core.MaxAddressLen+30 {
		t.Fatalf("the audited user name has %d bytes, want at most %d", len(a[0].Mailbox), core.MaxAddressLen+30)
	}
	if strings.Contains(f.log.String(), strings.Repeat("x", core.MaxAddressLen+1)) {
		t.Fatalf("the log holds the whole 8 KB user name")
	}
}

// TestProxyUserNameNotAMailboxNotLogged: a user name that is not an e-mail
// address (often the password, typed in the wrong field) is neither
// logged nor audited as it is, but as its length and a fingerprint that is
// the same for the same name; an address is logged as it is.
func TestProxyUserNameNotAMailboxNotLogged(t *testing.T) {
	f := startFixture(t, Config{FailLimit: 100})
	const typed = "Summer-2026-pw" // 14 chars
	for range 2 {
		conn, br := f.rawIMAP(t)
		imapLogin(t, conn, br, "a", typed, "x")
		imapLogin(t, conn, br, "b", "nobody@example.test", "x")
		conn.Close()
	}
	a := f.audited()
	if len(a) != 4 {
		t.Fatalf("want 4 audit entries, got %+v", a)
	}
	if !strings.HasPrefix(a[0].Mailbox, "<not a mailbox, 14 chars, ") || a[0].Mailbox != a[2].Mailbox {
		t.Fatalf("the name that is not an address: audited as %q and %q, want the same <not a mailbox, 14 chars, ...>", a[0].Mailbox, a[2].Mailbox)
	}
	if a[1].Mailbox != "nobody@example.test" {
		t.Fatalf("an address that is not served: audited as %q, want it as it is", a[1].Mailbox)
	}
	lower := strings.ToLower(typed) // the proxy lower-cases user names
	if strings.Contains(strings.ToLower(f.log.String()), lower) || strings.Contains(strings.ToLower(fmt.Sprint(a)), lower) {
		t.Fatalf("the typed name is in the log or the audit:\n%s\n%+v", f.log.String(), a)
	}
}

// TestProxyParallelLoginsCannotBeatLockout: wrong passwords sent at once
// on many connections from one address are verified only up to the
// limit; the others are refused as locked out.
func TestProxyParallelLoginsCannotBeatLockout(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	const parallel = 20
	type rawConn struct {
		w  io.Writer
		br *bufio.Reader
	}
	conns := make([]rawConn, parallel)
	for i := range conns {
		conn, br := f.rawIMAP(t)
		conns[i] = rawConn{conn, br}
	}
	replies := make([]string, parallel)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			if got := imapLogin(t, c.w, c.br, "a", user, fmt.Sprint("wrong-", i)); len(got) > 0 {
				replies[i] = got[len(got)-1]
			}
		})
	}
	wg.Wait()
	verified, locked := 0, 0
	for _, r := range replies {
		switch {
		case r == "a NO [AUTHENTICATIONFAILED] Invalid credentials":
			verified++
		case strings.HasPrefix(r, "a NO [UNAVAILABLE] mailoauth: too many wrong passwords"):
			locked++
		default:
			t.Fatalf("unexpected reply %q", r)
		}
	}
	if verified != DefaultFailLimit || locked != parallel-DefaultFailLimit {
		t.Fatalf("%d wrong passwords at once: want %d verified and refused, %d locked out; got %d and %d",
			parallel, DefaultFailLimit, parallel-DefaultFailLimit, verified, locked)
	}
}

// lockoutFixture is a proxy on a fake clock and a LOGIN from a new
// connection each time (a connection takes only maxRefusedLogins), which
// returns the tagged reply.
func lockoutFixture(t *testing.T) (f *fixture, clock *coretest.Clock, user string, login func(password string) string) {
	clock = coretest.NewClock(clockStart)
	f = startFixture(t, Config{Now: clock.Now})
	user = f.sb.Users()[0]
	return f, clock, user, func(password string) string {
		conn, br := f.rawIMAP(t)
		defer conn.Close()
		got := imapLogin(t, conn, br, "a", user, password)
		if len(got) == 0 {
			t.Fatal("no reply to the LOGIN")
		}
		return got[len(got)-1]
	}
}

// TestProxyFailuresOutsideTheWindowDoNotLock: 4 wrong passwords, a
// minute, 4 more: the address is not locked out.
func TestProxyFailuresOutsideTheWindowDoNotLock(t *testing.T) {
	f, clock, user, login := lockoutFixture(t)
	for range 2 {
		for i := 0; i < DefaultFailLimit-1; i++ {
			if got := login("wrong"); got != "a NO [AUTHENTICATIONFAILED] Invalid credentials" {
				t.Fatalf("wrong password: %q", got)
			}
		}
		clock.Advance(DefaultFailWindow + time.Second)
	}
	if got := login(f.password[user]); !strings.HasPrefix(got, "a OK ") {
		t.Fatalf("the right password after 2 x %d wrong ones a minute apart: %q", DefaultFailLimit-1, got)
	}
}

// TestProxyLockoutEnds: locked out, the right password is refused; once
// the lockout is over it works.
func TestProxyLockoutEnds(t *testing.T) {
	f, clock, user, login := lockoutFixture(t)
	for range DefaultFailLimit {
		login("wrong")
	}
	if got := login(f.password[user]); !strings.Contains(got, "too many wrong passwords") {
		t.Fatalf("the right password while locked out: %q", got)
	}
	clock.Advance(DefaultLockout)
	if got := login(f.password[user]); !strings.HasPrefix(got, "a OK ") {
		t.Fatalf("the right password after the lockout: %q", got)
	}
}

// TestProxyLockoutsForgotten: addresses locked out are forgotten once
// their lockout is over, so the failures kept do not grow forever.
func TestProxyLockoutsForgotten(t *testing.T) {
	clock := coretest.NewClock(clockStart)
	srv := New(Config{Directory: &mapDir{}, Now: clock.Now})
	fail := func(client string) {
		if le := srv.reserve(client); le != nil {
			t.Fatalf("%s: refused before its failures: %v", client, le)
		}
		srv.settle(client, true)
	}
	const clients = 100
	for i := range clients {
		for range DefaultFailLimit {
			fail(fmt.Sprintf("192.0.2.%d", i))
		}
	}
	if srv.lockedOut("192.0.2.7") == nil {
		t.Fatal("an address with 5 wrong passwords is not locked out")
	}
	clock.Advance(DefaultLockout + time.Second)
	fail("198.51.100.1")
	srv.mu.Lock()
	n := len(srv.fails)
	srv.mu.Unlock()
	if n != 1 {
		t.Fatalf("after the lockouts ended: %d addresses kept, want 1", n)
	}
}

// errTooManyFiles is an Accept error as out of file descriptors gives it:
// temporary, not a timeout.
var errTooManyFiles = &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}

// failingListener fails its first Accepts with err.
type failingListener struct {
	net.Listener
	mu    sync.Mutex
	fails int
	err   error
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.fails > 0 {
		l.fails--
		l.mu.Unlock()
		return nil, l.err
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

// TestProxyServesOnAfterTooManyFiles: Accept failing for want of file
// descriptors does not stop the listener; it serves once they are back.
func TestProxyServesOnAfterTooManyFiles(t *testing.T) {
	cert, _ := testCertificate(t)
	srv := New(Config{Directory: &mapDir{}, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- srv.Serve(&failingListener{Listener: ln, fails: 5, err: errTooManyFiles}, IMAP, core.SecurityStartTLS)
	}()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()); <-served })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if !strings.HasPrefix(line, "* OK ") {
		t.Fatalf("greeting after the Accept errors: %q %v (Serve ended: %v)", line, err, len(served) > 0)
	}
}

// TestProxyLongInternationalAddressLookedUp: an internationalized address
// within core's limit in characters but over it in bytes is still looked
// up, not refused as an unknown mailbox.
func TestProxyLongInternationalAddressLookedUp(t *testing.T) {
	f := startFixture(t, Config{})
	long := strings.Repeat("é", 130) + "@" + f.sb.Domain()
	if len(long) <= core.MaxAddressLen || utf8.RuneCountInString(long) > core.MaxAddressLen {
		t.Fatalf("the test address has %d bytes and %d characters", len(long), utf8.RuneCountInString(long))
	}
	f.dir.mu.Lock()
	f.dir.accts[long] = Account{Address: long, Upstream: f.dir.accts[f.sb.Users()[0]].Upstream}
	f.dir.mu.Unlock()
	conn, br := f.rawIMAP(t)
	got := imapLogin(t, conn, br, "a", long, "pw")
	if len(got) == 0 || got[len(got)-1] != "a NO [AUTHENTICATIONFAILED] Invalid credentials" {
		t.Fatalf("LOGIN with a long internationalized address: %q", got)
	}
	if a := f.audited(); len(a) != 1 || a[0].Reason != "no proxy password set" {
		t.Fatalf("audited %+v, want the address looked up and refused for having no proxy password", a)
	}
}
