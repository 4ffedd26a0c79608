package core

import (
	"errors"
	"fmt"
)

// Code is the stable identifier of a finding; scripts and tests match on it.
type Code string

// The finding codes. Their meaning never changes; new ones are only added.
const (
	CodeInvalidKey              Code = "invalid_key"
	CodeWrongCredentialType     Code = "wrong_credential_type"
	CodeDelegationNotAuthorized Code = "delegation_not_authorized"
	CodeUnknownUser             Code = "unknown_user"
	CodeUserSuspended           Code = "user_suspended"
	CodeIMAPDisabled            Code = "imap_disabled"
	CodeClockSkew               Code = "clock_skew"
	CodeKeySignatureRejected    Code = "key_signature_rejected"
	CodeInvalidScope            Code = "invalid_scope"
	CodeScopeInsufficient       Code = "scope_insufficient"
	CodeAdminPolicyEnforced     Code = "admin_policy_enforced"
	CodeClientDisabled          Code = "client_disabled"
	CodeServiceAccountAsMailbox Code = "service_account_as_mailbox"
	CodeTooManyConnections      Code = "too_many_connections"
	CodeTokenRevoked            Code = "token_revoked"
	CodeIMAPAuthFailed          Code = "imap_auth_failed"
	CodeSMTPAuthFailed          Code = "smtp_auth_failed"
	CodeTLSUntrusted            Code = "tls_untrusted"
	CodeConnectFailed           Code = "connect_failed"
	CodeTimeout                 Code = "timeout"
	CodeRoundtripNotDelivered   Code = "roundtrip_not_delivered"
	CodeMailboxOutsideDomain    Code = "mailbox_outside_domain"
	CodeTokenFailed             Code = "token_failed"
	CodeIMAPFailed              Code = "imap_failed"
	CodeSMTPFailed              Code = "smtp_failed"
	// The OAuth client (consent) path.
	CodeConsentRequired          Code = "consent_required"
	CodeAccessDenied             Code = "access_denied"
	CodeRedirectURIMismatch      Code = "redirect_uri_mismatch"
	CodeInvalidClient            Code = "invalid_client"
	CodeTestingAppRefreshExpired Code = "testing_app_refresh_expired"
	// CodeTokenExpired: a server refused a token that had expired by the
	// token issuer's clock when it was used (tokeninfo says invalid, and its
	// Date is past the token's expiry).
	CodeTokenExpired Code = "token_expired"
	// CodeThrottled: Google kept answering with a throttling reply (token
	// endpoint HTTP 429, IMAP [THROTTLED], SMTP 421 / 454 4.7.0) after the
	// mailbox was tried again with backoff.
	CodeThrottled Code = "throttled"
	// CodeCancelled: the run was cancelled before this mailbox's checks finished.
	CodeCancelled Code = "cancelled"
	// CodePOP3AuthFailed and CodePOP3Failed are CodeIMAPAuthFailed and
	// CodeIMAPFailed for mailoauth proxy's POP3 logins, which are diagnosed
	// as IMAP's (DiagContext.Protocol): the code a POP3 client and the
	// proxy's log show names the protocol that failed.
	CodePOP3AuthFailed Code = "pop3_auth_failed"
	CodePOP3Failed     Code = "pop3_failed"
	// CodeUnknown: a failure no rule recognises; the summary carries the raw
	// error text (with anything token-like removed).
	CodeUnknown Code = "unknown"
)

// Finding is what went wrong, in one line, and exactly what to do about it.
type Finding struct {
	Code    Code   `json:"code"`
	Summary string `json:"summary"`
	Fix     string `json:"fix"`
}

// NewFinding builds a finding. Its text may quote a server's reply or a
// file's field, so it goes through SafeText: a finding can be printed or
// rendered as it is.
func NewFinding(code Code, summary, fix string) *Finding {
	return &Finding{Code: code, Summary: SafeText(summary), Fix: SafeText(fix)}
}

// String renders the finding as the one sentence pair a user reads.
func (f *Finding) String() string {
	if f == nil {
		return ""
	}
	return f.Summary + " " + f.Fix
}

// FindingError is an error that already knows its diagnosis.
type FindingError struct {
	Finding *Finding
	// Err is the underlying cause, kept for errors.Is / As; never shown.
	Err error
}

func (e *FindingError) Error() string { return e.Finding.String() }
func (e *FindingError) Unwrap() error { return e.Err }

// FindingOf returns the finding carried by err, if any.
func FindingOf(err error) *Finding {
	var fe *FindingError
	if errors.As(err, &fe) {
		return fe.Finding
	}
	return nil
}

// InputError is bad input from the user: a file, a flag or a field. Its
// message is one sentence naming the thing and the fix. Env marks problems
// of the environment (unreadable file) rather than of the content.
type InputError struct {
	Msg string
	Env bool
	// Err is the underlying cause (e.g. fs.ErrNotExist), for errors.Is;
	// never shown.
	Err error
}

// Error is the message with anything it quotes from a file or a user made
// safe for a terminal (SafeLines).
func (e *InputError) Error() string { return SafeLines(e.Msg) }
func (e *InputError) Unwrap() error { return e.Err }

// Inputf builds an InputError.
func Inputf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}
