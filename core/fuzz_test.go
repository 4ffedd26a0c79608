package core

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"
	"golang.org/x/oauth2"

	"github.com/mailoauth/mailoauth/core/mailproto"
)

// The fuzz targets of every parser of outside input in core: credential
// files, the legacy file, endpoints.json, the consent answer, server
// replies and their diagnosis, and the sanitiser itself (the CSV import's
// is in core/mailboxcsv).
// Their seeds (f.Add and testdata/fuzz/FuzzXxx) run in every `go test`;
// `make fuzz` runs each for FUZZTIME.

// safeMessage fails unless msg is fit for a terminal: valid UTF-8, no
// control character but (when lines) a newline, and not a runaway size.
func safeMessage(t *testing.T, what, msg string, lines bool) {
	t.Helper()
	if !utf8.ValidString(msg) {
		t.Fatalf("%s: message is not UTF-8: %q", what, msg)
	}
	clean := SafeText(msg)
	if lines {
		clean = SafeLines(msg)
	}
	if clean != msg {
		t.Fatalf("%s: message holds control characters: %q", what, msg)
	}
	if !lines && strings.Contains(msg, "\n") {
		t.Fatalf("%s: message is several lines: %q", what, msg)
	}
}

func FuzzParseCredential(f *testing.F) {
	f.Add(serviceAccountJSON(f, nil), "")
	f.Add([]byte(`{"installed":{"client_id":"1-a.apps.googleusercontent.com","client_secret":"s","redirect_uris":["http://localhost"]}}`), "")
	f.Add([]byte(`{"web":"oops"}`), "")
	f.Add([]byte(`{"type":"authorized_user","client_id":"x","refresh_token":"r"}`), "")
	f.Add([]byte("[1,2,3]"), "")
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nMHc=\n-----END EC PRIVATE KEY-----\n"), "")
	f.Add([]byte{0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03}, "notasecret")
	f.Add(p12With(f, rsaKey(f), DefaultP12Password), DefaultP12Password)
	f.Add([]byte(`{"type":"service_account","client_email":"a\u001b[2J@b","private_key":"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"}`), "")
	f.Fuzz(func(t *testing.T, data []byte, pw string) {
		c, err := ParseCredential(data, CredentialOptions{P12Password: pw, ClientEmail: "mailer@p.iam.gserviceaccount.com", ClientID: "104715287395062714451"})
		if err != nil {
			if c != nil {
				t.Fatalf("a credential and an error: %v", err)
			}
			safeMessage(t, "ParseCredential", err.Error(), false)
			if f := FindingOf(err); f == nil {
				t.Fatalf("the error is not a finding: %T %v", err, err)
			}
			return
		}
		for _, v := range []string{c.ClientEmail, c.ProjectID, c.PrivateKeyID} {
			if SafeText(v) != v {
				t.Fatalf("a field with control characters was accepted: %q", v)
			}
		}
		if c.IsServiceAccount() && (c.PrivateKey == nil || c.PrivateKey.N.BitLen() < minRSABits) {
			t.Fatalf("a service account without an RSA key of %d bits: %+v", minRSABits, c)
		}
		if k := SniffCredentialKind(data); k != c.Kind {
			t.Fatalf("SniffCredentialKind says %q, ParseCredential %q", k, c.Kind)
		}
	})
}

func FuzzParseLegacy(f *testing.F) {
	f.Add([]byte(`{"domain":"example.test","default_sender":"a@example.test","imap":{"host":"imap.example.test","port":993,"security":"ssl"},"smtp":{"host":"smtp.example.test","port":465},"mailboxes":[{"email":"a@example.test","display_name":"A","owner_kind":"user","owner_name":"Ann","username":"a","password":"p"}]}`))
	f.Add([]byte(`{"mailboxes":"x"}`))
	f.Add([]byte(`{"domain":"example.test","mailboxes":[{"email":"a@example.test"},{"email":"A@example.test"},{"email":"x"}]}`))
	f.Add([]byte("\xef\xbb\xbf{\"domain\":\"b\u00fccher.example\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := parseLegacy(data, "legacy.json")
		if err != nil {
			if l != nil {
				t.Fatalf("a config and an error: %v", err)
			}
			safeMessage(t, "parseLegacy", err.Error(), true)
			return
		}
		if _, err := NormalizeDomain(l.Domain); err != nil {
			t.Fatalf("domain %q accepted: %v", l.Domain, err)
		}
		for _, lm := range l.Mailboxes {
			m := lm.mailbox()
			if err := m.Normalize(l.Domain); err != nil {
				t.Fatalf("mailbox %+v accepted: %v", lm, err)
			}
		}
	})
}

