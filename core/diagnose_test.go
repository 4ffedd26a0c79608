package core

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"
	"golang.org/x/oauth2"

	"github.com/mailoauth/mailoauth/core/mailproto"
)

func googleErr(code, desc string, hdr http.Header) error {
	body, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	if hdr == nil {
		hdr = http.Header{}
	}
	return &oauth2.RetrieveError{Response: &http.Response{StatusCode: 400, Status: "400 Bad Request", Header: hdr}, Body: body}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestDiagnose(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	base := DiagContext{Mailbox: "user1@example.test", clientID: "104715287395062714451",
		clientEmail: "mailer@acme.iam.gserviceaccount.com", Scopes: []string{ScopeMail, ScopeCalendar},
		Endpoints: Endpoints{IMAP: "imap.example.test:993", SMTP: "smtp.example.test:465"}, clock: func() time.Time { return now }}
	with := func(c CheckName) DiagContext { d := base; d.Check = c; return d }
	dateHdr := func(off time.Duration) http.Header {
		return http.Header{"Date": {now.Add(off).Format(http.TimeFormat)}}
	}
	imapNo := func(code imap.ResponseCode, text string) error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
	}
	tiValid := &tokenInfo{Valid: true, Scope: ScopeMail}
	tiModify := &tokenInfo{Valid: true, Scope: ScopeGmailModify}
	refusedIMAP := imapNo(imap.ResponseCodeAuthenticationFailed, IMAPInvalidCredentials)
	refusedSMTP := &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: SMTPBadCredentials}
	dovecotNo := imapNo(imap.ResponseCodeAuthenticationFailed, "Authentication failed.")
	postfix535 := &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Error: authentication failed: (reason unavailable)"}
	hostErr := x509.HostnameError{Certificate: &x509.Certificate{}, Host: "imap.example.test"}
	tests := []struct {
		name string
		err  error
		d    DiagContext
		code Code
		want []string // substrings of summary + " " + fix
	}{
		{"finding passes", &FindingError{Finding: NewFinding(CodeInvalidKey, "s.", "f.")}, base, CodeInvalidKey, []string{"s. f."}},
		{"unauthorized_client", googleErr(OAuthUnauthorizedClient, DescUnauthorizedClient, nil), with(CheckToken), CodeDelegationNotAuthorized,
			[]string{"user1@example.test", "In admin.google.com > Security > API controls > Domain-wide delegation, add client ID 104715287395062714451 with scope https://mail.google.com/,https://www.googleapis.com/auth/calendar", "minutes to hours"}},
		{"access_denied", googleErr(OAuthAccessDenied, DescAccessDenied, nil), base, CodeDelegationNotAuthorized, []string{"104715287395062714451"}},
		{"error fields only", &oauth2.RetrieveError{ErrorCode: OAuthUnauthorizedClient}, base, CodeDelegationNotAuthorized, nil},
		{"unknown user", googleErr(OAuthInvalidGrant, DescInvalidEmail, nil), base, CodeUnknownUser, []string{"user1@example.test", "example.test", "Directory > Users"}},
		{"suspended", googleErr(OAuthInvalidGrant, DescAccountDisabled, nil), base, CodeUserSuspended, []string{"user1@example.test", "Reactivate"}},
		{"clock ahead", googleErr(OAuthInvalidGrant, DescShortLivedToken, dateHdr(-10*time.Minute)), base, CodeClockSkew,
			[]string{"This server's clock is 600 s ahead of Google's", "timedatectl set-ntp true"}},
		{"clock behind", googleErr(OAuthInvalidGrant, DescShortLivedToken, dateHdr(90*time.Second)), base, CodeClockSkew, []string{"s behind Google's"}},
		{"clock unmeasured", googleErr(OAuthInvalidGrant, DescShortLivedToken, nil), base, CodeClockSkew, []string{"could not be measured", "NTP"}},
		{"signature", googleErr(OAuthInvalidGrant, DescInvalidSignature, nil), base, CodeKeySignatureRejected,
			[]string{"deleted or replaced", "Service accounts > mailer@acme.iam.gserviceaccount.com > Keys > Add key"}},
		{"account not found", googleErr(OAuthInvalidGrant, DescAccountNotFound, nil), base, CodeKeySignatureRejected, []string{"mailer@acme.iam.gserviceaccount.com"}},
		{"invalid scope", googleErr(OAuthInvalidScope, DescInvalidScope, nil), base, CodeInvalidScope, []string{"trailing slash", "https://mail.google.com/"}},
		{"admin policy", googleErr(OAuthAdminPolicyEnforced, DescAdminPolicy, nil), base, CodeAdminPolicyEnforced, []string{"App access control", "104715287395062714451"}},
		{"disabled client", googleErr(OAuthDisabledClient, DescDisabledClient, nil), base, CodeClientDisabled, []string{"mailer@acme.iam.gserviceaccount.com", "Enable"}},
		{"grant revoked", googleErr(OAuthInvalidGrant, DescTokenRevoked, nil), base, CodeTokenRevoked, nil},
		{"other token error", googleErr(OAuthInvalidRequest, "Bad Request", nil), with(CheckToken), CodeTokenFailed, []string{"invalid_request: Bad Request"}},

		{"imap domain disabled", imapNo(imap.ResponseCodeAlert, IMAPDomainDisabled), with(CheckIMAP), CodeIMAPDisabled,
			[]string{"domain example.test", "admin.google.com > Apps > Google Workspace > Gmail > End User Access > POP and IMAP access"}},
		{"imap user disabled", imapNo(imap.ResponseCodeAlert, IMAPUserDisabled), with(CheckIMAP), CodeIMAPDisabled,
			[]string{"user1@example.test", "Forwarding and POP/IMAP", "Enable IMAP"}},
		{"too many connections", imapNo(imap.ResponseCodeAlert, IMAPTooManyConnections), with(CheckIMAP), CodeTooManyConnections,
			[]string{"imap.example.test:993", "15", "Close other mail clients", "concurrency"}},
		{"imap auth failed", refusedIMAP, with(CheckIMAP), CodeIMAPAuthFailed, []string{"imap.example.test:993", "user1@example.test"}},
		{"imap other", imapNo("", "Mailbox does not exist"), with(CheckIMAP), CodeIMAPFailed, []string{"Mailbox does not exist"}},
		{"auth: revoked", &authError{check: CheckIMAP, err: refusedIMAP, info: &tokenInfo{Valid: false}}, with(CheckIMAP), CodeTokenRevoked, []string{"revoked"}},
		{"auth: scope", &authError{check: CheckIMAP, err: refusedIMAP, info: tiModify}, with(CheckIMAP), CodeScopeInsufficient,
			[]string{ScopeGmailModify, "do not include https://mail.google.com/", "--scopes https://mail.google.com/"}},
		{"auth: scope without tokeninfo", &authError{check: CheckIMAP, err: refusedIMAP}, DiagContext{Mailbox: "u@x.test", Scopes: []string{ScopeGmailModify}, Check: CheckIMAP}, CodeScopeInsufficient, nil},
		{"auth: valid token refused by imap", &authError{check: CheckIMAP, err: refusedIMAP, info: tiValid}, with(CheckIMAP), CodeIMAPAuthFailed, nil},
		{"auth: valid token refused by smtp", &authError{check: CheckSMTP, server: "smtp.example.test:465", err: refusedSMTP, info: tiValid}, with(CheckSMTP), CodeSMTPAuthFailed,
			[]string{"smtp.example.test:465", "535 5.7.8"}},
		{"auth: alert inside", &authError{check: CheckIMAP, err: imapNo(imap.ResponseCodeAlert, IMAPDomainDisabled)}, with(CheckIMAP), CodeIMAPDisabled, nil},
		// Dovecot and Postfix (cmd/mailoauth's interop tests run the real ones).
		{"dovecot: expired by Google's clock", &authError{check: CheckIMAP, server: "mail.example.test:993", err: dovecotNo,
			info: &tokenInfo{Valid: false, Date: now.Add(61 * time.Minute)}, tokenExpiry: now.Add(time.Hour)}, with(CheckIMAP), CodeTokenExpired,
			[]string{"mail.example.test:993", "NO [AUTHENTICATIONFAILED] Authentication failed", "expired 1m0s earlier", "1h1m0s behind Google's", "timedatectl"}},
		{"dovecot: revoked", &authError{check: CheckIMAP, server: "mail.example.test:993", err: dovecotNo,
			info: &tokenInfo{Valid: false, Date: now}, tokenExpiry: now.Add(50 * time.Minute)}, with(CheckIMAP), CodeTokenRevoked,
			[]string{"NO [AUTHENTICATIONFAILED] Authentication failed", "revoked"}},
		{"dovecot: xoauth2 401 challenge, no tokeninfo", &authError{check: CheckIMAP, err: dovecotNo, challenge: mailproto.ParseChallenge([]byte(`{"status":"401","schemes":"bearer","scope":"mail"}`))},
			with(CheckIMAP), CodeTokenRevoked, []string{"as invalid", "status 401"}},
		{"dovecot: oauthbearer invalid_token, no tokeninfo", &authError{check: CheckSMTP, err: postfix535, challenge: mailproto.ParseChallenge([]byte(`{"status":"invalid_token"}`))},
			with(CheckSMTP), CodeTokenRevoked, []string{"535 5.7.8 Error: authentication failed", "invalid_token"}},
		{"gmail: 400 challenge, no tokeninfo", &authError{check: CheckIMAP, err: refusedIMAP, challenge: &GmailSASLError}, with(CheckIMAP), CodeIMAPAuthFailed, []string{"Invalid credentials"}},
		{"dovecot: valid token refused", &authError{check: CheckSMTP, server: "mail.example.test:465", err: postfix535, info: &tokenInfo{Valid: true, Scope: ScopeMail, Email: "other@example.test"}},
			with(CheckSMTP), CodeSMTPAuthFailed, []string{"tokeninfo says the token is valid (but for other@example.test", "username_attribute"}},
		{"dovecot: unavailable", imapNo(imap.ResponseCodeUnavailable, "Temporary authentication failure. [host:2025-03-01 12:00:00]"), with(CheckIMAP), CodeIMAPFailed,
			[]string{"could not check the token", "NO [UNAVAILABLE] Temporary authentication failure", "tokeninfo_url"}},
		{"smtp 454", &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Temporary authentication failure"}, with(CheckSMTP), CodeSMTPFailed,
			[]string{"could not check the token", "454 4.7.0"}},
		{"smtp 535", refusedSMTP, with(CheckSMTP), CodeSMTPAuthFailed, []string{"smtp.example.test:465"}},
		{"smtp 555", &smtp.SMTPError{Code: 555, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: SMTPLineTooLong}, with(CheckSMTP), CodeSMTPFailed, []string{"too long", "RFC 4954"}},
		{"smtp other", &smtp.SMTPError{Code: 550, Message: "5.7.1 Relaying denied"}, with(CheckSMTP), CodeSMTPFailed, []string{"550", "Relaying denied"}},

		{"unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, with(CheckIMAP), CodeTLSUntrusted,
			[]string{"imap.example.test:993", "unknown authority", "ca_file"}},
		{"hostname", &ServerError{Server: "smtp.example.test:465", Err: hostErr}, with(CheckSMTP), CodeTLSUntrusted, []string{"smtp.example.test:465", "host name"}},
		{"not tls", &ServerError{Server: "imap.example.test:143", Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}, with(CheckIMAP), CodeTLSUntrusted, []string{"imap_security"}},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, with(CheckIMAP), CodeConnectFailed,
			[]string{"Cannot connect to imap.example.test:993", "connection refused", "firewall"}},
		{"dns", &ServerError{Server: "smtp.nowhere.test:465", Err: &net.DNSError{Name: "smtp.nowhere.test", Err: "no such host", IsNotFound: true}}, with(CheckSMTP), CodeConnectFailed,
			[]string{"smtp.nowhere.test:465", "does not resolve", "DNS"}},
		{"closed", &ServerError{Server: "smtp.example.test:465", Err: fmt.Errorf("read: %w", syscall.ECONNRESET)}, with(CheckSMTP), CodeConnectFailed, []string{"closed the connection"}},
		{"deadline", &ServerError{Server: "imap.example.test:993", Err: context.DeadlineExceeded}, func() DiagContext { d := with(CheckIMAP); d.timeout = 20 * time.Second; return d }(), CodeTimeout,
			[]string{"imap.example.test:993 did not answer within 20s while checking user1@example.test"}},
		{"net timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, with(CheckSMTP), CodeTimeout, []string{"smtp.example.test:465"}},
		{"token endpoint timeout", fmt.Errorf("x: %w", os.ErrDeadlineExceeded), func() DiagContext {
			d := with(CheckToken)
			d.tokenURL = "https://oauth2.googleapis.com/token"
			return d
		}(), CodeTimeout,
			[]string{"oauth2.googleapis.com:443"}},
		{"cancelled", fmt.Errorf("x: %w", context.Canceled), base, CodeCancelled, []string{"The check was cancelled before it finished.", "Run the test again."}},
		{"unknown", errors.New("something odd with ya29.c." + strings.Repeat("A", 80)), base, CodeUnknown, []string{"something odd", "[redacted]"}},
		{"unknown imap", errors.New("weird"), with(CheckIMAP), CodeIMAPFailed, []string{"weird"}},
	}
	seen := map[Code]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, f := diagnosed(t, tc.err, tc.d, tc.code, tc.want)
			if strings.Contains(text, strings.Repeat("A", 60)) {
				t.Errorf("secret leaked: %s", text)
			}
			if f.Summary == "" || f.Fix == "" {
				t.Errorf("empty summary or fix: %+v", f)
			}
		})
		seen[tc.code] = true
	}
	if Diagnose(nil, base) != nil {
		t.Fatal("nil error diagnosed")
	}
	// Every code the engine produces is covered (invalid_key etc. come from
	// the credential parser, service_account_as_mailbox from the provider,
	// roundtrip_not_delivered from the round trip; tested elsewhere).
	for _, c := range []Code{CodeDelegationNotAuthorized, CodeUnknownUser, CodeUserSuspended, CodeIMAPDisabled, CodeClockSkew,
		CodeKeySignatureRejected, CodeInvalidScope, CodeScopeInsufficient, CodeAdminPolicyEnforced, CodeClientDisabled,
		CodeTooManyConnections, CodeTokenRevoked, CodeTokenExpired, CodeIMAPAuthFailed, CodeSMTPAuthFailed, CodeTLSUntrusted, CodeConnectFailed,
		CodeTimeout, CodeCancelled, CodeUnknown, CodeTokenFailed, CodeIMAPFailed, CodeSMTPFailed} {
		if !seen[c] {
			t.Errorf("no test case for %s", c)
		}
	}
}

