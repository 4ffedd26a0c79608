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
)

// DiagContext is what the diagnosis knows about the check that failed, so a
// finding can name the exact mailbox, server, client ID and scopes.
type DiagContext struct {
	Mailbox     string
	Domain      string
	ClientID    string
	ClientEmail string
	Scopes      []string
	Endpoints   Endpoints
	Check       CheckName
	// Timeout is the limit that ran out, named in a timeout finding.
	Timeout time.Duration
	// TokenURL is where assertions are traded; empty: Endpoints.TokenURL.
	TokenURL string
	// Now is the local clock for the clock-skew measurement; nil: time.Now.
	Now func() time.Time
	// Kind is the credential's kind; for KindOAuthClient a refused token's
	// fix is the mailbox's consent, not domain-wide delegation.
	Kind CredentialKind
}

// ServerError names the server (host:port) a network error came from.
type ServerError struct {
	Server string
	Err    error
}

func (e *ServerError) Error() string { return e.Server + ": " + e.Err.Error() }
func (e *ServerError) Unwrap() error { return e.Err }

// AuthError is a token refused by IMAP or SMTP, with what is known about
// why: the server's JSON challenge (Gmail's, or Dovecot's
// {"status":"401","schemes":"bearer","scope":"mail"} for XOAUTH2 and
// {"status":"invalid_token"} for OAUTHBEARER) and, when looked up, the
// tokeninfo verdict.
type AuthError struct {
	Check     CheckName // CheckIMAP or CheckSMTP
	Server    string
	Challenge *SASLErrorChallenge
	// TokenInfo is nil when it was not (or could not be) looked up.
	TokenInfo *TokenInfo
	// TokenExpiry is when the refused token expires by this machine's
	// clock (zero: unknown).
	TokenExpiry time.Time
	Err         error // *imap.Error or *smtp.SMTPError
}

