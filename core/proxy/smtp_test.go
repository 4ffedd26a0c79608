package proxy

import (
	"encoding/base64"
	"net/textproto"
	"testing"
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
