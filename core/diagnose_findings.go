package core

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"golang.org/x/oauth2"
)

// DelegationConsolePath is where the Admin console authorizes a service
// account's client ID for domain-wide delegation.
const DelegationConsolePath = "admin.google.com > Security > API controls > Domain-wide delegation"

// AppAccessConsolePath is where the Admin console trusts or blocks an OAuth
// client (app access control).
const AppAccessConsolePath = "admin.google.com > Security > API controls > App access control > Manage third-party app access"

// IAMConsolePath is the Cloud console's IAM & Admin section.
const IAMConsolePath = "console.cloud.google.com > IAM & Admin"

// ServiceAccountsConsolePath is where the Cloud console lists a project's
// service accounts and their keys.
const ServiceAccountsConsolePath = IAMConsolePath + " > Service accounts"

// APIsConsolePath is where the Cloud console keeps OAuth clients and the
// consent screen.
const APIsConsolePath = "console.cloud.google.com > APIs & Services"

// UsersConsolePath is where the Admin console lists the domain's users.
const UsersConsolePath = "admin.google.com > Directory > Users"

// GmailConsolePath is the Admin console's Gmail settings for the domain.
const GmailConsolePath = "admin.google.com > Apps > Google Workspace > Gmail"

// GmailAccessConsolePath is where the Admin console allows IMAP for the
// domain's users.
const GmailAccessConsolePath = GmailConsolePath + " > End User Access"

// DelegatedClientID names a service account's client ID where the Admin
// console authorizes it: "client ID X in <DelegationConsolePath>".
func DelegatedClientID(clientID string) string {
	return "client ID " + clientID + " in " + DelegationConsolePath
}

// DelegationSteps is the instruction for wizard step 4 and `setup`: where
// to go and what to do there; the values themselves are shown beside it.
func DelegationSteps() string {
	return "In " + DelegationConsolePath + ", click \"Add new\", paste the client ID and the scopes (comma-separated, exactly as shown), and click Authorize."
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
	off, ok := ClockOffset(h, d.now())
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
	return NewFinding(CodeTooManyConnections,
		fmt.Sprintf("%s refused %s: it already has too many simultaneous IMAP connections (Gmail allows %d per account).", server, d.who(), MaxIMAPConnectionsPerAccount),
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
	return authFailed(CodeIMAPAuthFailed, "a Gmail license and IMAP enabled", d, server, reply)
}

func smtpAuthFailed(d DiagContext, server, reply string) *Finding {
	return authFailed(CodeSMTPAuthFailed, "a Gmail license", d, server, reply)
}

// authFailed is a refused token's finding; needs is what the mailbox must
// have for the server.
func authFailed(code Code, needs string, d DiagContext, server, reply string) *Finding {
	summary := fmt.Sprintf("%s refused the token for %s (%s).", server, d.who(), strings.TrimSuffix(reply, "."))
	if d.Kind == KindOAuthClient {
		return NewFinding(code, summary,
			fmt.Sprintf("Check that %s exists with %s, and that consent was given signed in as %s: %s", d.who(), needs, d.who(), lowerFirst(reconsentFix(d.Mailbox))))
	}
	return NewFinding(code, summary,
		fmt.Sprintf("Check that %s exists with %s ("+UsersConsolePath+") and that client ID %s is authorized for %s in "+DelegationConsolePath+".", d.who(), needs, d.clientID(), ScopeMail))
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
		fmt.Sprintf("The token endpoint %s refused a token for %s (%s).", d.TokenURL, d.who(), redact(text)), fix)
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
	if d.Check != "" {
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