// TestDiagnosePOP3Login: a POP3 login's refusal, made IMAP's to be
// diagnosed (DiagContext.Protocol), gets findings that name POP3 and quote
// the POP3 server's reply, never IMAP or its server, and POP3's codes
// where IMAP's would be (pop3_auth_failed, pop3_failed).
func TestDiagnosePOP3Login(t *testing.T) {
	const pop = "pop.example.test:995"
	d := DiagContext{Mailbox: "user1@example.test", clientID: "104715287395062714451", Scopes: []string{ScopeMail},
		Endpoints: Endpoints{IMAP: "imap.example.test:993", SMTP: "smtp.example.test:465", POP3: pop}, Check: CheckIMAP, Protocol: "POP3"}
	gmail := d
	gmail.Endpoints.AdminURL = "https://admin.example.test"
	pop3No := func(line string, code imap.ResponseCode, text string) error {
		return &TranslatedError{Reply: line, Err: &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}}
	}
	invalid := pop3No("-ERR [AUTH] Invalid credentials.", imap.ResponseCodeAuthenticationFailed, "Invalid credentials.")
	for _, tc := range []struct {
		name string
		err  error
		d    DiagContext
		code Code
		want []string
	}{
		{"unknown", &ServerError{Server: pop, Err: errors.New(`the server greeted with "* OK" instead of +OK`)}, d, CodePOP3Failed,
			[]string{"The POP3 login of user1@example.test failed: " + pop + ": the server greeted with"}},
		{"refused by gmail", &authError{check: CheckIMAP, server: pop, err: invalid, challenge: &GmailSASLError}, gmail, CodePOP3AuthFailed,
			[]string{pop + " refused the token for user1@example.test (-ERR [AUTH] Invalid credentials)", "a Gmail license and POP3 enabled"}},
		{"scope", &authError{check: CheckIMAP, server: pop, err: invalid, info: &tokenInfo{Valid: true, Scope: ScopeGmailModify}}, d, CodeScopeInsufficient,
			[]string{pop + " refused the token", "which POP3 needs"}},
		{"valid token refused by the server", &authError{check: CheckIMAP, server: pop, err: invalid, info: &tokenInfo{Valid: true, Scope: ScopeMail}}, d, CodePOP3AuthFailed,
			[]string{"(-ERR [AUTH] Invalid credentials)", "the POP3 server's own token validation"}},
		{"too many connections", &ServerError{Server: pop, Err: pop3No("-ERR [IN-USE] Too many simultaneous connections.", imap.ResponseCodeInUse, "Too many simultaneous connections.")}, d, CodeTooManyConnections,
			[]string{pop + " refused user1@example.test: it already has too many simultaneous POP3 connections."}},
		{"token check unavailable", &ServerError{Server: pop, Err: pop3No("-ERR [SYS/TEMP] Temporary authentication failure", imap.ResponseCodeUnavailable, "Temporary authentication failure")}, d, CodePOP3Failed,
			[]string{pop + " could not check the token for user1@example.test right now (-ERR [SYS/TEMP] Temporary authentication failure)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if text, _ := diagnosed(t, tc.err, tc.d, tc.code, tc.want); strings.Contains(strings.ToLower(text), "imap") {
				t.Errorf("a POP3 login's finding names IMAP:\n%s", text)
			}
		})
	}
}

