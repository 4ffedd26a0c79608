package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"
	"golang.org/x/oauth2"

	"github.com/mailoauth/mailoauth/core/mailproto"
)

// DiagContext is what the diagnosis knows about the check that failed, so a
// finding can name the exact mailbox, server, client ID and scopes.
type DiagContext struct {
	Mailbox     string
	Domain      string
	clientID    string
	clientEmail string
	Scopes      []string
	Endpoints   Endpoints
	Check       CheckName
	// timeout is the limit that ran out, named in a timeout finding.
	timeout time.Duration
	// tokenURL is where assertions are traded; empty: Endpoints.TokenURL.
	tokenURL string
	// clock is the local clock for the clock-skew measurement; nil: time.Now.
	clock func() time.Time
	// kind is the credential's kind; for KindOAuthClient a refused token's
	// fix is the mailbox's consent, not domain-wide delegation.
	kind CredentialKind
	// Protocol names the login in the findings when its refusal was made
	// the check's to be diagnosed: "POP3" for mailoauth proxy's POP3
	// logins, whose -ERR replies become IMAP's NO (they share IMAP's token
	// and scope). Empty: the check's own protocol.
	Protocol string
}

// ServerError names the server (host:port) a network error came from.
type ServerError struct {
	Server string
	Err    error
}

func (e *ServerError) Error() string { return e.Server + ": " + e.Err.Error() }
func (e *ServerError) Unwrap() error { return e.Err }

// authError is a token refused by IMAP or SMTP, with what is known about
// why: the server's JSON challenge (Gmail's, or Dovecot's
// {"status":"401","schemes":"bearer","scope":"mail"} for XOAUTH2 and
// {"status":"invalid_token"} for OAUTHBEARER) and, when looked up, the
// tokeninfo verdict.
type authError struct {
	check     CheckName // CheckIMAP or CheckSMTP
	server    string
	challenge *mailproto.Challenge
	// info is nil when it was not (or could not be) looked up.
	info *tokenInfo
	// tokenExpiry is when the refused token expires by this machine's
	// clock (zero: unknown).
	tokenExpiry time.Time
	err         error // *imap.Error or *smtp.SMTPError
}

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// TranslatedError is a refusal in another protocol made the one Diagnose
// knows (mailoauth proxy makes a POP3 server's -ERR an IMAP NO, see
// DiagContext.Protocol). Reply is the refusal as the server sent it, which
// findings quote instead of Err's.
type TranslatedError struct {
	Reply string
	Err   error
}

func (e *TranslatedError) Error() string { return e.Reply }
func (e *TranslatedError) Unwrap() error { return e.Err }

// Diagnose turns an error from a token request, IMAP, SMTP or the network
// into a finding with a one-sentence summary naming the mailbox or server
// and a one-sentence fix naming the exact place and values. A FindingError
// passes through.
func Diagnose(err error, d DiagContext) *Finding {
	if err == nil {
		return nil
	}
	if f := FindingOf(err); f != nil {
		return f
	}
	d = d.normalized()
	f := diagnose(err, d)
	f.Code = d.loginCode(f.Code)
	return f
}

// loginCode is code as the protocol that logged in names it: a POP3
// login's refusal is diagnosed as IMAP's (DiagContext.Protocol), and its
// IMAP codes become POP3's. The finding's texts already name the protocol.
func (d DiagContext) loginCode(code Code) Code {
	if !strings.EqualFold(d.Protocol, "POP3") {
		return code
	}
	switch code {
	case CodeIMAPAuthFailed:
		return CodePOP3AuthFailed
	case CodeIMAPFailed:
		return CodePOP3Failed
	}
	return code
}

// diagnose is Diagnose of an error that is not a finding yet, in the
// normalized d.
func diagnose(err error, d DiagContext) *Finding {
	if errors.Is(err, context.Canceled) {
		return cancelledFinding()
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return diagnoseRetrieve(re, d)
	}
	var ae *authError
	if errors.As(err, &ae) {
		return diagnoseAuth(ae, d)
	}
	server := d.server(err)
	if isTimeout(err) {
		return timeoutFinding(server, d.who(), d.timeout)
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return diagnoseIMAP(ie, sentReply(err, imapReply(ie)), d, server)
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return diagnoseSMTP(se, d, server)
	}
	if f := diagnoseTLS(err, d, server); f != nil {
		return f
	}
	if f := diagnoseNet(err, server); f != nil {
		return f
	}
	return unknownFinding(err, d)
}