func (e *AuthError) Error() string { return e.Err.Error() }
func (e *AuthError) Unwrap() error { return e.Err }

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
	if errors.Is(err, context.Canceled) {
		return NewFinding(CodeCancelled, "The check was cancelled before it finished.", "Run the test again.")
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return diagnoseRetrieve(re, d)
	}
	var ae *AuthError
	if errors.As(err, &ae) {
		return diagnoseAuth(ae, d)
	}
	server := d.server(err)
	if isTimeout(err) {
		limit := ""
		if d.Timeout > 0 {
			limit = " within " + d.Timeout.String()
		}
		return NewFinding(CodeTimeout,
			fmt.Sprintf("%s did not answer%s while checking %s.", server, limit, d.who()),
			fmt.Sprintf("Check that a firewall or proxy lets this machine reach %s and that the server is up, then retry (on a slow link, raise the check timeout, e.g. `mailoauth test --timeout 60s`).", server))
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return diagnoseIMAP(ie, d, server)
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
	if d.TokenURL == "" {
		d.TokenURL = d.Endpoints.TokenURL
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
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d DiagContext) who() string {
	if d.Mailbox == "" {
		return "the mailbox"
	}
	return d.Mailbox
}

func (d DiagContext) clientID() string {
	if d.ClientID == "" {
		return "(the service account's numeric client ID)"
	}
	return d.ClientID
}

// server names the server an error came from: a ServerError in the chain,
// else the server of the check.
func (d DiagContext) server(err error) string {
	var se *ServerError
	if errors.As(err, &se) && se.Server != "" {
		return se.Server
	}
	var ae *AuthError
	if errors.As(err, &ae) && ae.Server != "" {
		return ae.Server
	}
	switch d.Check {
	case CheckToken:
		return HostOfURL(d.TokenURL)
	case CheckIMAP:
		return d.Endpoints.IMAP
	case CheckSMTP:
		return d.Endpoints.SMTP
	case CheckRoundtrip:
		return d.Endpoints.SMTP + " / " + d.Endpoints.IMAP
	}
	return "the server"
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
		return NewFinding(CodeDelegationNotAuthorized,
			fmt.Sprintf("Google refused a token for %s: client ID %s is not authorized for domain-wide delegation of %s (or the change has not taken effect yet).", who, d.clientID(), strings.Join(d.Scopes, ",")),
			d.delegationFix())
	case code == OAuthInvalidScope:
		return NewFinding(CodeInvalidScope,
			fmt.Sprintf("Google rejects the requested scope list %q as invalid.", strings.Join(d.Scopes, " ")),
			fmt.Sprintf("Set the profile's scopes to exactly %s (with the trailing slash) with `mailoauth setup --scopes %s`, and authorize the same string for %s.", ScopeMail, ScopeMail, DelegatedClientID(d.clientID())))
	case code == OAuthAdminPolicyEnforced:
		return NewFinding(CodeAdminPolicyEnforced,
			fmt.Sprintf("A Google Workspace admin policy blocks the service account (client ID %s) from acting for %s.", d.clientID(), who),
			fmt.Sprintf("In "+AppAccessConsolePath+", set the app with client ID %s to Trusted (or unblock it), then retry.", d.clientID()))
	case code == OAuthDisabledClient || (code == OAuthInvalidClient && strings.Contains(ldesc, "disabled")):
		return NewFinding(CodeClientDisabled,
			fmt.Sprintf("The service account %s (client ID %s) is disabled, so Google issues it no tokens.", orUnknown(d.ClientEmail, "of this key"), d.clientID()),
			fmt.Sprintf("In "+ServiceAccountsConsolePath+", select %s and choose Enable (or create a new service account and key), then retry.", orUnknown(d.ClientEmail, "the service account")))
	case strings.Contains(ldesc, "account not found"):
		return NewFinding(CodeKeySignatureRejected,
			fmt.Sprintf("Google does not know the service account %s of this key: it was deleted, or the key belongs to another project.", orUnknown(d.ClientEmail, "(client_email)")),
			"Check that the service account still exists in "+ServiceAccountsConsolePath+", create a new JSON key for it (Keys > Add key > Create new key > JSON) and load it (wizard step 3, or `mailoauth setup --key FILE`).")
	case strings.Contains(ldesc, "invalid email or user id"):
		return unknownUserFinding(who, d.Domain, fmt.Sprintf("Google does not know the mailbox %s in %s.", who, orUnknown(d.Domain, "the domain")), "retry")
	case strings.Contains(ldesc, "account disabled") || strings.Contains(ldesc, "suspended"):
		return NewFinding(CodeUserSuspended,
			fmt.Sprintf("The mailbox %s is suspended in Google Workspace.", who),
			fmt.Sprintf("In "+UsersConsolePath+" > %s, choose Reactivate, then retry.", who))
	case strings.Contains(ldesc, "short-lived") || strings.Contains(ldesc, "iat") || strings.Contains(ldesc, "timeframe"):
		return clockSkewFinding(re, d)
	case strings.Contains(ldesc, "signature"):
		return NewFinding(CodeKeySignatureRejected,
			fmt.Sprintf("Google rejected the signature of this key for %s: the key was deleted or replaced in the Cloud console.", orUnknown(d.ClientEmail, "the service account")),
			fmt.Sprintf("In "+ServiceAccountsConsolePath+" > %s > Keys > Add key > Create new key > JSON, then load the new file (wizard step 3, or `mailoauth setup --key FILE`).", orUnknown(d.ClientEmail, "(the account)")))
	case strings.Contains(ldesc, "audience"):
		return NewFinding(CodeTokenFailed,
			fmt.Sprintf("The token endpoint %s rejected the assertion's audience.", d.TokenURL),
			"Make the key's token_uri and the endpoints file's token_url the same URL (Google's is "+GoogleTokenURL+"), then retry.")
	case strings.Contains(ldesc, "revoked") || strings.Contains(ldesc, "expired"):
		return NewFinding(CodeTokenRevoked,
			fmt.Sprintf("Google says the grant for %s has been expired or revoked.", who),
			"Run the test again to mint a fresh token; if it keeps happening, check "+DelegatedClientID(d.clientID())+".")
	case strings.Contains(ldesc, "imap"):
		return imapDisabledFinding(d, strings.Contains(ldesc, "domain"))
	}
	return tokenRefusedFinding(re, d,
		"Check the key, the client ID "+d.clientID()+" and its scopes in "+DelegationConsolePath+", then retry.")
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

// serverReply is the refusal an AuthError carries, as the server sent it.
func (e *AuthError) serverReply() string {
	var ie *imap.Error
	if errors.As(e.Err, &ie) {
		return imapReply(ie)
	}
	var se *smtp.SMTPError
	if errors.As(e.Err, &se) {
		return smtpReply(se)
	}
	if e.Err != nil {
		return redact(e.Err.Error())
	}
	return ""
}

func diagnoseIMAP(ie *imap.Error, d DiagContext, server string) *Finding {
	if f := imapNonAuth(ie.Text, d, server); f != nil {
		return f
	}
	if imapUnavailable(ie) {
		return tokenCheckUnavailable(d, server, imapReply(ie))
	}
	if ie.Code == imap.ResponseCodeAuthenticationFailed || strings.Contains(strings.ToLower(ie.Text), "invalid credentials") ||
		strings.Contains(strings.ToLower(ie.Text), "authentication failed") {
		return imapAuthFailed(d, server, imapReply(ie))
	}
	return NewFinding(CodeIMAPFailed,
		fmt.Sprintf("%s answered %s for %s: %s.", server, ie.Type, d.who(), strings.TrimSuffix(redact(ie.Text), ".")),
		fmt.Sprintf("Check %s's Gmail settings and the server %s, then retry.", d.who(), server))
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
		return NewFinding(CodeSMTPFailed,
			fmt.Sprintf("%s refused the AUTH command line as too long (555 5.5.2) for %s.", server, d.who()),
			"This is a client bug (the token must go on its own line after 334, RFC 4954): report it with the mailoauth version, and retry with --mechanism OAUTHBEARER meanwhile.")
	}
	return NewFinding(CodeSMTPFailed,
		fmt.Sprintf("%s answered %d for %s: %s.", server, se.Code, d.who(), strings.TrimSuffix(redact(msg), ".")),
		fmt.Sprintf("Check the SMTP server %s and the sending permissions of %s, then retry.", server, d.who()))
}