// diagnosed is err's finding in d and its summary and fix in one text,
// after checking that its code is code and the text holds each of want.
func diagnosed(t *testing.T, err error, d DiagContext, code Code, want []string) (string, *Finding) {
	t.Helper()
	f := Diagnose(err, d)
	if f == nil || f.Code != code {
		t.Fatalf("got %+v, want code %s", f, code)
	}
	text := f.Summary + " " + f.Fix
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q in:\n%s", w, text)
		}
	}
	return text, f
}

func TestRoundtripNotDeliveredFinding(t *testing.T) {
	s := &session{t: &Tester{RoundtripTimeout: 30 * time.Second}, mailbox: "user1@example.test",
		ep: Endpoints{IMAP: "imap.example.test:993", SMTP: "smtp.example.test:465"}}
	f := FindingOf(s.notDelivered())
	if f == nil || f.Code != CodeRoundtripNotDelivered || !strings.Contains(f.Summary, "user1@example.test") || !strings.Contains(f.Summary, "30s") || !strings.Contains(f.Fix, "Routing") {
		t.Fatalf("%+v", f)
	}
	f = Diagnose(serviceAccountErr("mailer@p.iam.gserviceaccount.com"), DiagContext{})
	if f.Code != CodeServiceAccountAsMailbox {
		t.Fatalf("%+v", f)
	}
}

func serviceAccountErr(m string) error { return &FindingError{Finding: serviceAccountMailbox(m)} }

func TestClockOffsetAndParseChecks(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	off, ok := clockOffset(http.Header{"Date": {now.Add(-5 * time.Second).Format(http.TimeFormat)}}, now)
	if !ok || off != 4500*time.Millisecond {
		t.Fatalf("%v %v", off, ok)
	}
	if _, ok := clockOffset(http.Header{}, now); ok {
		t.Fatal("offset without Date")
	}
	cs, err := ParseChecks(" smtp,TOKEN ,smtp")
	if err != nil || len(cs) != 2 || cs[0] != CheckToken || cs[1] != CheckSMTP {
		t.Fatalf("%v %v", cs, err)
	}
	if cs, _ := ParseChecks(""); len(cs) != 4 {
		t.Fatalf("%v", cs)
	}
	if _, err := ParseChecks("token,pop3"); err == nil || !strings.Contains(err.Error(), "pop3") {
		t.Fatalf("%v", err)
	}
}
