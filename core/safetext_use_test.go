package core

import (
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"
)

// rawControl reports whether s holds a control character a terminal obeys.
func rawControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x202e
	})
}

// Issue 15 item 7: untrusted text reached the terminal raw.
func TestKeyWithEscapeInClientEmailIsRefusedAndShownEscaped(t *testing.T) {
	for _, field := range []string{"client_email", "project_id", "private_key_id"} {
		data := serviceAccountJSON(t, func(m map[string]any) { m[field] = "mailer\x1b[2J\x1b]0;pwned\x07@acme.iam.gserviceaccount.com" })
		_, err := ParseCredential(data, CredentialOptions{})
		f := FindingOf(err)
		if f == nil || f.Code != CodeInvalidKey {
			t.Fatalf("%s with ESC: %v, want invalid_key", field, err)
		}
		if rawControl(err.Error()) || !strings.Contains(err.Error(), `\x1b[2J`) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: message %q: want the field named and the ESC shown as \\x1b", field, err.Error())
		}
	}
	// an OAuth client's fields, and a .p12's typed e-mail, too
	_, err := ParseCredential([]byte(`{"installed":{"client_id":"1-a.apps.googleusercontent.com","project_id":"p\u202etxt","client_secret":"s"}}`), CredentialOptions{})
	if err == nil || rawControl(err.Error()) || !strings.Contains(err.Error(), `\u202e`) {
		t.Errorf("OAuth client with a bidi override: %v", err)
	}
}

func TestServerReplyWithEscapesReachesFindingsEscaped(t *testing.T) {
	d := DiagContext{Mailbox: "user1@example.test", Check: CheckIMAP, Endpoints: Endpoints{IMAP: "imap.example.test:993", SMTP: "smtp.example.test:465"}}
	evil := "Go away\x1b[2J\x1b]0;owned\x07\r\x00\u009b31m\u202e"
	for _, err := range []error{
		&imap.Error{Type: imap.StatusResponseTypeNo, Text: evil},
		&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: evil},
		&smtp.SMTPError{Code: 550, Message: evil},
		&smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: evil},
		errors.New(evil),
	} {
		for _, c := range []CheckName{CheckIMAP, CheckSMTP, CheckToken} {
			d.Check = c
			f := Diagnose(err, d)
			if f == nil {
				continue
			}
			if rawControl(f.Summary) || rawControl(f.Fix) || rawControl(f.String()) {
				t.Errorf("%T on %s: raw control characters in %q", err, c, f.String())
			}
		}
	}
	if f := Diagnose(&smtp.SMTPError{Code: 550, Message: evil}, DiagContext{Check: CheckSMTP}); !strings.Contains(f.Summary, `Go away\x1b[2J`) {
		t.Errorf("the reply is not shown escaped: %q", f.Summary)
	}
}
