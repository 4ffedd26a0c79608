package proxy

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/mailoauth/mailoauth/core"
)

// TestProxySMTPAuthSteps: AUTH PLAIN and AUTH LOGIN without an initial
// response are asked for it with their 334 challenges (none for PLAIN,
// "Username:" then "Password:" for LOGIN); "*" cancels either, and a
// mechanism the proxy does not take is refused.
func TestProxySMTPAuthSteps(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	b64 := base64.StdEncoding.EncodeToString
	dial := func() *textproto.Conn {
		c, err := textproto.Dial("tcp", f.smtpPlain) // loopback: a login before STARTTLS is taken
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		expect(t, c, 220, "")
		if err := c.PrintfLine("EHLO test"); err != nil {
			t.Fatal(err)
		}
		expect(t, c, 250, "")
		return c
	}
	say := func(c *textproto.Conn, line string) {
		t.Helper()
		if err := c.PrintfLine("%s", line); err != nil {
			t.Fatal(err)
		}
	}

	c := dial()
	say(c, "AUTH CRAM-MD5")
	expect(t, c, 504, "")
	say(c, "AUTH LOGIN")
	expect(t, c, 334, "VXNlcm5hbWU6")
	say(c, "*")
	expect(t, c, 501, "")
	say(c, "AUTH PLAIN")
	expect(t, c, 334, "")
	say(c, b64([]byte("\x00"+user+"\x00"+f.password[user])))
	expect(t, c, 235, "")

	c = dial()
	say(c, "AUTH LOGIN")
	expect(t, c, 334, "VXNlcm5hbWU6")
	say(c, b64([]byte(user)))
	expect(t, c, 334, "UGFzc3dvcmQ6")
	say(c, b64([]byte(f.password[user])))
	expect(t, c, 235, "")
}

// expect reads one reply and fails unless it has the code and, when msg is
// not empty, that text.
func expect(t *testing.T, c *textproto.Conn, code int, msg string) {
	t.Helper()
	_, got, err := c.ReadResponse(code)
	if err != nil || msg != "" && got != msg {
		t.Fatalf("want %d %s, got %q: %v", code, msg, got, err)
	}
}

// SMTPEndpoints makes mapDir an SMTPLister: its accounts' endpoints.
func (d *mapDir) SMTPEndpoints() []core.Endpoints {
	d.mu.Lock()
	defer d.mu.Unlock()
	var eps []core.Endpoints
	for _, a := range d.accts {
		eps = append(eps, a.Upstream.ServerEndpoints())
	}
	return eps
}

// ehlo sends EHLO on a new plain or TLS connection to addr and returns
// the reply's lines.
func ehlo(t *testing.T, f *fixture, addr string, implicitTLS bool) (*textproto.Conn, []string) {
	t.Helper()
	var c *textproto.Conn
	if implicitTLS {
		tc, err := tls.Dial("tcp", addr, f.tlsConfig())
		if err != nil {
			t.Fatal(err)
		}
		c = textproto.NewConn(tc)
	} else {
		var err error
		if c, err = textproto.Dial("tcp", addr); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { c.Close() })
	expect(t, c, 220, "")
	return c, ehloAgain(t, c)
}

func ehloAgain(t *testing.T, c *textproto.Conn) []string {
	t.Helper()
	if err := c.PrintfLine("EHLO test.example"); err != nil {
		t.Fatal(err)
	}
	_, msg, err := c.ReadResponse(250)
	if err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	return strings.Split(msg, "\n")
}

// authLines are the lines of an EHLO reply that offer AUTH.
func authLines(lines []string) []string {
	var out []string
	for _, l := range lines[1:] {
		if strings.HasPrefix(strings.ToUpper(l), "AUTH") {
			out = append(out, l)
		}
	}
	return out
}