func diagnoseAuth(ae *AuthError, d DiagContext) *Finding {
	server := ae.Server
	if server == "" {
		server = d.server(ae)
	}
	if ae.Check == "" {
		ae.Check = d.Check
	}
	var ie *imap.Error
	if errors.As(ae.Err, &ie) {
		if f := imapNonAuth(ie.Text, d, server); f != nil {
			return f
		}
	}
	var se *smtp.SMTPError
	if errors.As(ae.Err, &se) && se.Code != 535 && se.Code/100 != 3 {
		return diagnoseSMTP(se, d, server)
	}
	reply := ae.serverReply()
	ti := ae.TokenInfo
	switch {
	case ti != nil && !ti.Valid && !ti.Date.IsZero() && !ae.TokenExpiry.IsZero() && !ti.Date.Before(ae.TokenExpiry):
		// Minting succeeded, so this machine's clock was within minutes
		// of Google's then: the token's expiry by our clock is its
		// expiry by Google's, which Google's clock has passed.
		late := ti.Date.Sub(ae.TokenExpiry).Round(time.Second)
		local := d.now().Sub(ae.TokenExpiry)
		fix := "Run the test again to mint a fresh token; mail programs must ask `mailoauth token` for each login rather than keep a token (it is valid for an hour)."
		if local < 0 && -local > time.Minute {
			fix = fmt.Sprintf("This machine's clock is about %s behind Google's, so cached tokens are used after they expire: synchronise it with NTP (e.g. `timedatectl set-ntp true` or chrony), then retry.", (-local + late).Round(time.Minute))
		}
		return NewFinding(CodeTokenExpired,
			fmt.Sprintf("%s refused the token for %s (%s): by Google's clock it had expired %s earlier (tokeninfo's Date %s, the token's expiry %s).", server, d.who(), strings.TrimSuffix(reply, "."), late, ti.Date.UTC().Format(time.RFC3339), ae.TokenExpiry.UTC().Format(time.RFC3339)),
			fix)
	case ti != nil && !ti.Valid && d.Kind == KindOAuthClient:
		return NewFinding(CodeTokenRevoked,
			fmt.Sprintf("%s refused the token for %s (%s), and Google's tokeninfo says the token is revoked or expired.", server, d.who(), strings.TrimSuffix(reply, ".")),
			fmt.Sprintf("Run the test again to get a fresh token with the stored refresh token; if that fails too, %s", lowerFirst(reconsentFix(d.Mailbox))))
	case ti != nil && !ti.Valid:
		return NewFinding(CodeTokenRevoked,
			fmt.Sprintf("%s refused the token for %s (%s), and Google's tokeninfo says the token is revoked or expired.", server, d.who(), strings.TrimSuffix(reply, ".")),
			fmt.Sprintf("Run the test again to mint a fresh token; if it keeps happening, someone is revoking the tokens: check %s and %s's security settings.", DelegatedClientID(d.clientID()), d.who()))
	case (ti != nil && !ti.HasScope(ScopeMail)) || (ti == nil && ae.Check == CheckIMAP && !hasScope(d.Scopes, ScopeMail)):
		scopes := strings.Join(d.Scopes, ",")
		if ti != nil {
			scopes = strings.Join(strings.Fields(ti.Scope), ",")
		}
		return NewFinding(CodeScopeInsufficient,
			fmt.Sprintf("%s refused the token for %s because its scopes (%s) do not include %s, which %s needs.", server, d.who(), scopes, ScopeMail, strings.ToUpper(string(ae.Check))),
			fmt.Sprintf("Add %s to the profile's scopes (`mailoauth setup --scopes %s`) and to %s.", ScopeMail, ScopeMail, DelegatedClientID(d.clientID())))
	}
	if ti != nil && ti.Valid && !d.Endpoints.googleMail() {
		// Google vouches for the token, so a non-Google server refused it
		// by its own rules (Dovecot's oauth2 passdb: the user does not
		// match username_attribute, or it could not validate the token
		// and Postfix turned that into 535).
		code, what := CodeIMAPAuthFailed, "IMAP"
		if ae.Check == CheckSMTP {
			code, what = CodeSMTPAuthFailed, "SMTP"
		}
		owner := ""
		if ti.Email != "" && !strings.EqualFold(ti.Email, d.Mailbox) {
			owner = fmt.Sprintf(" (but for %s, not %s)", ti.Email, d.who())
		}
		return NewFinding(code,
			fmt.Sprintf("%s refused the token for %s (%s), although Google's tokeninfo says the token is valid%s: the %s server's own token validation refused it.", server, d.who(), strings.TrimSuffix(reply, "."), owner, what),
			fmt.Sprintf("The administrator of %s must check its log for %s and its OAuth 2.0 settings (Dovecot: the oauth2 passdb's tokeninfo_url or introspection_url must be reachable from the server, and username_attribute = email), then retry.", server, d.who()))
	}
	if ti == nil && ae.Challenge.invalidToken() {
		// No tokeninfo verdict, but the server's challenge says the
		// token itself is bad (RFC 6750/7628 invalid_token; Dovecot's and
		// Google's XOAUTH2 "401").
		return NewFinding(CodeTokenRevoked,
			fmt.Sprintf("%s refused the token for %s as invalid (%s; challenge status %s): it is revoked or expired.", server, d.who(), strings.TrimSuffix(reply, "."), ae.Challenge.Status),
			fmt.Sprintf("Run the test again to mint a fresh token; if it keeps happening, check %s and that %s validates tokens against Google.", DelegatedClientID(d.clientID()), server))
	}
	if ae.Check == CheckSMTP {
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
func (c *SASLErrorChallenge) invalidToken() bool {
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
