package sandbox

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestIMAPGreetsAsGmail: the sandbox's IMAP greets as Gmail does, with no
// capabilities (a client must ask for them), and answers a successful
// AUTHENTICATE with an untagged CAPABILITY before a tagged OK that names
// the user, as Gmail does.
func TestIMAPGreetsAsGmail(t *testing.T) {
	u := "user1@example.test"
	sb, tok := mailSandbox(t, u)
	c, err := tls.Dial("tcp", sb.Endpoints().IMAP, tlsConfig(t, sb))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	line := func() string {
		t.Helper()
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", l, err)
		}
		return l
	}
	if g := line(); !regexp.MustCompile(`^\* OK Gimap ready for requests from 127\.0\.0\.1 [a-z0-9]+\r\n$`).MatchString(g) {
		t.Fatalf("greeting %q, want Gmail's \"* OK Gimap ready for requests from 127.0.0.1 <id>\" without capabilities", g)
	}
	_, _ = io.WriteString(c, "a1 CAPABILITY\r\n")
	if caps := line(); !strings.HasPrefix(caps, "* CAPABILITY ") || !strings.Contains(caps, " SASL-IR") || !strings.Contains(caps, " AUTH=XOAUTH2") || strings.Contains(caps, "STARTTLS") {
		t.Fatalf("CAPABILITY answered %q, want SASL-IR and AUTH=XOAUTH2 and no STARTTLS (Gmail's port 993 has none)", caps)
	}
	if ok := line(); !strings.HasPrefix(ok, "a1 OK ") {
		t.Fatalf("CAPABILITY ended with %q", ok)
	}
	ir := base64.StdEncoding.EncodeToString([]byte("user=" + u + "\x01auth=Bearer " + tok + "\x01\x01"))
	_, _ = io.WriteString(c, "a2 AUTHENTICATE XOAUTH2 "+ir+"\r\n")
	if caps := line(); !strings.HasPrefix(caps, "* CAPABILITY ") || !strings.Contains(caps, " IDLE") {
		t.Fatalf("after AUTHENTICATE %q, want Gmail's untagged CAPABILITY first", caps)
	}
	if ok := line(); ok != "a2 OK "+u+" authenticated (Success)\r\n" {
		t.Fatalf("AUTHENTICATE ended with %q, want Gmail's \"a2 OK %s authenticated (Success)\"", ok, u)
	}
	// From here on the server's lines pass untouched.
	_, _ = io.WriteString(c, "a3 NOOP\r\n")
	if ok := line(); !strings.HasPrefix(ok, "a3 OK ") {
		t.Fatalf("NOOP after login: %q", ok)
	}
}

// TestIMAPStartTLSListenerGreetsAsGmail: the plain listener greets the
// same way; its STARTTLS still works (the rewrite stops at the greeting).
func TestIMAPStartTLSListenerGreetsAsGmail(t *testing.T) {
	sb := start(t, Options{})
	c, err := net.Dial("tcp", sb.IMAPStartTLSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	if g, _ := br.ReadString('\n'); !strings.HasPrefix(g, "* OK Gimap ready for requests from 127.0.0.1 ") {
		t.Fatalf("greeting %q", g)
	}
	_, _ = io.WriteString(c, "s1 STARTTLS\r\n")
	if ok, _ := br.ReadString('\n'); !strings.HasPrefix(ok, "s1 OK ") {
		t.Fatalf("STARTTLS: %q", ok)
	}
	tc := tls.Client(c, tlsConfig(t, sb))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(tc, "s2 CAPABILITY\r\n")
	if caps, _ := bufio.NewReader(tc).ReadString('\n'); !strings.Contains(caps, "AUTH=XOAUTH2") {
		t.Fatalf("CAPABILITY under TLS: %q", caps)
	}
}
