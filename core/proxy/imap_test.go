package proxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"

	"github.com/mailoauth/mailoauth/core"
)

// rawIMAP is a client of the proxy's implicit-TLS IMAP listener that reads
// and writes lines itself, greeting read.
func (f *fixture) rawIMAP(t testing.TB) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := tls.Dial("tcp", f.imapTLS, f.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "* OK") {
		t.Fatalf("greeting: %q %v", line, err)
	}
	return conn, br
}

// TestProxyTagOnlyLinesDisconnect: a client that is not logged in and
// sends line after line with a tag and no command gets a BAD for each up to
// the bad-command limit and is then disconnected, and the proxy goes on
// serving other clients.
func TestProxyTagOnlyLinesDisconnect(t *testing.T) {
	f := startFixture(t, Config{})
	conn, br := f.rawIMAP(t)
	const lines = 10000
	bads, closed := 0, false
	for i := 0; i < lines && !closed; i++ {
		if _, err := fmt.Fprintf(conn, "a%d\r\n", i); err != nil {
			closed = true
			break
		}
		line, err := br.ReadString('\n')
		switch {
		case err == io.EOF:
			closed = true
		case err != nil:
			t.Fatalf("after %d tag-only lines: %v", i, err)
		case line == fmt.Sprintf("a%d BAD missing command\r\n", i):
			bads++
		case line == "* BYE mailoauth proxy: too many bad commands\r\n":
			if _, err := br.ReadString('\n'); err != io.EOF {
				t.Fatalf("after the BYE the connection should be closed, got %v", err)
			}
			closed = true
		default:
			t.Fatalf("tag-only line %d: unexpected reply %q", i, line)
		}
	}
	if !closed || bads != maxBadCommands {
		t.Fatalf("want %d BAD replies and the connection closed, got %d BAD replies (closed: %v) after up to %d tag-only lines", maxBadCommands, bads, closed, lines)
	}
	user := f.sb.Users()[0]
	c := f.loggedIn(t, user)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("another client after the disconnect: %v", err)
	}
}

// TestProxyAppendFetchLarge: a 1 MB message APPENDed through the proxy (a
// synchronising literal, relayed as it is) comes back byte for byte from
// a FETCH through the proxy.
func TestProxyAppendFetchLarge(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[1]
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: large append %d\r\n\r\n", user, user, time.Now().UnixNano())
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "%07d %s\r\n", i, strings.Repeat(string(rune('a'+i%26)), 90))
	}
	msg := []byte(b.String())
	c := f.loggedIn(t, user)
	// A relay that lost or added a byte would leave a literal waiting.
	guard := time.AfterFunc(60*time.Second, func() { c.Close() })
	defer guard.Stop()
	app := c.Append("INBOX", int64(len(msg)), nil)
	if _, err := app.Write(msg); err != nil {
		t.Fatalf("APPEND through the proxy: writing: %v", err)
	}
	if err := app.Close(); err != nil {
		t.Fatalf("APPEND through the proxy: %v", err)
	}
	if _, err := app.Wait(); err != nil {
		t.Fatalf("APPEND through the proxy: %v", err)
	}
	if n := f.sb.MessageCount(user); n != 1 {
		t.Fatalf("the server holds %d messages after the APPEND, want 1", n)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	whole := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{whole}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH BODY.PEEK[] through the proxy: %v, %d messages", err, len(msgs))
	}
	got := msgs[0].FindBodySection(whole)
	if !bytes.Equal(got, msg) {
		i := 0
		for i < len(got) && i < len(msg) && got[i] == msg[i] {
			i++
		}
		t.Fatalf("FETCH through the proxy: %d bytes back for %d sent, first difference at byte %d", len(got), len(msg), i)
	}
}