// TestProxySMTPExtensionsOfTheServer: the proxy's EHLO offers the
// sandbox's extensions (SIZE, SMTPUTF8, ...; it asked the sandbox when the
// listener started) with its own STARTTLS and AUTH PLAIN LOGIN instead of
// the sandbox's AUTH, and nothing the sandbox lacks (no CHUNKING: a
// client would send BDAT it cannot take); an EHLO after the login is the
// sandbox's reply without its AUTH line; and a message sent with SMTPUTF8
// and SIZE (which a client uses only when offered) arrives.
func TestProxySMTPExtensionsOfTheServer(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	for _, tc := range []struct {
		addr     string
		tls      bool
		startTLS bool
	}{{f.smtpPlain, false, true}, {f.smtpTLS, true, false}} {
		_, lines := ehlo(t, f, tc.addr, tc.tls)
		for _, want := range []string{"SIZE 35882577", "SMTPUTF8", "PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"} {
			if !slices.Contains(lines, want) {
				t.Errorf("%s: EHLO before the login lacks the server's %q: %q", tc.addr, want, lines)
			}
		}
		if got := authLines(lines); !slices.Equal(got, []string{"AUTH PLAIN LOGIN"}) {
			t.Errorf("%s: EHLO before the login offers %q, want only the proxy's AUTH PLAIN LOGIN", tc.addr, got)
		}
		// The sandbox has no CHUNKING, so the proxy must not offer BDAT.
		if slices.Contains(lines, "CHUNKING") {
			t.Errorf("%s: EHLO offers CHUNKING, which the sandbox does not: %q", tc.addr, lines)
		}
		if slices.Contains(lines, "STARTTLS") != tc.startTLS {
			t.Errorf("%s: STARTTLS offered %v, want %v: %q", tc.addr, !tc.startTLS, tc.startTLS, lines)
		}
	}

	c, _ := ehlo(t, f, f.smtpTLS, true)
	if err := c.PrintfLine("AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+f.password[user]))); err != nil {
		t.Fatal(err)
	}
	expect(t, c, 235, "")
	after := ehloAgain(t, c)
	if !strings.HasPrefix(after[0], "smtp.sandbox.mailoauth.test") || !slices.Contains(after, "SMTPUTF8") || !slices.Contains(after, "SIZE 35882577") {
		t.Errorf("EHLO after the login: want the sandbox's reply, got %q", after)
	}
	if got := authLines(after); len(got) != 0 {
		t.Errorf("EHLO after the login still offers %q", got)
	}
	if err := c.PrintfLine("NOOP"); err != nil {
		t.Fatal(err)
	}
	expect(t, c, 250, "") // the reply was whole: the next one reads cleanly

	subject := fmt.Sprintf("Grüße aus Köln %d", time.Now().UnixNano())
	msg := "From: " + user + "\r\nTo: " + user + "\r\nSubject: " + subject + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nÄrger? Nein.\r\n"
	sc, err := smtp.DialTLS(f.smtpTLS, f.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.Auth(sasl.NewPlainClient("", user, f.password[user])); err != nil {
		t.Fatal(err)
	}
	if err := sc.Mail(user, &smtp.MailOptions{UTF8: true, Size: int64(len(msg))}); err != nil {
		t.Fatalf("MAIL FROM with SMTPUTF8 and SIZE through the proxy: %v", err)
	}
	for _, to := range []string{user, "josé@bücher.example"} {
		if err := sc.Rcpt(to, nil); err != nil {
			t.Fatalf("RCPT TO:<%s>: %v", to, err)
		}
	}
	w, err := sc.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, msg); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("DATA: %v", err)
	}
	if err := sc.Quit(); err != nil {
		t.Fatal(err)
	}
	ic := f.loggedIn(t, user)
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	body := &imap.FetchItemBodySection{Peek: true}
	msgs, err := ic.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil || len(msgs) != 1 || !strings.Contains(string(msgs[0].FindBodySection(body)), "Subject: "+subject+"\r\n") {
		t.Fatalf("the UTF-8 message did not arrive whole: %v %d", err, len(msgs))
	}
}

