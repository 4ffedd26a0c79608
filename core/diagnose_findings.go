package core

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// The hosts of the two consoles every path below starts from.
const (
	adminConsole = "admin.google.com"
	cloudConsole = "console.cloud.google.com"
)

// apiControlsConsolePath is the Admin console's API controls, where both
// delegation and app access are granted.
const apiControlsConsolePath = adminConsole + " > Security > API controls"

// delegationConsolePath is where the Admin console authorizes a service
// account's client ID for domain-wide delegation.
const delegationConsolePath = apiControlsConsolePath + " > Domain-wide delegation"

// appAccessConsolePath is where the Admin console trusts or blocks an OAuth
// client (app access control).
const appAccessConsolePath = apiControlsConsolePath + " > App access control > Manage third-party app access"

// iamSection is the Cloud console's IAM & Admin section; texts that have
// named the console already start from it.
const iamSection = "IAM & Admin"

// iamConsolePath is the Cloud console's IAM & Admin section.
const iamConsolePath = cloudConsole + " > " + iamSection

// serviceAccountsSection is where IAM & Admin lists the service accounts.
const serviceAccountsSection = iamSection + " > Service accounts"

// ServiceAccountsConsolePath is where the Cloud console lists a project's
// service accounts and their keys.
const ServiceAccountsConsolePath = cloudConsole + " > " + serviceAccountsSection

// apisSection is the Cloud console's APIs & Services section.
const apisSection = "APIs & Services"

// APIsConsolePath is where the Cloud console keeps OAuth clients and the
// consent screen.
const APIsConsolePath = cloudConsole + " > " + apisSection

// credentialsPage is the page of APIs & Services that lists the OAuth
// clients; the consent checklist names it alone.
const credentialsPage = "Credentials"

// CredentialsSection is where APIs & Services lists the OAuth clients; the
// wizard's OAuth client step names it after "Cloud console".
const CredentialsSection = apisSection + " > " + credentialsPage

// credentialsConsolePath is CredentialsSection with the console's host.
const credentialsConsolePath = cloudConsole + " > " + CredentialsSection

// consentScreenPage is the page of APIs & Services that sets the OAuth
// consent screen: user type, publishing status and test users.
const consentScreenPage = "OAuth consent screen"

// consentScreenConsolePath is consentScreenPage with its whole path.
const consentScreenConsolePath = APIsConsolePath + " > " + consentScreenPage

// usersConsolePath is where the Admin console lists the domain's users.
const usersConsolePath = adminConsole + " > Directory > Users"

// gmailConsolePath is the Admin console's Gmail settings for the domain.
const gmailConsolePath = adminConsole + " > Apps > Google Workspace > Gmail"

// GmailAccessConsolePath is where the Admin console allows IMAP for the
// domain's users.
const GmailAccessConsolePath = gmailConsolePath + " > End User Access"

// DelegatedClientID names a service account's client ID where the Admin
// console authorizes it: "client ID X in <delegationConsolePath>".
func DelegatedClientID(clientID string) string {
	return "client ID " + clientID + " in " + delegationConsolePath
}

// DelegationSteps is the instruction for wizard step 4 and `setup`: where
// to go and what to do there; the values themselves are shown beside it.
func DelegationSteps() string {
	return "In " + delegationConsolePath + ", click \"Add new\", paste the client ID and the scopes (comma-separated, exactly as shown), and click Authorize."
}

