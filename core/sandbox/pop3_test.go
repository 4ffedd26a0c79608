package sandbox

import (
	"crypto/tls"
	"encoding/base64"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/mailproto"
)

func dialPOP3(t *testing.T, sb *Sandbox) *textproto.Conn {
	t.Helper()
	nc, err := tls.Dial("tcp", sb.Endpoints().POP3, tlsConfig(t, sb))
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second)) // a hang guard
	c := textproto.NewConn(nc)
	t.Cleanup(func() { c.Close() })
	return c
}

// popSay sends a command and returns the reply's line.
func popSay(t *testing.T, c *textproto.Conn, cmd string) string {
	t.Helper()
	if err := c.PrintfLine("%s", cmd); err != nil {
		t.Fatal(err)
	}
	line, err := c.ReadLine()
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return line
}

func wantLine(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

func TestPOP3GreetsAndRefusesAsGmail(t *testing.T) {
	u := "user1@example.test"
	sb, _ := mailSandbox(t, u)
	sb.Authorize(sb.ClientID(), []string{core.ScopeMail, core.ScopeGmailSend})
	sendOnly := mustMint(t, sb, u, core.ScopeGmailSend)
	c := dialPOP3(t, sb)
	greeting, err := c.ReadLine()
	if err != nil || !regexp.MustCompile(`^\+OK Gpop ready for requests from 127\.0\.0\.1 \w+$`).MatchString(greeting) {
		t.Fatalf("greeting %q, %v", greeting, err)
	}
	wantLine(t, "CAPA", popSay(t, c, "CAPA"), "+OK Capability list follows")
	caps, err := c.ReadDotLines()
	if listed := "\n" + strings.Join(caps, "\n") + "\n"; err != nil || !strings.Contains(listed, "\nSASL PLAIN XOAUTH2 OAUTHBEARER\n") || !strings.Contains(listed, "\nUIDL\n") {
		t.Fatalf("CAPA lists %q, %v", caps, err)
	}
	wantLine(t, "USER", popSay(t, c, "USER "+u), "+OK send PASS")
	wantLine(t, "PASS", popSay(t, c, "PASS the-google-password"), "-ERR [AUTH] Username and password not accepted.")
	wantLine(t, "STAT before a login", popSay(t, c, "STAT"), "-ERR bad command")

	// A token without the mail scope: Gmail's JSON challenge, then -ERR
	// once the client answers it.
	ir := base64.StdEncoding.EncodeToString((&xoauth2{user: u, token: sendOnly}).resp())
	ch := popSay(t, c, "AUTH XOAUTH2 "+ir)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(ch, "+ "))
	if !strings.HasPrefix(ch, "+ ") || err != nil || string(raw) != string(gmailChallenge()) {
		t.Fatalf("refused token: got %q, want the challenge %s", ch, gmailChallenge())
	}
	wantLine(t, "the answer to the challenge", popSay(t, c, ""), "-ERR [AUTH] Invalid credentials.")
	wantLine(t, "QUIT", popSay(t, c, "QUIT"), "+OK Farewell.")
	if n := sb.Logins()[mailproto.XOAUTH2]; n != 0 {
		t.Fatalf("%d logins accepted, want none", n)
	}
}

func TestPOP3ReadsAndDeletesTheINBOX(t *testing.T) {
	u := "user1@example.test"
	sb, tok := mailSandbox(t, u)
	first := "Subject: one\r\n\r\nline 1\r\nline 2\r\n"
	second := "Subject: two\r\n\r\n.a line starting with a dot\r\n"
	sb.deliver(u, []byte(first), time.Now())
	sb.deliver(u, []byte(second), time.Now())

	c := dialPOP3(t, sb)
	if _, err := c.ReadLine(); err != nil {
		t.Fatal(err)
	}
	// No initial response: the empty challenge asks for it (RFC 5034).
	wantLine(t, "AUTH", popSay(t, c, "AUTH XOAUTH2"), "+ ")
	wantLine(t, "login", popSay(t, c, base64.StdEncoding.EncodeToString((&xoauth2{user: u, token: tok}).resp())), "+OK Welcome.")
	size := len(first) + len(second)
	wantLine(t, "STAT", popSay(t, c, "STAT"), "+OK 2 "+strconv.Itoa(size))
	wantLine(t, "LIST", popSay(t, c, "LIST"), "+OK 2 messages ("+strconv.Itoa(size)+" bytes)")
	if l, err := c.ReadDotLines(); err != nil || strings.Join(l, ",") != "1 "+strconv.Itoa(len(first))+",2 "+strconv.Itoa(len(second)) {
		t.Fatalf("LIST: %q, %v", l, err)
	}
	wantLine(t, "UIDL", popSay(t, c, "UIDL"), "+OK")
	uids, err := c.ReadDotLines()
	if err != nil || len(uids) != 2 || uids[0] == uids[1] || !strings.HasPrefix(uids[1], "2 GmailId") {
		t.Fatalf("UIDL: %q, %v", uids, err)
	}
	wantLine(t, "RETR", popSay(t, c, "RETR 2"), "+OK message follows")
	if l, err := c.ReadDotLines(); err != nil || strings.Join(l, "\r\n")+"\r\n" != second {
		t.Fatalf("RETR 2 (dot-stuffed on the wire): %q, %v", l, err)
	}
	wantLine(t, "TOP", popSay(t, c, "TOP 1 1"), "+OK message follows")
	if l, err := c.ReadDotLines(); err != nil || strings.Join(l, "\r\n") != "Subject: one\r\n\r\nline 1" {
		t.Fatalf("TOP 1 1: %q, %v", l, err)
	}
	wantLine(t, "DELE", popSay(t, c, "DELE 1"), "+OK marked for deletion")
	wantLine(t, "RETR of a deleted message", popSay(t, c, "RETR 1"), "-ERR no such message")
	wantLine(t, "RSET", popSay(t, c, "RSET"), "+OK")
	wantLine(t, "STAT after RSET", popSay(t, c, "STAT"), "+OK 2 "+strconv.Itoa(size))
	wantLine(t, "DELE", popSay(t, c, "DELE 1"), "+OK marked for deletion")
	wantLine(t, "NOOP", popSay(t, c, "NOOP"), "+OK")
	if n := sb.MessageCount(u); n != 2 {
		t.Fatalf("before QUIT the INBOX has %d messages, want 2", n)
	}
	wantLine(t, "QUIT", popSay(t, c, "QUIT"), "+OK Farewell.")
	if n := sb.MessageCount(u); n != 1 {
		t.Fatalf("after QUIT the INBOX has %d messages, want 1 (message 1 deleted)", n)
	}
	if n := sb.Logins()[mailproto.XOAUTH2]; n != 1 {
		t.Fatalf("%d XOAUTH2 logins counted, want 1", n)
	}
}
