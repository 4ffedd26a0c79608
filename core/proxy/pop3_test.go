package proxy

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// popClient is a line-level POP3 client of the proxy.
type popClient struct {
	t  testing.TB
	nc net.Conn
	c  *textproto.Conn
}

// dialPOP3 connects to addr, with TLS from the first byte when implicit,
// and reads the greeting.
func (f *fixture) dialPOP3(t testing.TB, addr string, implicit bool) *popClient {
	t.Helper()
	var nc net.Conn
	var err error
	if implicit {
		nc, err = tls.Dial("tcp", addr, f.tlsConfig())
	} else {
		nc, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(time.Minute)) // a hang guard
	p := &popClient{t: t, nc: nc, c: textproto.NewConn(nc)}
	t.Cleanup(func() { nc.Close() })
	p.want("greeting", p.line(), "+OK mailoauth proxy ready")
	return p
}

func (p *popClient) line() string {
	p.t.Helper()
	l, err := p.c.ReadLine()
	if err != nil {
		p.t.Fatal(err)
	}
	return l
}

// say sends cmd and returns the reply's first line.
func (p *popClient) say(cmd string) string {
	p.t.Helper()
	if err := p.c.PrintfLine("%s", cmd); err != nil {
		p.t.Fatal(err)
	}
	return p.line()
}

// lines reads a multi-line reply's body.
func (p *popClient) lines() []string {
	p.t.Helper()
	l, err := p.c.ReadDotLines()
	if err != nil {
		p.t.Fatal(err)
	}
	return l
}

// capa sends CAPA and returns the capabilities listed.
func (p *popClient) capa() map[string]bool {
	p.t.Helper()
	p.want("CAPA", p.say("CAPA"), "+OK Capability list follows")
	caps := map[string]bool{}
	for _, c := range p.lines() {
		caps[c] = true
	}
	return caps
}

func (p *popClient) want(what, got, want string) {
	p.t.Helper()
	if got != want {
		p.t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

// TestProxyPOP3Relay: USER and PASS with the proxy password, then the
// sandbox's own POP3 dialogue relayed: the message sent through the
// proxy's SMTP is read, and Gmail's CAPA and farewell come through.
func TestProxyPOP3Relay(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	msg := "From: " + user + "\r\nTo: " + user + "\r\nSubject: by POP3\r\n\r\nHello.\r\n"
	if err := sendMail(f, f.smtpTLS, false, user, f.password[user], user, msg); err != nil {
		t.Fatalf("sending through the proxy: %v", err)
	}
	p := f.dialPOP3(t, f.pop3TLS, true)
	if caps := p.capa(); !caps["USER"] || !caps["SASL PLAIN"] || caps["STLS"] {
		t.Fatalf("CAPA on implicit TLS: want USER and SASL PLAIN, no STLS; got %v", caps)
	}
	p.want("USER", p.say("USER "+user), "+OK send PASS")
	p.want("PASS", p.say("PASS "+f.password[user]), "+OK mailoauth proxy: logged in")
	stat := p.say("STAT")
	if !strings.HasPrefix(stat, "+OK 1 ") {
		t.Fatalf("STAT: got %q, want one message", stat)
	}
	p.want("RETR", p.say("RETR 1"), "+OK message follows")
	if body := strings.Join(p.lines(), "\n"); !strings.Contains(body, "Subject: by POP3") || !strings.HasSuffix(body, "Hello.") {
		t.Fatalf("RETR 1: %q", body)
	}
	if caps := p.capa(); !caps["X-GOOGLE-RICO"] {
		t.Fatalf("CAPA after the login should be the server's (Gmail's), got %v", caps)
	}
	p.want("QUIT", p.say("QUIT"), "+OK Farewell.")
	if f.auditedCount(func(l Login) bool { return l.OK && l.Protocol == POP3 && l.Mailbox == user }) != 1 {
		t.Fatalf("want the POP3 login audited, got %+v", f.audited())
	}
}

// TestProxyPOP3STLSAndAuthPlain: on the loopback plain listener STLS is
// offered and works, and AUTH PLAIN logs in both with an initial response
// and after the empty challenge.
func TestProxyPOP3STLSAndAuthPlain(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[1]
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + f.password[user]))

	p := f.dialPOP3(t, f.pop3Plain, false)
	if caps := p.capa(); !caps["STLS"] || !caps["USER"] {
		t.Fatalf("CAPA on the loopback plain listener: want STLS and USER, got %v", caps)
	}
	p.want("STLS", p.say("STLS"), "+OK Begin TLS negotiation now")
	tc := tls.Client(p.nc, f.tlsConfig())
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS after STLS: %v", err)
	}
	p = &popClient{t: t, nc: tc, c: textproto.NewConn(tc)}
	p.want("STLS again", p.say("STLS"), "-ERR TLS is already on")
	p.want("AUTH PLAIN", p.say("AUTH PLAIN "+plain), "+OK mailoauth proxy: logged in")
	p.want("NOOP", p.say("NOOP"), "+OK")

	// plain text on loopback, the credentials after the empty challenge
	q := f.dialPOP3(t, f.pop3Plain, false)
	p.want("AUTH PLAIN", q.say("AUTH PLAIN"), "+ ")
	q.want("the PLAIN response", q.say(plain), "+OK mailoauth proxy: logged in")
	q.want("STAT", q.say("STAT"), "+OK 0 0")
}