func (d DiagContext) normalized() DiagContext {
	d.Endpoints = d.Endpoints.WithDefaults()
	if d.tokenURL == "" {
		d.tokenURL = d.Endpoints.TokenURL
	}
	if d.Domain == "" {
		d.Domain = domainOf(d.Mailbox)
	}
	if len(d.Scopes) == 0 {
		d.Scopes = []string{ScopeMail}
	}
	return d
}

func (d DiagContext) now() time.Time {
	if d.clock != nil {
		return d.clock()
	}
	return time.Now()
}

func (d DiagContext) who() string {
	if d.Mailbox == "" {
		return "the mailbox"
	}
	return d.Mailbox
}

func (d DiagContext) shownClientID() string {
	if d.clientID == "" {
		return "(the service account's numeric client ID)"
	}
	return d.clientID
}

// server names the server an error came from: a ServerError in the chain,
// else the server of the check.
func (d DiagContext) server(err error) string {
	var se *ServerError
	if errors.As(err, &se) && se.Server != "" {
		return se.Server
	}
	var ae *authError
	if errors.As(err, &ae) && ae.server != "" {
		return ae.server
	}
	switch d.Check {
	case CheckToken:
		return HostOfURL(d.tokenURL)
	case CheckIMAP:
		return d.Endpoints.IMAP
	case CheckSMTP:
		return d.Endpoints.SMTP
	case CheckRoundtrip:
		return d.Endpoints.SMTP + " / " + d.Endpoints.IMAP
	}
	return "the server"
}

// protocol is the name of the protocol that logged in, for check (IMAP or
// SMTP) unless Protocol names another.
func (d DiagContext) protocol(check CheckName) string {
	if d.Protocol != "" {
		return d.Protocol
	}
	return strings.ToUpper(string(check))
}

// oauthError extracts the token endpoint's error code and description.
func oauthError(re *oauth2.RetrieveError) (code, desc string) {
	code, desc = re.ErrorCode, re.ErrorDescription
	if code == "" && len(re.Body) > 0 {
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(re.Body, &body) == nil {
			code, desc = body.Error, body.Description
		}
	}
	return code, desc
}

func diagnoseRetrieve(re *oauth2.RetrieveError, d DiagContext) *Finding {
	code, desc := oauthError(re)
	ldesc := strings.ToLower(desc)
	who := d.who()
	switch {
	case code == OAuthUnauthorizedClient || code == OAuthAccessDenied:
		return delegationNotAuthorizedFinding(who, d.shownClientID(), d.Scopes, d.delegationFix())
	case code == OAuthInvalidScope:
		return invalidScopeFinding(d.Scopes, d.shownClientID())
	case code == OAuthAdminPolicyEnforced:
		return adminPolicyFinding(d.shownClientID(), who)
	case code == OAuthDisabledClient || (code == OAuthInvalidClient && strings.Contains(ldesc, "disabled")):
		return clientDisabledFinding(d.clientEmail, d.shownClientID())
	case strings.Contains(ldesc, "account not found"):
		return serviceAccountUnknownFinding(d.clientEmail)
	case strings.Contains(ldesc, "invalid email or user id"):
		return unknownMailboxFinding(who, d.Domain)
	case strings.Contains(ldesc, "account disabled") || strings.Contains(ldesc, "suspended"):
		return userSuspendedFinding(who)
	case strings.Contains(ldesc, "short-lived") || strings.Contains(ldesc, "iat") || strings.Contains(ldesc, "timeframe"):
		return clockSkewFinding(re, d)
	case strings.Contains(ldesc, "signature"):
		return keySignatureRejectedFinding(d.clientEmail)
	case strings.Contains(ldesc, "audience"):
		return tokenAudienceFinding(d.tokenURL)
	case strings.Contains(ldesc, "revoked") || strings.Contains(ldesc, "expired"):
		return grantRevokedFinding(who, d.shownClientID())
	case strings.Contains(ldesc, "imap"):
		return imapDisabledFinding(d, strings.Contains(ldesc, "domain"))
	}
	return tokenRefusedFinding(re, d, delegatedTokenRefusedFix(d.shownClientID()))
}

