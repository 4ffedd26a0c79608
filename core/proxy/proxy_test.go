package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/coretest"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// mapDir is a Directory over a map, for tests.
type mapDir struct {
	mu    sync.Mutex
	accts map[string]Account
}

func (d *mapDir) Account(addr string) (Account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.accts[addr]
	if !ok {
		return Account{}, ErrUnknownMailbox
	}
	return a, nil
}

type fixture struct {
	sb        *sandbox.Sandbox
	srv       *Server
	dir       *mapDir
	log       *coretest.Buffer
	pool      *x509.CertPool
	imapTLS   string // implicit TLS
	imapPlain string // STARTTLS listener on loopback
	smtpTLS   string
	smtpPlain string
	pop3TLS   string
	pop3Plain string // STLS listener on loopback
	password  map[string]string

	amu    sync.Mutex
	audits []Login
}

func (f *fixture) audited() []Login {
	f.amu.Lock()
	defer f.amu.Unlock()
	return append([]Login(nil), f.audits...)
}

// auditedCount is how many audited logins match.
func (f *fixture) auditedCount(match func(Login) bool) int {
	n := 0
	for _, l := range f.audited() {
		if match(l) {
			n++
		}
	}
	return n
}

func startFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	return startFixtureUsers(t, cfg, 3)
}

func startFixtureUsers(t testing.TB, cfg Config, users int) *fixture {
	t.Helper()
	sb, p := startSandbox(t, sandbox.Options{Users: users, Delegate: true}, (*sandbox.Sandbox).ServiceAccountJSON)
	tester, err := core.NewTester(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return serveFixture(t, cfg, sb, tester)
}

// startSandbox is a sandbox (closed when the test ends) and a profile for
// its domain with the credential that cred returns.
func startSandbox(t testing.TB, opts sandbox.Options, cred func(*sandbox.Sandbox) []byte) (*sandbox.Sandbox, *core.Profile) {
	t.Helper()
	opts.Dir = t.TempDir()
	sb, err := sandbox.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb, &core.Profile{Domain: sb.Domain(), DefaultSender: "admin@" + sb.Domain(), Credential: cred(sb), Endpoints: sb.Endpoints()}
}

// serveFixture is the proxy in front of sb for its users, whose tokens
// come from tester, listening for IMAP, SMTP and POP3 with implicit TLS
// and STARTTLS.
func serveFixture(t testing.TB, cfg Config, sb *sandbox.Sandbox, tester *core.Tester) *fixture {
	t.Helper()
	f := &fixture{sb: sb, dir: &mapDir{accts: map[string]Account{}}, log: &coretest.Buffer{}, password: map[string]string{}}
	for _, u := range sb.Users() {
		pw, err := GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		h, err := HashPassword(pw)
		if err != nil {
			t.Fatal(err)
		}
		f.password[u] = pw
		f.dir.accts[u] = Account{Address: u, PasswordHash: h, Upstream: tester}
	}
	var cert tls.Certificate
	cert, f.pool = testCertificate(t)
	cfg.Directory = f.dir
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	cfg.Log = slog.New(slog.NewTextHandler(f.log, nil))
	cfg.Audit = func(l Login) { f.amu.Lock(); f.audits = append(f.audits, l); f.amu.Unlock() }
	f.srv = New(cfg)
	listen := func(proto Protocol, sec core.Security) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go f.srv.Serve(ln, proto, sec)
		return ln.Addr().String()
	}
	f.imapTLS = listen(IMAP, core.SecurityTLS)
	f.imapPlain = listen(IMAP, core.SecurityStartTLS)
	f.smtpTLS = listen(SMTP, core.SecurityTLS)
	f.smtpPlain = listen(SMTP, core.SecurityStartTLS)
	f.pop3TLS = listen(POP3, core.SecurityTLS)
	f.pop3Plain = listen(POP3, core.SecurityStartTLS)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = f.srv.Shutdown(ctx)
		if t.Failed() {
			t.Logf("proxy log:\n%s", f.log.String())
		}
	})
	return f
}