// TestProxyPOP3PlainRefusedOffLoopback: off loopback no password is taken
// before STLS.
func TestProxyPOP3PlainRefusedOffLoopback(t *testing.T) {
	f := startFixture(t, Config{})
	addr := f.serveOffLoopback(t, POP3)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(time.Minute))
	defer nc.Close()
	p := &popClient{t: t, nc: nc, c: textproto.NewConn(nc)}
	p.want("greeting", p.line(), "+OK mailoauth proxy ready")
	if caps := p.capa(); caps["USER"] || !caps["STLS"] {
		t.Fatalf("CAPA off loopback before STLS: want STLS and no USER, got %v", caps)
	}
	p.want("USER", p.say("USER "+f.sb.Users()[0]), "-ERR use STLS before logging in")
	p.want("AUTH PLAIN", p.say("AUTH PLAIN AGZvbwBiYXI="), "-ERR use STLS before logging in")
}

// TestProxyPOP3WrongPasswordAndLockout: a wrong password is refused, USER
// must come again, and the fifth locks the address out of POP3 as out of
// IMAP (the connection is closed after maxRefusedLogins, so the client
// reconnects).
func TestProxyPOP3WrongPasswordAndLockout(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	var p *popClient
	for i := range DefaultFailLimit {
		if i%maxRefusedLogins == 0 {
			p = f.dialPOP3(t, f.pop3TLS, true)
		}
		p.want("USER", p.say("USER "+user), "+OK send PASS")
		p.want("wrong PASS", p.say("PASS wrong-"+string(rune('a'+i))), "-ERR [AUTH] Invalid credentials")
	}
	p.want("PASS without USER", p.say("PASS "+f.password[user]), "-ERR USER first")
	p.want("USER", p.say("USER "+user), "+OK send PASS")
	if got := p.say("PASS " + f.password[user]); !strings.HasPrefix(got, "-ERR [SYS/TEMP] mailoauth: too many wrong passwords from 127.0.0.1") {
		t.Fatalf("the right password while locked out: got %q", got)
	}
	c := f.dialIMAP(t)
	if err := c.Login(user, f.password[user]).Wait(); err == nil || !strings.Contains(err.Error(), "too many wrong passwords") {
		t.Fatalf("IMAP from the address POP3 locked out: %v", err)
	}
	if n := f.auditedCount(func(l Login) bool { return !l.OK && l.Protocol == POP3 }); n != DefaultFailLimit+1 {
		t.Fatalf("want %d refused POP3 logins audited, got %+v", DefaultFailLimit+1, f.audited())
	}
}

// TestProxyPOP3UpstreamRefusalMapped: with the delegation removed the
// sandbox's POP3 refuses the token (its JSON challenge, then -ERR [AUTH]);
// the client gets the finding's code and the log its fix.
func TestProxyPOP3UpstreamRefusalMapped(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	f.sb.Deauthorize(f.sb.ClientID())
	p := f.dialPOP3(t, f.pop3TLS, true)
	p.want("USER", p.say("USER "+user), "+OK send PASS")
	p.want("PASS", p.say("PASS "+f.password[user]), "-ERR [AUTH] mailoauth: delegation_not_authorized, see the log")
	lg := f.log.String()
	if !strings.Contains(lg, "protocol=pop3") || !strings.Contains(lg, "code=delegation_not_authorized") || !strings.Contains(lg, "Domain-wide delegation") {
		t.Fatalf("the log should carry the protocol, the code and the fix:\n%s", lg)
	}
	if n := f.auditedCount(func(l Login) bool { return l.Protocol == POP3 && l.Reason == "delegation_not_authorized" }); n != 1 {
		t.Fatalf("want the refusal audited with its code, got %+v", f.audited())
	}
}

// TestPOP3ErrorDiagnosedAsIMAP: POP3's response codes become IMAP's, so
// that core diagnoses the refusal as an IMAP login's, and the line as the
// server sent it stays for the findings to quote.
func TestPOP3ErrorDiagnosedAsIMAP(t *testing.T) {
	for line, want := range map[string]*imap.Error{
		"-ERR [AUTH] Invalid credentials.":     {Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: "Invalid credentials."},
		"-ERR [SYS/TEMP] try again later":      {Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "try again later"},
		"-ERR [IN-USE] the maildrop is locked": {Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeInUse, Text: "the maildrop is locked"},
		"-ERR bad command":                     {Type: imap.StatusResponseTypeNo, Text: "bad command"},
	} {
		err := pop3Error(line)
		var got *imap.Error
		var te *core.TranslatedError
		if !errors.As(err, &got) || *got != *want || !errors.As(err, &te) || te.Reply != line {
			t.Errorf("pop3Error(%q) = %#v, want %+v quoting the line", line, err, want)
		}
	}
}