func FuzzParseEndpoints(f *testing.F) {
	f.Add([]byte(`{"imap":"127.0.0.1:993","imap_security":"tls","smtp":"127.0.0.1:465","token_url":"http://127.0.0.1:8080/token","ca_file":"/tmp/ca.pem"}`))
	f.Add([]byte(`{"imap":5}`))
	f.Add([]byte(`{"token_url":"http://evil.example/token"}`))
	f.Add([]byte(`{"smtp_security":"none"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := parseEndpoints(data, "endpoints.json")
		if err != nil {
			safeMessage(t, "parseEndpoints", err.Error(), false)
			return
		}
		for _, u := range []string{e.TokenURL, e.AuthURL, e.TokeninfoURL} {
			if u != "" {
				if err := checkSecureURL(u); err != nil {
					t.Fatalf("an insecure URL was accepted: %v", err)
				}
			}
		}
	})
}

func FuzzConsentParseResponse(f *testing.F) {
	cred := &Credential{Kind: KindOAuthClient, ClientID: "1-a.apps.googleusercontent.com", ClientSecret: "s"}
	c, err := NewConsent(cred, Endpoints{}, nil, "user1@example.test", "http://127.0.0.1:8085/callback")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("http://127.0.0.1:8085/callback?state=" + c.state + "&code=4/abc&scope=https://mail.google.com/")
	f.Add("4/0AbCdEf")
	f.Add("?error=access_denied&error_description=The+user+said+no")
	f.Add("http://127.0.0.1/?code=x&state=other")
	f.Add("code=%zz")
	f.Add("error=\x1b[2J")
	f.Fuzz(func(t *testing.T, input string) {
		code, err := c.ParseResponse(input)
		if err != nil {
			if code != "" {
				t.Fatalf("a code and an error: %v", err)
			}
			safeMessage(t, "ParseResponse", err.Error(), false)
			return
		}
		if code == "" {
			t.Fatal("no code and no error")
		}
	})
}

// FuzzDiagnose feeds server replies (IMAP, SMTP, the SASL error challenge,
// the token endpoint's body) to the diagnosis: every failure must become a
// finding of one safe line, and no token-like secret may show.
func FuzzDiagnose(f *testing.F) {
	f.Add("Invalid credentials (Failure)", 535, []byte(`{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}`), []byte(`{"error":"unauthorized_client","error_description":"Client is unauthorized"}`), uint8(0))
	f.Add("[AUTHENTICATIONFAILED] Invalid credentials", 454, []byte(`{"status":"invalid_token"}`), []byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`), uint8(1))
	f.Add("Go away\x1b[2J\x1b]0;owned\x07 ya29.c."+strings.Repeat("A", 60), 550, []byte("not json"), []byte("<html>"), uint8(2))
	f.Add("", 0, []byte(nil), []byte(nil), uint8(3))
	f.Fuzz(func(t *testing.T, text string, code int, challenge, body []byte, which uint8) {
		d := DiagContext{Mailbox: "user1@example.test", Domain: "example.test", clientID: "104715287395062714451",
			Scopes: []string{ScopeMail}, Endpoints: Endpoints{IMAP: "imap.example.test:993", SMTP: "smtp.example.test:465"},
			clock: func() time.Time { return time.Unix(1e9, 0) }}
		checks := []CheckName{CheckToken, CheckIMAP, CheckSMTP, CheckRoundtrip}
		d.Check = checks[int(which)%len(checks)]
		ch := mailproto.ParseChallenge(challenge)
		var errs []error
		errs = append(errs,
			&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCode(strings.ToUpper(firstWord(text))), Text: text},
			&smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100 % 10, code / 10 % 10, code % 10}, Message: text},
			&authError{check: CheckIMAP, server: "imap.example.test:993", challenge: ch, err: &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: text}},
			&authError{check: CheckSMTP, server: "smtp.example.test:465", challenge: ch, info: &tokenInfo{Valid: code%2 == 0, Scope: ScopeGmailModify},
				err: &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: text}},
			&oauth2.RetrieveError{Response: &http.Response{StatusCode: 400 + code%100, Header: http.Header{}}, Body: body},
			&ServerError{Server: "imap.example.test:993", Err: errors.New(text)},
			errors.New(text),
		)
		for _, err := range errs {
			fd := Diagnose(err, d)
			if fd == nil {
				t.Fatalf("%T: no finding", err)
			}
			if fd.Code == "" || fd.Summary == "" || fd.Fix == "" {
				t.Fatalf("%T: incomplete finding %+v", err, fd)
			}
			safeMessage(t, "Diagnose", fd.String(), false)
			if strings.Contains(fd.String(), strings.Repeat("A", 60)) {
				t.Fatalf("a token-like secret shows: %s", fd.String())
			}
		}
	})
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(strings.TrimPrefix(s, "["), "]")
	return w
}

func FuzzSafeText(f *testing.F) {
	for _, s := range []string{"plain", "a\x1b[2Jb", "nul\x00", "\u009b31m", "rlo\u202e", "bad\xff", "é東🙂", "a\nb\tc\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		one, lines := SafeText(s), SafeLines(s)
		if !utf8.ValidString(one) || !utf8.ValidString(lines) {
			t.Fatalf("not UTF-8: %q %q", one, lines)
		}
		if SafeText(one) != one || SafeLines(lines) != lines {
			t.Fatalf("not idempotent on %q", s)
		}
		for _, r := range one {
			if unsafeRune(r) {
				t.Fatalf("SafeText(%q) keeps %U", s, r)
			}
		}
		for _, r := range lines {
			if unsafeRune(r) && r != '\n' && r != '\t' {
				t.Fatalf("SafeLines(%q) keeps %U", s, r)
			}
		}
		if utf8.ValidString(s) && !strings.ContainsFunc(s, unsafeRune) && one != s {
			t.Fatalf("SafeText changed clean text %q to %q", s, one)
		}
	})
}