// imapNonAuth recognises IMAP refusals that are not about the token.
func imapNonAuth(text string, d DiagContext, server string) *Finding {
	lt := strings.ToLower(text)
	switch {
	case strings.Contains(lt, "imap access is disabled for your domain"):
		return imapDisabledFinding(d, true)
	case strings.Contains(lt, "not enabled for imap"):
		return imapDisabledFinding(d, false)
	case strings.Contains(lt, "too many simultaneous connections"):
		return tooManyConnectionsFinding(d, server)
	}
	return nil
}

// imapUnavailable recognises a server that could not check the token at
// all (Dovecot: NO [UNAVAILABLE] Temporary authentication failure, when its
// oauth2 passdb cannot reach or understand its tokeninfo / introspection
// endpoint). The token is not the problem, so it is never retried.
func imapUnavailable(ie *imap.Error) bool {
	return ie.Code == imap.ResponseCodeUnavailable || strings.Contains(strings.ToLower(ie.Text), "temporary authentication failure")
}

// imapReply renders an IMAP refusal as the server sent it, e.g.
// "NO [AUTHENTICATIONFAILED] Authentication failed.".
func imapReply(ie *imap.Error) string {
	var b strings.Builder
	b.WriteString(string(ie.Type))
	if ie.Code != "" {
		b.WriteString(" [" + string(ie.Code) + "]")
	}
	if ie.Text != "" {
		b.WriteString(" " + ie.Text)
	}
	return redact(strings.TrimSpace(b.String()))
}