// upstreamTo makes the proxy log in for user to the servers of ep, with
// tokens from the sandbox.
func (f *fixture) upstreamTo(t testing.TB, user string, ep core.Endpoints) {
	t.Helper()
	p := &core.Profile{Domain: f.sb.Domain(), DefaultSender: "admin@" + f.sb.Domain(), Credential: f.sb.ServiceAccountJSON(), Endpoints: ep}
	tester, err := core.NewTester(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.dir.mu.Lock()
	a := f.dir.accts[user]
	a.Upstream = tester
	f.dir.accts[user] = a
	f.dir.mu.Unlock()
}

// testCertificate is a new proxy certificate and a pool that trusts it.
func testCertificate(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	certPEM, keyPEM, err := GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := LoadCertificate(certPEM, keyPEM, "test")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	blk, _ := pem.Decode(certPEM)
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool.AddCert(leaf)
	return cert, pool
}

func (f *fixture) tlsConfig() *tls.Config {
	return &tls.Config{RootCAs: f.pool, ServerName: "127.0.0.1"}
}

func (f *fixture) dialIMAP(t testing.TB) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(f.imapTLS, &imapclient.Options{TLSConfig: f.tlsConfig()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// loggedIn is an IMAP client of the proxy logged in as user with its
// proxy password.
func (f *fixture) loggedIn(t testing.TB, user string) *imapclient.Client {
	t.Helper()
	c := f.dialIMAP(t)
	if err := c.Login(user, f.password[user]).Wait(); err != nil {
		t.Fatalf("LOGIN through the proxy as %s: %v", user, err)
	}
	return c
}

func sendMail(f *fixture, addr string, startTLS bool, user, password, to, body string) error {
	var c *smtp.Client
	var err error
	if startTLS {
		c, err = smtp.DialStartTLS(addr, f.tlsConfig())
	} else {
		c, err = smtp.DialTLS(addr, f.tlsConfig())
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", user, password)); err != nil {
		return err
	}
	if err := c.SendMail(user, []string{to}, strings.NewReader(body)); err != nil {
		return err
	}
	return c.Quit()
}

// TestProxyIMAPAndSMTPRelay: a client logs in with the proxy password, the
// proxy logs in to the sandbox (which refuses passwords) with the token, and
// a message sent through the proxy's SMTP is read through its IMAP.
func TestProxyIMAPAndSMTPRelay(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	subject := fmt.Sprintf("through the proxy %d", time.Now().UnixNano())
	msg := "From: " + user + "\r\nTo: " + user + "\r\nSubject: " + subject + "\r\n\r\nHello.\r\n"
	if err := sendMail(f, f.smtpTLS, false, user, f.password[user], user, msg); err != nil {
		t.Fatalf("sending through the proxy: %v", err)
	}
	c := f.loggedIn(t, user)
	caps := c.Caps()
	if caps.Has(imap.Cap("AUTH=XOAUTH2")) || caps.Has(imap.CapLoginDisabled) || !caps.Has(imap.CapIdle) {
		t.Fatalf("capabilities after login: want the server's (IDLE) without AUTH= and LOGINDISABLED, got %v", caps)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages != 1 {
		t.Fatalf("SELECT INBOX: %v, %d messages (want 1)", err, sel.NumMessages)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].Envelope.Subject != subject {
		t.Fatalf("FETCH: %v %+v", err, msgs)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatalf("LOGOUT: %v", err)
	}
	if f.auditedCount(func(l Login) bool { return l.OK && l.Mailbox == user }) != 2 {
		t.Fatalf("want 2 audited logins (SMTP and IMAP), got %+v", f.audited())
	}
}

// TestProxyStartTLSAndPlainLoopback: on a loopback STARTTLS listener the
// login works both after STARTTLS and in plain text.
func TestProxyStartTLSAndPlainLoopback(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[1]
	c, err := imapclient.DialStartTLS(f.imapPlain, &imapclient.Options{TLSConfig: f.tlsConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, f.password[user]).Wait(); err != nil {
		t.Fatalf("LOGIN after STARTTLS: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	pc, err := imapclient.DialInsecure(f.imapPlain, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := pc.Login(user, f.password[user]).Wait(); err != nil {
		t.Fatalf("plain LOGIN on loopback: %v", err)
	}
	if err := sendMail(f, f.smtpPlain, true, user, f.password[user], user, "Subject: x\r\n\r\nx\r\n"); err != nil {
		t.Fatalf("SMTP STARTTLS: %v", err)
	}
}

// TestProxyPlainRefusedOffLoopback: a STARTTLS listener on an address that
// is not loopback refuses a login before STARTTLS.
func TestProxyPlainRefusedOffLoopback(t *testing.T) {
	f := startFixture(t, Config{})
	addr := f.serveOffLoopback(t, IMAP)
	user := f.sb.Users()[0]
	pc, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if !pc.Caps().Has(imap.CapLoginDisabled) {
		t.Fatalf("want LOGINDISABLED before STARTTLS off loopback, got %v", pc.Caps())
	}
	err = pc.Login(user, f.password[user]).Wait()
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Code != "PRIVACYREQUIRED" {
		t.Fatalf("plain LOGIN off loopback: want NO [PRIVACYREQUIRED], got %v", err)
	}
}

// serveOffLoopback serves protocol p with STARTTLS on an IPv4 address of
// this machine that is not loopback, and returns the listener's address;
// the test is skipped without one.
func (f *fixture) serveOffLoopback(t *testing.T, p Protocol) string {
	t.Helper()
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ln, err := net.Listen("tcp", net.JoinHostPort(n.IP.String(), "0"))
			if err != nil {
				t.Skip(err)
			}
			go f.srv.Serve(ln, p, core.SecurityStartTLS)
			return ln.Addr().String()
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address to listen on")
	return ""
}

// TestProxyWrongPasswordBackoff: wrong passwords are refused, and after the
// fifth the address is locked out even for the right password (the
// connection is closed after maxRefusedLogins, so the client reconnects).
func TestProxyWrongPasswordBackoff(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	c := f.dialIMAP(t)
	for i := 0; i < DefaultFailLimit; i++ {
		if i%maxRefusedLogins == 0 {
			c = f.dialIMAP(t)
		}
		err := c.Login(user, "wrong-"+fmt.Sprint(i)).Wait()
		var ie *imap.Error
		if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeAuthenticationFailed {
			t.Fatalf("wrong password %d: want NO [AUTHENTICATIONFAILED], got %v", i, err)
		}
	}
	err := c.Login(user, f.password[user]).Wait()
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeUnavailable || !strings.Contains(ie.Text, "too many wrong passwords") {
		t.Fatalf("right password while locked out: want NO [UNAVAILABLE] too many wrong passwords, got %v", err)
	}
	if err := sendMail(f, f.smtpTLS, false, user, f.password[user], user, "Subject: x\r\n\r\nx\r\n"); err == nil || !strings.Contains(err.Error(), "too many wrong passwords") {
		t.Fatalf("SMTP from the locked-out address: %v", err)
	}
	if !strings.Contains(f.log.String(), "locked out") {
		t.Fatalf("the lockout is not logged:\n%s", f.log.String())
	}
	// the SMTP attempt follows the first refusal while locked out within
	// lockedReportEvery: counted, neither audited nor logged
	if f.auditedCount(func(l Login) bool { return !l.OK }) != DefaultFailLimit+1 {
		t.Fatalf("want %d refused logins audited, got %+v", DefaultFailLimit+1, f.audited())
	}
}

// TestProxyUpstreamRefusalMapped: with the delegation removed, the login
// is refused with the finding's code and the log has the fix; a revoked
// cached token is replaced by a fresh one without the client noticing.
func TestProxyUpstreamRefusalMapped(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	c := f.loggedIn(t, user)
	c.Close()
	f.sb.Revoke(user)
	c = f.dialIMAP(t)
	if err := c.Login(user, f.password[user]).Wait(); err != nil {
		t.Fatalf("after the cached token was revoked: %v", err)
	}
	c.Close()
	f.sb.Revoke(user)
	f.sb.Deauthorize(f.sb.ClientID())
	c = f.dialIMAP(t)
	err := c.Login(user, f.password[user]).Wait()
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeAuthenticationFailed || ie.Text != "mailoauth: delegation_not_authorized, see the log" {
		t.Fatalf("want NO [AUTHENTICATIONFAILED] mailoauth: delegation_not_authorized, see the log; got %v", err)
	}
	err = sendMail(f, f.smtpTLS, false, user, f.password[user], user, "Subject: x\r\n\r\nx\r\n")
	if err == nil || !strings.Contains(err.Error(), "delegation_not_authorized") {
		t.Fatalf("SMTP: want 535 with delegation_not_authorized, got %v", err)
	}
	lg := f.log.String()
	if !strings.Contains(lg, "code=delegation_not_authorized") || !strings.Contains(lg, "Domain-wide delegation") {
		t.Fatalf("the log should carry the code and the fix:\n%s", lg)
	}
}

// TestProxyConnectionLimitPerMailbox: the mailbox's limit refuses one more
// session; closing one frees its slot.
func TestProxyConnectionLimitPerMailbox(t *testing.T) {
	f := startFixture(t, Config{MaxPerMailbox: 2})
	user := f.sb.Users()[0]
	var cs []*imapclient.Client
	for i := 0; i < 2; i++ {
		c := f.loggedIn(t, user)
		cs = append(cs, c)
	}
	c := f.dialIMAP(t)
	err := c.Login(user, f.password[user]).Wait()
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Code != "LIMIT" {
		t.Fatalf("third session: want NO [LIMIT], got %v", err)
	}
	_ = cs[0].Logout().Wait()
	cs[0].Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err = c.Login(user, f.password[user]).Wait()
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("after one logged out the slot should be free: %v", err)
	}
}

// TestProxyIdleSeesDelivery: a client in IDLE through the proxy sees a
// message arrive that was sent through the proxy.
func TestProxyIdleSeesDelivery(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[2]
	sizes, got := coretest.MailboxSizes()
	c, err := imapclient.DialTLS(f.imapTLS, &imapclient.Options{TLSConfig: f.tlsConfig(), UnilateralDataHandler: sizes})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, f.password[user]).Wait(); err != nil {
		t.Fatal(err)
	}
	_, idle := coretest.IdleInbox(t, c)
	// The sandbox's IMAP server (go-imap's SessionTracker) misses a
	// message that lands between its "+ idling" and the start of its idle
	// loop until the next one arrives, so a message is sent every two
	// seconds until one is seen.
	deadline := time.After(30 * time.Second)
	sent := 0
	for seen := false; !seen; {
		if err := sendMail(f, f.smtpTLS, false, user, f.password[user], user, "Subject: idle\r\n\r\nx\r\n"); err != nil {
			t.Fatal(err)
		}
		sent++
		select {
		case n := <-got:
			if n < 1 || int(n) > sent {
				t.Fatalf("EXISTS %d after %d messages", n, sent)
			}
			seen = true
		case <-time.After(2 * time.Second):
		case <-deadline:
			t.Fatal("IDLE through the proxy saw no new message")
		}
	}
	coretest.StopIdle(t, idle)
}

// TestProxyLongLineRefused: a pre-login line over the bound closes the
// connection instead of growing a buffer.
func TestProxyLongLineRefused(t *testing.T) {
	f := startFixture(t, Config{})
	conn, err := tls.Dial("tcp", f.imapTLS, f.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	_, _ = conn.Read(buf)
	_, _ = conn.Write([]byte("a1 LOGIN " + strings.Repeat("x", 20000) + "\r\n"))
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var all []byte
	for {
		n, err := conn.Read(buf)
		all = append(all, buf[:n]...)
		if err != nil {
			break
		}
	}
	if !strings.Contains(string(all), "BYE mailoauth proxy: line too long") {
		t.Fatalf("want BYE line too long and the connection closed, got %q", all)
	}
}

// TestProxyIdleTimeout: a relayed session with no byte either way for the
// idle timeout is closed.
func TestProxyIdleTimeout(t *testing.T) {
	f := startFixture(t, Config{IdleTimeout: 300 * time.Millisecond})
	user := f.sb.Users()[0]
	c := f.loggedIn(t, user)
	select {
	case <-c.Closed():
	case <-time.After(30 * time.Second):
		t.Fatal("an idle session was not closed")
	}
	if !strings.Contains(f.log.String(), "idle session closed") {
		t.Fatalf("the idle close is not logged:\n%s", f.log.String())
	}
}

// TestProxyGlobalLimit: beyond MaxConns the next connection is told so and
// closed.
func TestProxyGlobalLimit(t *testing.T) {
	f := startFixture(t, Config{MaxConns: 1})
	first, err := tls.Dial("tcp", f.imapTLS, f.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	buf := make([]byte, 512)
	if n, err := first.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "* OK") {
		t.Fatalf("first connection: %q %v", buf[:n], err)
	}
	second, err := tls.Dial("tcp", f.imapTLS, f.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_ = second.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, _ := second.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "* BYE [UNAVAILABLE] mailoauth proxy: too many connections") {
		t.Fatalf("second connection beyond --max-conns 1: got %q", buf[:n])
	}
}

// TestProxyShutdownDrains: after Shutdown starts, a logged-in session keeps
// working and Shutdown returns once it logs out; new connections are refused.
func TestProxyShutdownDrains(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	c := f.loggedIn(t, user)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		done <- f.srv.Shutdown(ctx)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.Dial("tcp", f.imapTLS)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the proxy still accepts connections after Shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("a logged-in session should keep working while draining: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a session was open", err)
	default:
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown after the last session ended: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown did not return after the last session ended")
	}
}

// TestProxyShutdownBoundedByDrain: a logged-in session that never ends (a
// client in IDLE) does not hold Shutdown past its context: Shutdown
// returns the context's error and the client finds its connection closed.
func TestProxyShutdownBoundedByDrain(t *testing.T) {
	f := startFixture(t, Config{})
	c := f.loggedIn(t, f.sb.Users()[0])
	coretest.IdleInbox(t, c) // the session ends only when the client says DONE
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.srv.Shutdown(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown with a session still open after the drain: want the context's deadline error, got %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Shutdown did not return after its context ended: the idling session holds it")
	}
	select {
	case <-c.Closed():
	case <-time.After(time.Minute):
		t.Fatal("the idling client's connection is still open after the drain")
	}
	if n := f.srv.Sessions(); n != 0 {
		t.Fatalf("%d sessions still open after Shutdown returned", n)
	}
}

// TestProxySessionOutlivesItsToken: a session logged in through the proxy
// keeps working after its token has expired (two hours later by the
// sandbox's clock), without a new token.
func TestProxySessionOutlivesItsToken(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	c := f.loggedIn(t, user)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	minted := f.sb.TokensMinted()
	f.sb.AdvanceClock(2 * time.Hour)
	if err := c.Noop().Wait(); err != nil {
		t.Fatalf("the logged-in session after its token expired: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("SELECT after the token expired: %v", err)
	}
	if f.sb.TokensMinted() != minted {
		t.Fatal("the logged-in session asked for a new token")
	}
}

// TestProxyUnknownMailboxAndNoPassword: an address the proxy does not serve
// and a mailbox without a proxy password are refused like a wrong password,
// and audited with their reason.
func TestProxyUnknownMailboxAndNoPassword(t *testing.T) {
	f := startFixture(t, Config{})
	nopw := f.sb.Users()[1]
	f.dir.mu.Lock()
	a := f.dir.accts[nopw]
	a.PasswordHash = ""
	f.dir.accts[nopw] = a
	f.dir.mu.Unlock()
	c := f.dialIMAP(t)
	for _, login := range [][2]string{{"nobody@example.test", "x"}, {nopw, ""}, {nopw, f.password[nopw]}} {
		err := c.Login(login[0], login[1]).Wait()
		var ie *imap.Error
		if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeAuthenticationFailed || ie.Text != "Invalid credentials" {
			t.Fatalf("LOGIN %s: want NO [AUTHENTICATIONFAILED] Invalid credentials, got %v", login[0], err)
		}
	}
	got := map[string]int{}
	for _, l := range f.audited() {
		if l.OK {
			t.Fatalf("audited as ok: %+v", l)
		}
		got[l.Mailbox+": "+l.Reason]++
	}
	if got["nobody@example.test: unknown mailbox"] != 1 || got[nopw+": no proxy password set"] != 2 {
		t.Fatalf("audit reasons: %v", got)
	}
}

// TestProxyPipelinedAfterLogin: commands a client sends in the same write
// as its LOGIN (already in the proxy's buffer when the relay starts) reach
// the server, in order.
func TestProxyPipelinedAfterLogin(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	conn, err := tls.Dial("tcp", f.imapTLS, f.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 4096)
	if _, err := conn.Read(buf); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(conn, "a1 LOGIN %s %s\r\na2 SELECT INBOX\r\na3 NOOP\r\na4 LOGOUT\r\n", user, f.password[user]); err != nil {
		t.Fatal(err)
	}
	var all []byte
	for !bytes.Contains(all, []byte("a4 OK")) {
		n, err := conn.Read(buf)
		all = append(all, buf[:n]...)
		if err != nil {
			break
		}
	}
	out := string(all)
	i1, i2, i3, i4 := strings.Index(out, "a1 OK"), strings.Index(out, "a2 OK"), strings.Index(out, "a3 OK"), strings.Index(out, "a4 OK")
	if i1 < 0 || i2 < i1 || i3 < i2 || i4 < i3 {
		t.Fatalf("pipelined commands after LOGIN: want a1..a4 OK in order, got:\n%s", out)
	}
}

// TestProxyActiveSessionOutlivesIdleTimeout: a relayed session that sends
// a command more often than the idle timeout stays open for several idle
// timeouts, every command answered: the relay's reads count as activity.
func TestProxyActiveSessionOutlivesIdleTimeout(t *testing.T) {
	const idle = time.Second
	f := startFixture(t, Config{IdleTimeout: idle})
	c := f.loggedIn(t, f.sb.Users()[0])
	for start := time.Now(); time.Since(start) < 3*idle; time.Sleep(idle / 10) {
		if err := c.Noop().Wait(); err != nil {
			t.Fatalf("a NOOP %v into the session, every %v: %v", time.Since(start).Round(time.Millisecond), idle/10, err)
		}
	}
	if strings.Contains(f.log.String(), "idle session closed") {
		t.Fatalf("an active session was closed as idle:\n%s", f.log.String())
	}
}