// probeDir is a directory whose SMTPEndpoints are given.
type probeDir struct {
	*mapDir
	eps []core.Endpoints
}

func (d probeDir) SMTPEndpoints() []core.Endpoints { return d.eps }

// TestProxySMTPExtensionsLearned: after a reload to a server that cannot
// be asked, the proxy says so in its log and offers its default
// extensions; a login that reaches the sandbox teaches it the sandbox's,
// which the next client is offered.
func TestProxySMTPExtensionsLearned(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	if _, lines := ehlo(t, f, f.smtpPlain, false); !slices.Contains(lines, "SMTPUTF8") {
		t.Fatalf("before the reload: want the sandbox's SMTPUTF8, got %q", lines)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := f.sb.Endpoints()
	down.SMTP = ln.Addr().String()
	ln.Close()
	f.srv.SetDirectory(probeDir{f.dir, []core.Endpoints{down}})
	_, lines := ehlo(t, f, f.smtpPlain, false)
	want := []string{"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "STARTTLS", "AUTH PLAIN LOGIN"}
	if !slices.Equal(lines[1:], want) {
		t.Fatalf("EHLO when no server could be asked: want %q, got %q", want, lines[1:])
	}
	if lg := f.log.String(); !strings.Contains(lg, "cannot ask the SMTP server for its extensions") || !strings.Contains(lg, down.SMTP) {
		t.Fatalf("the failed probe is not logged:\n%s", lg)
	}
	if err := sendMail(f, f.smtpTLS, false, user, f.password[user], user, "Subject: x\r\n\r\nx\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, lines := ehlo(t, f, f.smtpPlain, false); !slices.Contains(lines, "SMTPUTF8") || !slices.Contains(lines, "SIZE 35882577") {
		t.Fatalf("after a login reached the sandbox: want its extensions, got %q", lines)
	}
}

// TestProxySMTPReloadDoesNotStallEHLO: a reload listing only servers whose
// extensions are known answers clients' EHLO from them at once, while the
// refreshing probe still hangs on a server that accepts and never speaks.
func TestProxySMTPReloadDoesNotStallEHLO(t *testing.T) {
	f := startFixture(t, Config{UpstreamTimeout: time.Hour})
	// An SMTP listener's first probe, which forgets the servers its
	// directory does not list, is over once an EHLO was answered.
	ehlo(t, f, f.smtpPlain, false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		select {
		case c := <-accepted:
			c.Close()
		default:
		}
	})
	silent := f.sb.Endpoints()
	silent.SMTP = ln.Addr().String()
	x := &f.srv.smtpExt
	x.mu.Lock()
	x.known[silent.SMTP] = []string{"8BITMIME", "SIZE 1000", "XKNOWN"}
	x.mu.Unlock()
	f.srv.SetDirectory(probeDir{f.dir, []core.Endpoints{silent}})
	c := <-accepted // the probe is under way and will hang for probeTimeout
	accepted <- c
	nc, err := net.Dial("tcp", f.smtpPlain)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// Well under probeTimeout: an EHLO that waited for the probe fails.
	nc.SetDeadline(time.Now().Add(probeTimeout / 2))
	conn := textproto.NewConn(nc)
	expect(t, conn, 220, "")
	if lines := ehloAgain(t, conn); !slices.Contains(lines, "XKNOWN") || !slices.Contains(lines, "SIZE 1000") {
		t.Fatalf("EHLO during the refresh: want the known extensions, got %q", lines)
	}
}

// TestProxySMTPPlainRefusedOffLoopback: an SMTP STARTTLS listener on an
// address that is not loopback offers no AUTH and refuses one before
// STARTTLS, and takes it after.
func TestProxySMTPPlainRefusedOffLoopback(t *testing.T) {
	f := startFixture(t, Config{})
	addr := f.serveOffLoopback(t, SMTP)
	user := f.sb.Users()[0]
	c, lines := ehlo(t, f, addr, false)
	if got := authLines(lines); len(got) != 0 || !slices.Contains(lines, "STARTTLS") {
		t.Fatalf("EHLO before STARTTLS off loopback: want STARTTLS and no AUTH, got %q", lines)
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + f.password[user]))
	if err := c.PrintfLine("AUTH PLAIN %s", plain); err != nil {
		t.Fatal(err)
	}
	expect(t, c, 530, "5.7.0 Must issue a STARTTLS command first")
	if err := sendMail(f, addr, true, user, f.password[user], user, "Subject: x\r\n\r\nx\r\n"); err != nil {
		t.Fatalf("after STARTTLS off loopback: %v", err)
	}
}

