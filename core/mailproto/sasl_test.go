package mailproto

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// gmailChallenge is the JSON error challenge Gmail sends for a refused token.
var gmailChallenge = Challenge{Status: "400", Schemes: "Bearer", Scope: "https://mail.google.com/"}

func TestSASLInitialResponses(t *testing.T) {
	mech, ir, err := NewOAuthClient(XOAUTH2, "u@example.test", "ya29.abc").Start()
	if err != nil || mech != "XOAUTH2" || string(ir) != "user=u@example.test\x01auth=Bearer ya29.abc\x01\x01" {
		t.Fatalf("XOAUTH2 %q %q %v", mech, ir, err)
	}
	mech, ir, err = NewOAuthClient(OAUTHBEARER, "u@example.test", "ya29.abc").Start()
	if err != nil || mech != "OAUTHBEARER" || string(ir) != "n,a=u@example.test,\x01auth=Bearer ya29.abc\x01\x01" {
		t.Fatalf("OAUTHBEARER %q %q %v", mech, ir, err)
	}
	if mech, _, _ := NewOAuthClient("", "u@example.test", "t").Start(); mech != XOAUTH2 {
		t.Fatalf("no mechanism named: %s, want the default XOAUTH2", mech)
	}
}

// TestOAuthResponseRoundTrip: what the client sends, the server's side
// reads back as the same user and token, for both mechanisms.
func TestOAuthResponseRoundTrip(t *testing.T) {
	for _, mech := range []string{XOAUTH2, OAUTHBEARER} {
		_, ir, _ := NewOAuthClient(mech, "u@example.test", "ya29.abc").Start()
		user, tok, ok := ParseOAuthResponse(mech, ir)
		if !ok || user != "u@example.test" || tok != "ya29.abc" {
			t.Errorf("%s: parsed %q %q %v from %q", mech, user, tok, ok, ir)
		}
	}
	if _, _, ok := ParseOAuthResponse(XOAUTH2, []byte("user=u@example.test\x01\x01")); ok {
		t.Error("a response without a token parsed as a login")
	}
}

func TestSASLErrorChallenge(t *testing.T) {
	ch, _ := json.Marshal(gmailChallenge)
	x := NewOAuthClient(XOAUTH2, "u@example.test", "t")
	resp, err := x.Next(ch)
	if err != nil || resp == nil || len(resp) != 0 {
		t.Fatalf("XOAUTH2 answer %q %v (want empty, non-nil)", resp, err)
	}
	if got := x.ErrorChallenge(); got == nil || *got != gmailChallenge {
		t.Fatalf("challenge %+v", got)
	}
	o := NewOAuthClient(OAUTHBEARER, "u@example.test", "t")
	resp, err = o.Next(ch)
	if err != nil || string(resp) != "\x01" {
		t.Fatalf("OAUTHBEARER answer %q %v", resp, err)
	}
	if got := o.ErrorChallenge(); got == nil || *got != gmailChallenge {
		t.Fatalf("OAUTHBEARER challenge %+v", got)
	}
	if ParseChallenge([]byte("not json")) != nil || ParseChallenge(nil) != nil {
		t.Fatal("non-JSON parsed as a challenge")
	}
}

func TestSMTPAuthLineDecision(t *testing.T) {
	for _, tc := range []struct {
		tokenLen int
		split    bool
	}{{100, false}, {300, false}, {340, true}, {1000, true}} {
		tok := strings.Repeat("a", tc.tokenLen)
		inner := NewOAuthClient(XOAUTH2, "user1@example.test", tok)
		_, ir, _ := inner.Start()
		line := "AUTH XOAUTH2 " + base64.StdEncoding.EncodeToString(ir) + "\r\n"
		if got := SMTPAuthLineTooLong("XOAUTH2", ir); got != (len(line) > SMTPMaxCommandLine) || got != tc.split {
			t.Fatalf("token %d: line %d bytes, too long=%v, want %v", tc.tokenLen, len(line), got, tc.split)
		}
		w := SMTPAuthClient(NewOAuthClient(XOAUTH2, "user1@example.test", tok))
		mech, wir, _ := w.Start()
		if mech != "XOAUTH2" {
			t.Fatal(mech)
		}
		if tc.split {
			if wir != nil {
				t.Fatalf("token %d: initial response kept on the AUTH line", tc.tokenLen)
			}
			next, err := w.Next([]byte{})
			if err != nil || string(next) != string(ir) {
				t.Fatalf("token %d: response to empty 334 = %q, %v", tc.tokenLen, next, err)
			}
		} else if string(wir) != string(ir) {
			t.Fatalf("token %d: initial response changed", tc.tokenLen)
		}
		// After the initial response, a challenge is the error report.
		resp, _ := w.Next([]byte(`{"status":"400"}`))
		if resp == nil || len(resp) != 0 {
			t.Fatalf("error challenge answered %q", resp)
		}
	}
}