// smtpReply renders an SMTP reply as the server sent it, e.g.
// "535 5.7.8 Error: authentication failed: ...".
func smtpReply(se *smtp.SMTPError) string {
	msg := strings.Join(strings.Fields(se.Message), " ")
	s := fmt.Sprint(se.Code)
	if se.EnhancedCode != smtp.NoEnhancedCode && se.EnhancedCode != (smtp.EnhancedCode{}) {
		s += fmt.Sprintf(" %d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	}
	if msg != "" {
		s += " " + msg
	}
	return redact(s)
}

// sentReply is err's refusal as the server sent it: a TranslatedError's
// reply, else rendered (the refusal as Diagnose renders it).
func sentReply(err error, rendered string) string {
	var te *TranslatedError
	if errors.As(err, &te) {
		return redact(te.Reply)
	}
	return rendered
}

// serverReply is the refusal an authError carries, as the server sent it.
func (e *authError) serverReply() string {
	var ie *imap.Error
	if errors.As(e.err, &ie) {
		return sentReply(e.err, imapReply(ie))
	}
	var se *smtp.SMTPError
	if errors.As(e.err, &se) {
		return smtpReply(se)
	}
	if e.err != nil {
		return redact(e.err.Error())
	}
	return ""
}

// diagnoseIMAP: reply is the refusal ie as the server sent it.
func diagnoseIMAP(ie *imap.Error, reply string, d DiagContext, server string) *Finding {
	if f := imapNonAuth(ie.Text, d, server); f != nil {
		return f
	}
	if imapUnavailable(ie) {
		return tokenCheckUnavailable(d, server, reply)
	}
	if ie.Code == imap.ResponseCodeAuthenticationFailed || strings.Contains(strings.ToLower(ie.Text), "invalid credentials") ||
		strings.Contains(strings.ToLower(ie.Text), "authentication failed") {
		return imapAuthFailed(d, server, reply)
	}
	return imapRefusedFinding(server, d.who(), string(ie.Type), ie.Text)
}

func diagnoseSMTP(se *smtp.SMTPError, d DiagContext, server string) *Finding {
	msg := strings.Join(strings.Fields(se.Message), " ")
	switch {
	case se.Code == 535 || (se.EnhancedCode == smtp.EnhancedCode{5, 7, 8}):
		return smtpAuthFailed(d, server, smtpReply(se))
	case se.Code == 454 && strings.Contains(strings.ToLower(msg), "authentication"):
		// Postfix with Dovecot SASL: 454 4.7.0 Temporary authentication failure.
		f := tokenCheckUnavailable(d, server, smtpReply(se))
		f.Code = CodeSMTPFailed
		return f
	case se.Code == 555 || strings.Contains(strings.ToLower(msg), "line too long"):
		return smtpLineTooLongFinding(server, d.who())
	}
	return smtpRefusedFinding(server, d.who(), se.Code, msg)
}

func diagnoseAuth(ae *authError, d DiagContext) *Finding {
	server := ae.server
	if server == "" {
		server = d.server(ae)
	}
	if ae.check == "" {
		ae.check = d.Check
	}
	var ie *imap.Error
	if errors.As(ae.err, &ie) {
		if f := imapNonAuth(ie.Text, d, server); f != nil {
			return f
		}
	}
	var se *smtp.SMTPError
	if errors.As(ae.err, &se) && se.Code != 535 && se.Code/100 != 3 {
		return diagnoseSMTP(se, d, server)
	}
	reply := ae.serverReply()
	ti := ae.info
	switch {
	case ti != nil && !ti.Valid && !ti.Date.IsZero() && !ae.tokenExpiry.IsZero() && !ti.Date.Before(ae.tokenExpiry):
		// Minting succeeded, so this machine's clock was within minutes
		// of Google's then: the token's expiry by our clock is its
		// expiry by Google's, which Google's clock has passed.
		late := ti.Date.Sub(ae.tokenExpiry).Round(time.Second)
		local := d.now().Sub(ae.tokenExpiry)
		var behind time.Duration
		if local < 0 && -local > time.Minute {
			behind = -local + late
		}
		return tokenExpiredFinding(server, d.who(), reply, late, ti.Date, ae.tokenExpiry, behind)
	case ti != nil && !ti.Valid && d.kind == KindOAuthClient:
		return consentRevokedFinding(server, d.who(), reply, d.Mailbox)
	case ti != nil && !ti.Valid:
		return delegatedRevokedFinding(server, d.who(), reply, d.shownClientID())
	case (ti != nil && !ti.hasScope(ScopeMail)) || (ti == nil && ae.check == CheckIMAP && !hasScope(d.Scopes, ScopeMail)):
		scopes := d.Scopes
		if ti != nil {
			scopes = strings.Fields(ti.Scope)
		}
		return scopeInsufficientFinding(server, d.who(), scopes, d.protocol(ae.check), d.shownClientID())
	}
	if ti != nil && ti.Valid && !d.Endpoints.googleMail() {
		// Google vouches for the token, so a non-Google server refused it
		// by its own rules (Dovecot's oauth2 passdb: the user does not
		// match username_attribute, or it could not validate the token
		// and Postfix turned that into 535).
		code, what := CodeIMAPAuthFailed, d.protocol(CheckIMAP)
		if ae.check == CheckSMTP {
			code, what = CodeSMTPAuthFailed, d.protocol(CheckSMTP)
		}
		owner := ""
		if ti.Email != "" && !strings.EqualFold(ti.Email, d.Mailbox) {
			owner = ti.Email
		}
		return serverValidationFinding(code, what, server, d.who(), reply, owner)
	}
	if ti == nil && invalidToken(ae.challenge) {
		// No tokeninfo verdict, but the server's challenge says the
		// token itself is bad (RFC 6750/7628 invalid_token; Dovecot's and
		// Google's XOAUTH2 "401").
		return challengeInvalidFinding(server, d.who(), reply, ae.challenge.Status, d.shownClientID())
	}
	if ae.check == CheckSMTP {
		return smtpAuthFailed(d, server, reply)
	}
	return imapAuthFailed(d, server, reply)
}

// googleMail reports whether the IMAP server is Gmail or the sandbox that
// plays it (which has an Admin console URL), rather than a server such as
// Dovecot that validates Google's tokens by its own configuration.
func (e Endpoints) googleMail() bool {
	host, _, err := net.SplitHostPort(e.IMAP)
	if err != nil {
		host = e.IMAP
	}
	return e.AdminURL != "" || host == "imap.gmail.com" || strings.HasSuffix(host, ".google.com") || strings.HasSuffix(host, ".googlemail.com")
}

// invalidToken reports whether a SASL error challenge says the token is
// invalid (expired, revoked or malformed) rather than, say, lacking scope.
func invalidToken(c *mailproto.Challenge) bool {
	return c != nil && (c.Status == "401" || c.Status == "invalid_token")
}

func hasScope(scopes []string, want string) bool {
	for _, s := range scopes {
		if s == want {
			return true
		}
	}
	return false
}
