package core

import "time"

// Google's texts for the OAuth client (consent) path: the token endpoint's
// answers to an authorization-code or refresh-token grant, and the error
// codes of the consent page ("Error 400: redirect_uri_mismatch"). The sandbox
// answers with these and the diagnosis recognises them.
const (
	OAuthRedirectURIMismatch = "redirect_uri_mismatch"
	OAuthOrgInternal         = "org_internal"

	// DescClientNotFound: the client ID is unknown (deleted, mistyped).
	DescClientNotFound = "The OAuth client was not found."
	// DescUnauthorized: the client ID is known but the secret is wrong.
	DescUnauthorized = "Unauthorized"
	// DescBadRequest is the terse description of a used or mismatched code.
	DescBadRequest          = "Bad Request"
	DescMalformedCode       = "Malformed auth code."
	DescMissingCodeVerifier = "Missing code verifier."
	DescInvalidCodeVerifier = "Invalid code verifier."
	// A refresh token that was revoked, or expired (7 days for an External
	// app in Testing), gets invalid_grant with DescTokenRevoked.

	// TestingRefreshTokenLife is how long Google lets a refresh token of an
	// External app in "Testing" live.
	TestingRefreshTokenLife = 7 * 24 * time.Hour
	// MaxTestUsers is the test-user cap of an unverified app, counted over
	// the app's whole life.
	MaxTestUsers = 100
)