// TestEHLOFilter: the server's AUTH, STARTTLS, XCLIENT and XFORWARD lines
// leave its replies to the client's EHLO commands wherever they are (the
// last line's separator mended), pipelined or not, however the bytes are
// split; every other reply passes unchanged, among them a multi-line 250
// (EXPN's list) whose lines look like extensions, also after a message
// sent by DATA or BDAT whose content holds an "EHLO" line. XCLIENT and
// XFORWARD commands go to the server as NOOP, whose reply the client gets
// as the proxy's 502, in its place among pipelined replies (a 421 to the
// NOOP reaches it); lines that only look like them pass: a longer verb,
// an XCLIENT line in a message's content.
func TestEHLOFilter(t *testing.T) {
	// one step: what the client sends and what of it goes upstream, then
	// what the server answers and what of it the client must get ("=": all
	// of it)
	type step struct{ client, upstream, server, want string }
	const (
		expn      = "EXPN team\r\n"
		expnReply = "250-Auth Team <auth@example.test>\r\n250-STARTTLS Fans <tls@example.test>\r\n250 XCLIENT Desk <x@example.test>\r\n"
		ehlo      = "EHLO client.example\r\n"
		ehloReply = "250-mx at your service\r\n250-SIZE 100\r\n250-AUTH LOGIN XOAUTH2\r\n250-XCLIENT ADDR NAME\r\n250-XFORWARD ADDR\r\n250 SMTPUTF8\r\n"
		ehloKept  = "250-mx at your service\r\n250-SIZE 100\r\n250 SMTPUTF8\r\n"
		noopOK    = "250 2.0.0 OK\r\n"
	)
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"EHLO", []step{{ehlo, "=", ehloReply, ehloKept}}},
		{"EHLO, last lines dropped", []step{{ehlo, "=", "250-mx\r\n250-SIZE 100\r\n250-STARTTLS\r\n250 AUTH=LOGIN\r\n", "250-mx\r\n250 SIZE 100\r\n"}}},
		{"EHLO, only AUTH", []step{{ehlo, "=", "250-mx\r\n250 AUTH PLAIN\r\n", "250 mx\r\n"}}},
		{"EXPN", []step{{expn, "=", expnReply, "="}, {ehlo, "=", ehloReply, ehloKept}}},
		{"one-line replies", []step{{"NOOP\r\nMAIL FROM:<a@example.test>\r\n", "=", "250 AUTH is fine as a one-line reply\r\n550-5.7.1 AUTH\r\n550 5.7.1 no\r\n", "="}}},
		{"pipelined", []step{{"RSET\r\n" + ehlo, "=", "250 2.0.0 OK\r\n" + ehloReply, "250 2.0.0 OK\r\n" + ehloKept}, {expn, "=", expnReply, "="}}},
		{"DATA", []step{
			{"MAIL FROM:<a@example.test>\r\nRCPT TO:<a@example.test>\r\nDATA\r\n", "=", "250 2.1.0 OK\r\n250 2.1.5 OK\r\n354 Go ahead\r\n", "="},
			// read as commands, the "EHLO" line would be answered by EXPN's reply
			{"Subject: x\r\n" + ehlo + "\r\n..\r\n.\r\n" + expn, "=", "250 2.0.0 OK queued\r\n" + expnReply, "="},
			{ehlo, "=", ehloReply, ehloKept},
		}},
		{"DATA refused", []step{{"DATA\r\n", "=", "554 5.5.1 No valid recipients\r\n", "="}, {ehlo, "=", ehloReply, ehloKept}, {expn, "=", expnReply, "="}}},
		{"BDAT", []step{
			// likewise if the chunks were read as commands
			{"BDAT 27\r\nX: y\r\n" + ehlo + "BDAT 8 LAST\r\n\r\nbody\r\n" + expn, "=", "250 2.0.0 OK 27 octets\r\n250 2.0.0 OK queued\r\n" + expnReply, "="},
			{ehlo, "=", ehloReply, ehloKept},
		}},
		{"XCLIENT", []step{{"XCLIENT ADDR=192.0.2.7\r\n", "NOOP\r\n", noopOK, blockedReply("XCLIENT")}}},
		{"XFORWARD, lower case, no argument", []step{{"xforward\r\n", "NOOP\r\n", noopOK, blockedReply("XFORWARD")}}},
		{"XCLIENT pipelined", []step{{
			"RSET\r\n" + ehlo + "XCLIENT ADDR=192.0.2.7 NAME=spoof.example\r\nXFORWARD ADDR=192.0.2.7\r\n" + ehlo + "MAIL FROM:<a@example.test>\r\n",
			"RSET\r\n" + ehlo + "NOOP\r\nNOOP\r\n" + ehlo + "MAIL FROM:<a@example.test>\r\n",
			noopOK + ehloReply + noopOK + noopOK + ehloReply + "250 2.1.0 OK\r\n",
			noopOK + ehloKept + blockedReply("XCLIENT") + blockedReply("XFORWARD") + ehloKept + "250 2.1.0 OK\r\n",
		}}},
		{"XCLIENT, the server closing", []step{{"XCLIENT ADDR=192.0.2.7\r\nNOOP\r\n", "NOOP\r\nNOOP\r\n", "421-4.3.2 going\r\n421 4.3.2 down\r\n", "421 4.3.2 down\r\n"}}},
		{"XCLIENT look-alikes", []step{
			{"XCLIENTS\r\nXFORWARDED x\r\nXCL\r\nDATA\r\n", "=", "502 5.5.1 no\r\n502 5.5.1 no\r\n502 5.5.1 no\r\n354 Go ahead\r\n", "="},
			{"XCLIENT ADDR=192.0.2.7\r\n.\r\nXCLIENT ADDR=192.0.2.7\r\n", "XCLIENT ADDR=192.0.2.7\r\n.\r\nNOOP\r\n", "250 2.0.0 queued\r\n" + noopOK, "250 2.0.0 queued\r\n" + blockedReply("XCLIENT")},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			longest := 0
			for _, st := range tc.steps {
				longest = max(longest, len(st.client), len(st.server))
			}
			same := func(want, given string) string {
				if want == "=" {
					return given
				}
				return want
			}
			for split := 0; split <= longest; split++ {
				f := &ehloFilter{}
				for i, st := range tc.steps {
					c := min(split, len(st.client))
					up := string(f.commands(nil, []byte(st.client[:c])))
					up += string(f.commands(nil, []byte(st.client[c:])))
					if want := same(st.upstream, st.client); up != want {
						t.Fatalf("step %d, split at %d: the server gets %q, want %q", i, split, up, want)
					}
					r := min(split, len(st.server))
					out := f.feed(nil, []byte(st.server[:r]))
					out = f.feed(out, []byte(st.server[r:]))
					if want := same(st.want, st.server); string(out) != want {
						t.Fatalf("step %d, split at %d: the client gets %q, want %q", i, split, out, want)
					}
				}
			}
		})
	}
}