// fakeSMTP plays Gmail's submission server on one end of a pipe: it refuses
// command lines over 512 bytes with 555 5.5.2 and, when refuse is set,
// answers AUTH with the JSON challenge and 535 5.7.8.
func fakeSMTP(t *testing.T, conn net.Conn, wantToken string, refuse bool) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	w := func(s string) { fmt.Fprint(conn, s) }
	w("220 smtp.gmail.test ESMTP\r\n")
	// Only command lines are limited; a SASL response after 334 may be
	// longer (RFC 4954 allows 12288 octets).
	readResp := func() string {
		l, _ := r.ReadString('\n')
		return strings.TrimRight(l, "\r\n")
	}
	readLine := func() (string, bool) {
		l, err := r.ReadString('\n')
		if err != nil {
			return "", false
		}
		if len(l) > SMTPMaxCommandLine {
			w("555 5.5.2 Syntax error, command line too long.\r\n")
			return "", true
		}
		return strings.TrimRight(l, "\r\n"), true
	}
	check := func(b64 string) {
		ir, _ := base64.StdEncoding.DecodeString(b64)
		if refuse || !strings.Contains(string(ir), "auth=Bearer "+wantToken+"\x01") {
			ch, _ := json.Marshal(gmailChallenge)
			w("334 " + base64.StdEncoding.EncodeToString(ch) + "\r\n")
			if l := readResp(); l != "" {
				t.Errorf("answer to the error challenge was %q, want empty", l)
			}
			w("535-5.7.8 Username and Password not accepted. For more information, go to\r\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials\r\n")
			return
		}
		w("235 2.7.0 Accepted\r\n")
	}
	for {
		l, ok := readLine()
		if !ok {
			return
		}
		switch {
		case l == "":
		case strings.HasPrefix(l, "EHLO"):
			w("250-smtp.gmail.test\r\n250 AUTH LOGIN PLAIN XOAUTH2 OAUTHBEARER\r\n")
		case l == "AUTH XOAUTH2":
			w("334 \r\n")
			check(readResp())
		case strings.HasPrefix(l, "AUTH XOAUTH2 "):
			check(strings.TrimPrefix(l, "AUTH XOAUTH2 "))
		case l == "QUIT":
			w("221 2.0.0 closing\r\n")
			return
		default:
			w("502 5.5.1 Unrecognized command.\r\n")
		}
	}
}

func authOverPipe(t *testing.T, token string, refuse, wrap bool) (error, *OAuthClient) {
	a, b := net.Pipe()
	go fakeSMTP(t, b, token, refuse)
	_ = a.SetDeadline(time.Now().Add(5 * time.Second))
	c := smtp.NewClient(a)
	defer c.Close()
	sc := NewOAuthClient(XOAUTH2, "user1@example.test", token)
	var cl sasl.Client = sc
	if wrap {
		cl = SMTPAuthClient(sc)
	}
	err := c.Auth(cl)
	return err, sc
}

func TestSMTPLongTokenOnItsOwnLine(t *testing.T) {
	long := "ya29." + strings.Repeat("x", 1000)
	if err, _ := authOverPipe(t, long, false, true); err != nil {
		t.Fatalf("wrapped client, long token: %v", err)
	}
	if err, _ := authOverPipe(t, "ya29.short", false, true); err != nil {
		t.Fatalf("wrapped client, short token: %v", err)
	}
	// Without the wrapper go-smtp puts the token on the AUTH line: the
	// regression the limit must show.
	err, _ := authOverPipe(t, long, false, false)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 555 {
		t.Fatalf("unwrapped long AUTH line: %v", err)
	}
	// A refused token: the JSON challenge is answered empty and kept.
	err, sc := authOverPipe(t, long, true, true)
	if !errors.As(err, &se) || se.Code != 535 {
		t.Fatalf("refused token: %v", err)
	}
	if ch := sc.ErrorChallenge(); ch == nil || *ch != gmailChallenge {
		t.Fatalf("challenge %+v", ch)
	}
}
