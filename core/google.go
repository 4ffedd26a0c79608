package core

import "github.com/mailoauth/mailoauth/core/mailproto"

// Google's own error codes and texts, exactly as its token endpoint, Gmail
// IMAP and Gmail SMTP send them. The sandbox answers with these and the
// diagnosis recognises them, so the two can never drift apart silently; the
// diagnosis also matches on the stable parts, as Google varies the rest.
const (
	// Token endpoint (https://oauth2.googleapis.com/token) "error" values.
	OAuthUnauthorizedClient   = "unauthorized_client"
	OAuthInvalidGrant         = "invalid_grant"
	OAuthInvalidScope         = "invalid_scope"
	OAuthAccessDenied         = "access_denied"
	OAuthAdminPolicyEnforced  = "admin_policy_enforced"
	OAuthDisabledClient       = "disabled_client"
	OAuthInvalidClient        = "invalid_client"
	OAuthInvalidRequest       = "invalid_request"
	OAuthUnsupportedGrantType = "unsupported_grant_type"

	// Token endpoint "error_description" texts.
	DescUnauthorizedClient = "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."
	DescInvalidEmail       = "Invalid email or User ID"
	DescAccountDisabled    = "Account disabled"
	DescShortLivedToken    = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
	DescInvalidSignature   = "Invalid JWT Signature."
	DescAudience           = "Invalid JWT: Failed audience check. The expected audience is the token endpoint."
	DescInvalidScope       = "Invalid OAuth scope or ID token audience provided."
	DescAccessDenied       = "Requested client not authorized."
	DescAdminPolicy        = "Access to this application is restricted by your administrator's policy."
	DescDisabledClient     = "The OAuth client was disabled."
	DescTokenRevoked       = "Token has been expired or revoked."
	DescAccountNotFound    = "Invalid grant: account not found"

	// Tokeninfo endpoint error for an unknown, expired or revoked token.
	OAuthInvalidToken = "invalid_token"
	DescInvalidValue  = "Invalid Value"

	// Gmail IMAP texts.
	IMAPInvalidCredentials = "Invalid credentials (Failure)"
	IMAPDomainDisabled     = "IMAP access is disabled for your domain. Please contact your domain administrator for questions about this feature. (Failure)"
	IMAPUserDisabled       = "Your account is not enabled for IMAP use. Please visit your Gmail settings page and enable your account for IMAP access. (Failure)"
	IMAPTooManyConnections = "Too many simultaneous connections. (Failure)"

	// Gmail SMTP texts: 535 5.7.8 (two lines) and 555 5.5.2.
	SMTPBadCredentials = "Username and Password not accepted. For more information, go to\n https://support.google.com/mail/?p=BadCredentials"
	SMTPLineTooLong    = "Syntax error, command line too long."
	// SMTPNoSuchUser is the 550 5.1.1 text for an unknown recipient.
	SMTPNoSuchUser = "The email account that you tried to reach does not exist. Please try\ndouble-checking the recipient's email address for typos or\nunnecessary spaces. For more information, go to\n https://support.google.com/mail/?p=NoSuchUser"
	// SMTPAuthRequired is the 530 5.7.0 text for MAIL before AUTH.
	SMTPAuthRequired = "Authentication Required. For more information, go to\n https://support.google.com/mail/?p=WantAuthError"

	// MaxIMAPConnectionsPerAccount is Gmail's limit of simultaneous IMAP
	// connections for one account.
	MaxIMAPConnectionsPerAccount = 15
)

// GmailSASLError is the challenge Gmail sends for a refused token.
var GmailSASLError = mailproto.Challenge{Status: "400", Schemes: "Bearer", Scope: ScopeMail}

// Google's throttling replies: the token endpoint's HTTP 429, Gmail IMAP's
// [THROTTLED] and connection cap, Gmail SMTP's 421 and 454 4.7.0. A client
// waits (Retry-After when given) and tries again; they say nothing about the
// configuration.
const (
	OAuthRateLimitExceeded = "rate_limit_exceeded"
	DescRateLimitExceeded  = "Rate Limit Exceeded"
	// IMAPThrottledCode is the response code of IMAPThrottled.
	IMAPThrottledCode = "THROTTLED"
	IMAPThrottled     = "Account exceeded command or bandwidth limits. (Failure)"
	SMTPTryAgainLater = "Try again later, closing connection."
	SMTPTooManyLogins = "Too many login attempts, please try again later."
)