// TestProxyAuthenticatePlain: AUTHENTICATE PLAIN logs in with the initial
// response on the command line (SASL-IR) and after the "+" continuation;
// a cancelled exchange ("*") is a bad command and the connection stays.
func TestProxyAuthenticatePlain(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + f.password[user]))
	expect := func(br *bufio.Reader, prefix string) {
		t.Helper()
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, prefix) {
			t.Fatalf("want a line starting %q, got %q (%v)", prefix, line, err)
		}
	}
	selectInbox := func(conn *tls.Conn, br *bufio.Reader) {
		t.Helper()
		fmt.Fprintf(conn, "s1 SELECT INBOX\r\n")
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("SELECT after AUTHENTICATE PLAIN: %v", err)
			}
			if strings.HasPrefix(line, "s1 ") {
				if !strings.HasPrefix(line, "s1 OK") {
					t.Fatalf("SELECT after AUTHENTICATE PLAIN: %q", line)
				}
				return
			}
		}
	}

	conn, br := f.rawIMAP(t)
	fmt.Fprintf(conn, "a1 AUTHENTICATE PLAIN %s\r\n", plain)
	expect(br, "a1 OK [CAPABILITY ")
	selectInbox(conn, br)

	conn, br = f.rawIMAP(t)
	fmt.Fprintf(conn, "a1 AUTHENTICATE PLAIN\r\n")
	expect(br, "+")
	fmt.Fprintf(conn, "*\r\n")
	expect(br, "a1 BAD the PLAIN response is not valid (or cancelled)")
	fmt.Fprintf(conn, "a2 AUTHENTICATE PLAIN\r\n")
	expect(br, "+")
	fmt.Fprintf(conn, "%s\r\n", plain)
	expect(br, "a2 OK [CAPABILITY ")
	selectInbox(conn, br)

	if f.auditedCount(func(l Login) bool { return l.OK && l.Mailbox == user && l.Protocol == IMAP }) != 2 {
		t.Fatalf("want the 2 AUTHENTICATE PLAIN logins audited, got %+v", f.audited())
	}
}

// TestProxyUpstreamUnreachable: when the mailbox's server cannot be
// reached, the client is told to retry later (IMAP NO [UNAVAILABLE], SMTP
// 454 4.7.0) with the finding's code, and the log has the code and its fix.
func TestProxyUpstreamUnreachable(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	ep := f.sb.Endpoints()
	ep.IMAP, ep.SMTP = closed, closed
	f.upstreamTo(t, user, ep)

	c := f.dialIMAP(t)
	err = c.Login(user, f.password[user]).Wait()
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeUnavailable || ie.Text != "mailoauth: connect_failed, see the log" {
		t.Fatalf("LOGIN with the server unreachable: want NO [UNAVAILABLE] mailoauth: connect_failed, see the log; got %v", err)
	}
	err = sendMail(f, f.smtpTLS, false, user, f.password[user], user, "Subject: x\r\n\r\nx\r\n")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 454 || se.EnhancedCode != (smtp.EnhancedCode{4, 7, 0}) || !strings.Contains(se.Message, "mailoauth: connect_failed, see the log") {
		t.Fatalf("SMTP AUTH with the server unreachable: want 454 4.7.0 mailoauth: connect_failed, see the log; got %v", err)
	}
	lg := f.log.String()
	for _, proto := range []string{"imap", "smtp"} {
		found := false
		for _, line := range strings.Split(lg, "\n") {
			if strings.Contains(line, "the mail server refused the mailbox's login") && strings.Contains(line, "protocol="+proto) &&
				strings.Contains(line, "code=connect_failed") && strings.Contains(line, "fix=") && strings.Contains(line, closed) {
				found = true
			}
		}
		if !found {
			t.Fatalf("no %s log line with code=connect_failed, the fix and the server %s:\n%s", proto, closed, lg)
		}
	}
	if f.auditedCount(func(l Login) bool { return !l.OK && l.Reason == string(core.CodeConnectFailed) }) != 2 {
		t.Fatalf("want both refusals audited as connect_failed, got %+v", f.audited())
	}
}

// TestProxyByeReachesAClientStillSending: a client that sends commands
// without reading the replies (a script, or pipelining) and is
// disconnected for too many bad ones still reads the BYE saying why, then
// the end of the connection. Closing a socket with the client's commands
// unread makes the kernel send a reset, which discards the BYE if it has
// not gone out yet; here far more is sent than the proxy reads.
func TestProxyByeReachesAClientStillSending(t *testing.T) {
	f := startFixture(t, Config{})
	conn, br := f.rawIMAP(t)
	var b strings.Builder
	for i := 0; b.Len() < 4<<20; i++ {
		fmt.Fprintf(&b, "a%d\r\n", i)
	}
	go func() { _, _ = io.WriteString(conn, b.String()) }() // it fails once the proxy is gone
	var bye bool
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the replies (BYE seen: %v): %v", bye, err)
		}
		bye = bye || line == "* BYE mailoauth proxy: too many bad commands\r\n"
	}
	if !bye {
		t.Fatal("the connection ended without the BYE saying why")
	}
}