func orUnknown(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func clockSkewFinding(re *oauth2.RetrieveError, d DiagContext) *Finding {
	var h http.Header
	if re.Response != nil {
		h = re.Response.Header
	}
	off, ok := clockOffset(h, d.now())
	return ClockSkewFinding(off, ok, d.who())
}

func imapDisabledFinding(d DiagContext, domain bool) *Finding {
	if domain {
		return NewFinding(CodeIMAPDisabled,
			fmt.Sprintf("IMAP access is disabled for the domain %s, so %s cannot log in to %s.", orUnknown(d.Domain, "of "+d.who()), d.who(), d.Endpoints.IMAP),
			"In "+GmailAccessConsolePath+" > POP and IMAP access, enable IMAP access for all users (clear \"Disable POP and IMAP access for all users in the domain\") and save, then retry.")
	}
	return NewFinding(CodeIMAPDisabled,
		fmt.Sprintf("IMAP is not enabled for the mailbox %s, so it cannot log in to %s.", d.who(), d.Endpoints.IMAP),
		fmt.Sprintf("In %s's Gmail settings > See all settings > Forwarding and POP/IMAP > IMAP access, choose Enable IMAP and save (IMAP must also be allowed in "+GmailAccessConsolePath+"), then retry.", d.who()))
}

func tooManyConnectionsFinding(d DiagContext, server string) *Finding {
	limit := fmt.Sprintf("IMAP connections (Gmail allows %d per account)", MaxIMAPConnectionsPerAccount)
	if d.Protocol != "" {
		limit = d.Protocol + " connections"
	}
	return NewFinding(CodeTooManyConnections,
		fmt.Sprintf("%s refused %s: it already has too many simultaneous %s.", server, d.who(), limit),
		fmt.Sprintf("Close other mail clients or connectors using %s, or lower the test concurrency (--concurrency), then retry.", d.who()))
}

func tokenCheckUnavailable(d DiagContext, server, reply string) *Finding {
	return NewFinding(CodeIMAPFailed,
		fmt.Sprintf("%s could not check the token for %s right now (%s): the server's own token validation failed, not the token.", server, d.who(), reply),
		fmt.Sprintf("Retry in a minute; if it persists, the administrator of %s must check its log and that it reaches its token validation endpoint (Dovecot: tokeninfo_url or introspection_url in the oauth2 passdb configuration).", server))
}

// imapAuthFailed: the server refused the token for a reason tokeninfo
// cannot explain; reply is the server's refusal as it was sent.
func imapAuthFailed(d DiagContext, server, reply string) *Finding {
	return authFailed(CodeIMAPAuthFailed, "a Gmail license and "+d.protocol(CheckIMAP)+" enabled", d, server, reply)
}

func smtpAuthFailed(d DiagContext, server, reply string) *Finding {
	return authFailed(CodeSMTPAuthFailed, "a Gmail license", d, server, reply)
}

// authFailed is a refused token's finding; needs is what the mailbox must
// have for the server.
func authFailed(code Code, needs string, d DiagContext, server, reply string) *Finding {
	summary := fmt.Sprintf("%s refused the token for %s (%s).", server, d.who(), strings.TrimSuffix(reply, "."))
	if d.kind == KindOAuthClient {
		return NewFinding(code, summary,
			fmt.Sprintf("Check that %s exists with %s, and that consent was given signed in as %s: %s", d.who(), needs, d.who(), lowerFirst(reconsentFix(d.Mailbox))))
	}
	return NewFinding(code, summary,
		fmt.Sprintf("Check that %s exists with %s ("+usersConsolePath+") and that client ID %s is authorized for %s in "+delegationConsolePath+".", d.who(), needs, d.shownClientID(), ScopeMail))
}

// tokenRefusedFinding is a refusal of the token endpoint that no rule
// recognises: its error code and description quoted (its HTTP status when
// it sent neither), with the fix of the credential's path.
func tokenRefusedFinding(re *oauth2.RetrieveError, d DiagContext, fix string) *Finding {
	code, desc := oauthError(re)
	text := code
	if desc != "" {
		text += ": " + desc
	}
	if text == "" && re.Response != nil {
		text = re.Response.Status
	}
	return NewFinding(CodeTokenFailed,
		fmt.Sprintf("The token endpoint %s refused a token for %s (%s).", d.tokenURL, d.who(), redact(text)), fix)
}

func unknownFinding(err error, d DiagContext) *Finding {
	code := CodeUnknown
	switch d.Check {
	case CheckToken:
		code = CodeTokenFailed
	case CheckIMAP:
		code = CodeIMAPFailed
	case CheckSMTP:
		code = CodeSMTPFailed
	case CheckRoundtrip: // it logs in to IMAP and sends through SMTP: the server that failed
		var se *ServerError
		if errors.As(err, &se) {
			switch se.Server {
			case d.Endpoints.IMAP:
				code = CodeIMAPFailed
			case d.Endpoints.SMTP:
				code = CodeSMTPFailed
			}
		}
	}
	what := "The check"
	switch {
	case d.Protocol != "":
		what = "The " + d.Protocol + " login"
	case d.Check != "":
		what = "The " + string(d.Check) + " check"
	}
	return NewFinding(code,
		fmt.Sprintf("%s of %s failed: %s.", what, d.who(), strings.TrimSuffix(redact(err.Error()), ".")),
		"Run `mailoauth doctor` to check the clock, DNS, TLS and each server step by step, then retry.")
}

var secretLike = regexp.MustCompile(`[A-Za-z0-9._~+/=-]{48,}`)

// redact removes anything that looks like a token or key from a text.
func redact(s string) string {
	return secretLike.ReplaceAllString(s, "[redacted]")
}

// The findings below are those Diagnose and its helpers choose; each takes
// the values its sentences name.

func cancelledFinding() *Finding {
	return NewFinding(CodeCancelled, "The check was cancelled before it finished.", "Run the test again.")
}

func delegationNotAuthorizedFinding(who, clientID string, scopes []string, fix string) *Finding {
	return NewFinding(CodeDelegationNotAuthorized,
		fmt.Sprintf("Google refused a token for %s: client ID %s is not authorized for domain-wide delegation of %s (or the change has not taken effect yet).", who, clientID, strings.Join(scopes, ",")),
		fix)
}

func invalidScopeFinding(scopes []string, clientID string) *Finding {
	return NewFinding(CodeInvalidScope,
		fmt.Sprintf("Google rejects the requested scope list %q as invalid.", strings.Join(scopes, " ")),
		fmt.Sprintf("Set the profile's scopes to exactly %s (with the trailing slash) with `mailoauth setup --scopes %s`, and authorize the same string for %s.", ScopeMail, ScopeMail, DelegatedClientID(clientID)))
}

func adminPolicyFinding(clientID, who string) *Finding {
	return NewFinding(CodeAdminPolicyEnforced,
		fmt.Sprintf("A Google Workspace admin policy blocks the service account (client ID %s) from acting for %s.", clientID, who),
		fmt.Sprintf("In "+appAccessConsolePath+", set the app with client ID %s to Trusted (or unblock it), then retry.", clientID))
}

// clientDisabledFinding; clientEmail may be empty (not known).
func clientDisabledFinding(clientEmail, clientID string) *Finding {
	return NewFinding(CodeClientDisabled,
		fmt.Sprintf("The service account %s (client ID %s) is disabled, so Google issues it no tokens.", orUnknown(clientEmail, "of this key"), clientID),
		fmt.Sprintf("In "+ServiceAccountsConsolePath+", select %s and choose Enable (or create a new service account and key), then retry.", orUnknown(clientEmail, "the service account")))
}

// serviceAccountUnknownFinding: Google does not know the key's account.
func serviceAccountUnknownFinding(clientEmail string) *Finding {
	return NewFinding(CodeKeySignatureRejected,
		fmt.Sprintf("Google does not know the service account %s of this key: it was deleted, or the key belongs to another project.", orUnknown(clientEmail, "(client_email)")),
		"Check that the service account still exists in "+ServiceAccountsConsolePath+", create a new JSON key for it (Keys > Add key > Create new key > JSON) and load it (wizard step 3, or `mailoauth setup --key FILE`).")
}

// unknownMailboxFinding: the token endpoint does not know the mailbox.
func unknownMailboxFinding(who, domain string) *Finding {
	return unknownUserFinding(who, domain, fmt.Sprintf("Google does not know the mailbox %s in %s.", who, orUnknown(domain, "the domain")), "retry")
}

func userSuspendedFinding(who string) *Finding {
	return NewFinding(CodeUserSuspended,
		fmt.Sprintf("The mailbox %s is suspended in Google Workspace.", who),
		fmt.Sprintf("In "+usersConsolePath+" > %s, choose Reactivate, then retry.", who))
}

func keySignatureRejectedFinding(clientEmail string) *Finding {
	return NewFinding(CodeKeySignatureRejected,
		fmt.Sprintf("Google rejected the signature of this key for %s: the key was deleted or replaced in the Cloud console.", orUnknown(clientEmail, "the service account")),
		fmt.Sprintf("In "+ServiceAccountsConsolePath+" > %s > Keys > Add key > Create new key > JSON, then load the new file (wizard step 3, or `mailoauth setup --key FILE`).", orUnknown(clientEmail, "(the account)")))
}

func tokenAudienceFinding(tokenURL string) *Finding {
	return NewFinding(CodeTokenFailed,
		fmt.Sprintf("The token endpoint %s rejected the assertion's audience.", tokenURL),
		"Make the key's token_uri and the endpoints file's token_url the same URL (Google's is "+GoogleTokenURL+"), then retry.")
}

// grantRevokedFinding: the token endpoint says the grant is gone.
func grantRevokedFinding(who, clientID string) *Finding {
	return NewFinding(CodeTokenRevoked,
		fmt.Sprintf("Google says the grant for %s has been expired or revoked.", who),
		"Run the test again to mint a fresh token; if it keeps happening, check "+DelegatedClientID(clientID)+".")
}

// delegatedTokenRefusedFix is the fix of a service account's token refusal
// that no rule recognises.
func delegatedTokenRefusedFix(clientID string) string {
	return "Check the key, the client ID " + clientID + " and its scopes in " + delegationConsolePath + ", then retry."
}

// imapRefusedFinding: an IMAP refusal no rule recognises; typ is its
// status (NO, BAD) and text the server's words.
func imapRefusedFinding(server, who, typ, text string) *Finding {
	return NewFinding(CodeIMAPFailed,
		fmt.Sprintf("%s answered %s for %s: %s.", server, typ, who, strings.TrimSuffix(redact(text), ".")),
		fmt.Sprintf("Check %s's Gmail settings and the server %s, then retry.", who, server))
}

func smtpLineTooLongFinding(server, who string) *Finding {
	return NewFinding(CodeSMTPFailed,
		fmt.Sprintf("%s refused the AUTH command line as too long (555 5.5.2) for %s.", server, who),
		"This is a client bug (the token must go on its own line after 334, RFC 4954): report it with the mailoauth version, and retry with --mechanism OAUTHBEARER meanwhile.")
}

// smtpRefusedFinding: an SMTP reply no rule recognises; msg is its text.
func smtpRefusedFinding(server, who string, code int, msg string) *Finding {
	return NewFinding(CodeSMTPFailed,
		fmt.Sprintf("%s answered %d for %s: %s.", server, code, who, strings.TrimSuffix(redact(msg), ".")),
		fmt.Sprintf("Check the SMTP server %s and the sending permissions of %s, then retry.", server, who))
}

// tokenExpiredFinding: Google's clock (tokeninfo's date) had passed the
// refused token's expiry by late; behind > 0 is how far this machine's
// clock is behind Google's.
func tokenExpiredFinding(server, who, reply string, late time.Duration, date, expiry time.Time, behind time.Duration) *Finding {
	fix := "Run the test again to mint a fresh token; mail programs must ask `mailoauth token` for each login rather than keep a token (it is valid for an hour)."
	if behind > 0 {
		fix = fmt.Sprintf("This machine's clock is about %s behind Google's, so cached tokens are used after they expire: synchronise it with NTP (e.g. `timedatectl set-ntp true` or chrony), then retry.", behind.Round(time.Minute))
	}
	return NewFinding(CodeTokenExpired,
		fmt.Sprintf("%s refused the token for %s (%s): by Google's clock it had expired %s earlier (tokeninfo's Date %s, the token's expiry %s).", server, who, strings.TrimSuffix(reply, "."), late, date.UTC().Format(time.RFC3339), expiry.UTC().Format(time.RFC3339)),
		fix)
}

func tokenInfoRevokedSummary(server, who, reply string) string {
	return fmt.Sprintf("%s refused the token for %s (%s), and Google's tokeninfo says the token is revoked or expired.", server, who, strings.TrimSuffix(reply, "."))
}

// consentRevokedFinding: tokeninfo says an OAuth client's token is dead.
func consentRevokedFinding(server, who, reply, mailbox string) *Finding {
	return NewFinding(CodeTokenRevoked, tokenInfoRevokedSummary(server, who, reply),
		fmt.Sprintf("Run the test again to get a fresh token with the stored refresh token; if that fails too, %s", lowerFirst(reconsentFix(mailbox))))
}

// delegatedRevokedFinding: tokeninfo says a service account's token is dead.
func delegatedRevokedFinding(server, who, reply, clientID string) *Finding {
	return NewFinding(CodeTokenRevoked, tokenInfoRevokedSummary(server, who, reply),
		fmt.Sprintf("Run the test again to mint a fresh token; if it keeps happening, someone is revoking the tokens: check %s and %s's security settings.", DelegatedClientID(clientID), who))
}

// scopeInsufficientFinding: the token's scopes lack ScopeMail, which the
// protocol (IMAP, SMTP, POP3) needs.
func scopeInsufficientFinding(server, who string, scopes []string, protocol, clientID string) *Finding {
	return NewFinding(CodeScopeInsufficient,
		fmt.Sprintf("%s refused the token for %s because its scopes (%s) do not include %s, which %s needs.", server, who, strings.Join(scopes, ","), ScopeMail, protocol),
		fmt.Sprintf("Add %s to the profile's scopes (`mailoauth setup --scopes %s`) and to %s.", ScopeMail, ScopeMail, DelegatedClientID(clientID)))
}

// serverValidationFinding: a server that is not Gmail refused a token
// Google vouches for; what is its protocol ("IMAP", "SMTP", "POP3"), owner
// the token's mailbox when it is not who (empty: it is).
func serverValidationFinding(code Code, what, server, who, reply, owner string) *Finding {
	but := ""
	if owner != "" {
		but = fmt.Sprintf(" (but for %s, not %s)", owner, who)
	}
	return NewFinding(code,
		fmt.Sprintf("%s refused the token for %s (%s), although Google's tokeninfo says the token is valid%s: the %s server's own token validation refused it.", server, who, strings.TrimSuffix(reply, "."), but, what),
		fmt.Sprintf("The administrator of %s must check its log for %s and its OAuth 2.0 settings (Dovecot: the oauth2 passdb's tokeninfo_url or introspection_url must be reachable from the server, and username_attribute = email), then retry.", server, who))
}

// challengeInvalidFinding: the server's SASL challenge (status) says the
// token is invalid.
func challengeInvalidFinding(server, who, reply, status, clientID string) *Finding {
	return NewFinding(CodeTokenRevoked,
		fmt.Sprintf("%s refused the token for %s as invalid (%s; challenge status %s): it is revoked or expired.", server, who, strings.TrimSuffix(reply, "."), status),
		fmt.Sprintf("Run the test again to mint a fresh token; if it keeps happening, check %s and that %s validates tokens against Google.", DelegatedClientID(clientID), server))
}