// TestProxyPOP3RefusalFindingNamesPOP3: the sandbox's POP3 refuses a token
// without the mail scope; the finding logged names POP3 and the POP3
// server, never IMAP or its server (POP3 refusals are diagnosed as IMAP's).
func TestProxyPOP3RefusalFindingNamesPOP3(t *testing.T) {
	f, user, reply := pop3LoginWith(t, func(sb *sandbox.Sandbox, p *core.Profile) {
		p.Scopes = []string{core.ScopeGmailSend}
		sb.Authorize(sb.ClientID(), p.Scopes)
	})
	if want := "-ERR [AUTH] mailoauth: scope_insufficient, see the log"; reply != want {
		t.Fatalf("PASS: got %q, want %q", reply, want)
	}
	sb := f.sb
	var line string
	for _, l := range strings.Split(f.log.String(), "\n") {
		if strings.Contains(l, "the mail server refused the mailbox's login") {
			line = l
		}
	}
	pop := sb.Endpoints().POP3
	for _, want := range []string{"protocol=pop3", pop + " refused the token for " + user, "which POP3 needs"} {
		if !strings.Contains(line, want) {
			t.Errorf("the refusal's log line lacks %q:\n%s", want, f.log.String())
		}
	}
	if strings.Contains(strings.ToLower(line), "imap") || strings.Contains(line, sb.Endpoints().IMAP) {
		t.Errorf("the log line of a POP3 refusal names IMAP or its server:\n%s", line)
	}
}

// TestProxyPOP3FailureCode: a POP3 server that does not speak POP3 (the
// sandbox's SMTP, greeting with 220) fails the login with pop3_failed,
// POP3's code where an IMAP login's would be imap_failed: the client is
// told to retry and the log's line names POP3 only.
func TestProxyPOP3FailureCode(t *testing.T) {
	f, _, reply := pop3LoginWith(t, func(sb *sandbox.Sandbox, p *core.Profile) { p.Endpoints.POP3 = sb.Endpoints().SMTP })
	if want := "-ERR [SYS/TEMP] mailoauth: pop3_failed, see the log"; reply != want {
		t.Fatalf("PASS: got %q, want %q", reply, want)
	}
	var line string
	for _, l := range strings.Split(f.log.String(), "\n") {
		if strings.Contains(l, "the mail server refused the mailbox's login") {
			line = l
		}
	}
	if !strings.Contains(line, "code=pop3_failed") || !strings.Contains(line, "The POP3 login of") || strings.Contains(strings.ToLower(line), "imap") {
		t.Fatalf("want the refusal logged with pop3_failed, naming POP3 and not IMAP:\n%s", f.log.String())
	}
	if n := f.auditedCount(func(l Login) bool { return l.Protocol == POP3 && l.Reason == "pop3_failed" }); n != 1 {
		t.Fatalf("want the refusal audited with its code, got %+v", f.audited())
	}
}

// TestProxyPOP3WithoutServer: a profile whose endpoints name another IMAP
// server and no POP3 one has no POP3 server (never Gmail's): the login is
// refused and the log says what to add.
func TestProxyPOP3WithoutServer(t *testing.T) {
	f, _, reply := pop3LoginWith(t, func(_ *sandbox.Sandbox, p *core.Profile) { p.Endpoints.POP3 = "" })
	if want := "-ERR [SYS/PERM] mailoauth: this mailbox has no POP3 server, see the log"; reply != want {
		t.Fatalf("PASS without a POP3 server: got %q, want %q", reply, want)
	}
	if lg := f.log.String(); !strings.Contains(lg, `fix="add \"pop3\": \"host:995\" to the endpoints file`) {
		t.Fatalf("the log should say to add pop3 to the endpoints file:\n%s", lg)
	}
	if n := f.auditedCount(func(l Login) bool { return l.Reason == "no POP3 server" }); n != 1 {
		t.Fatalf("want the refusal audited, got %+v", f.audited())
	}
}

// pop3LoginWith serves the proxy in front of a one-user sandbox after
// change has adjusted its profile (or the sandbox), logs the user in by
// POP3 USER and PASS, and returns the fixture, the user and the reply.
func pop3LoginWith(t *testing.T, change func(*sandbox.Sandbox, *core.Profile)) (f *fixture, user, reply string) {
	t.Helper()
	sb, p := startSandbox(t, sandbox.Options{Users: 1, Delegate: true}, (*sandbox.Sandbox).ServiceAccountJSON)
	change(sb, p)
	tester, err := core.NewTester(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	f = serveFixture(t, Config{}, sb, tester)
	user = sb.Users()[0]
	c := f.dialPOP3(t, f.pop3TLS, true)
	c.want("USER", c.say("USER "+user), "+OK send PASS")
	return f, user, c.say("PASS " + f.password[user])
}
