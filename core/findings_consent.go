package core

// The finding texts (summary and fix) of the consent path: consent and the
// refresh token (the OAuth client credential has findings_credentials.go).
// The code that decides which one applies stays with the consent and
// refresh logic.

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// redirectMismatchFinding: redirect is not among the client's registered
// redirect URIs.
func redirectMismatchFinding(clientID, redirect string, registered []string) *Finding {
	have := "none"
	if len(registered) > 0 {
		have = strings.Join(registered, ", ")
	}
	return NewFinding(CodeRedirectURIMismatch,
		fmt.Sprintf("The redirect URI %s is not registered for OAuth client %s (registered: %s), so Google answers \"Error 400: redirect_uri_mismatch\".", redirect, orUnknown(clientID, "(client ID)"), have),
		fmt.Sprintf("In %s > Authorized redirect URIs, add exactly %s and save (it can take 5 minutes to a few hours to take effect), then download the client JSON again and load it with `mailoauth setup --client FILE`.", clientHowTo, registeredForm(redirect)))
}

// accessDeniedFinding: the user chose Deny, or is not one of a Testing
// app's test users.
func accessDeniedFinding(d oauthDiag) *Finding {
	who := d.who()
	return NewFinding(CodeAccessDenied,
		fmt.Sprintf("Consent for %s was refused: the user chose Deny, or the app is External and in Testing and %s is not one of its test users.", who, who),
		fmt.Sprintf("If the app is in Testing, add %s in "+consentScreenConsolePath+" > Test users (at most %d over the app's life) or publish the app; then run %s again and choose Allow.", who, MaxTestUsers, reconsentCommand(d.Mailbox)))
}

// orgInternalFinding: the app is Internal and the mailbox outside its
// organisation.
func orgInternalFinding(d oauthDiag) *Finding {
	who := d.who()
	return NewFinding(CodeAccessDenied,
		fmt.Sprintf("Consent for %s was refused: the app's user type is Internal and %s is outside its Google Workspace organisation.", who, who),
		fmt.Sprintf("Use a mailbox of the app's organisation, or set the user type to External in "+consentScreenConsolePath+" (and add %s as a test user while in Testing), then run %s again.", who, reconsentCommand(d.Mailbox)))
}

func consentClientDisabledFinding(d oauthDiag) *Finding {
	return NewFinding(CodeClientDisabled,
		fmt.Sprintf("The OAuth client %s is disabled, so Google shows no consent page.", d.shownClientID()),
		"Enable it in "+clientHowTo+" (or create a new client ID and load it with `mailoauth setup --client FILE`), then retry.")
}

func consentAdminPolicyFinding(d oauthDiag) *Finding {
	who := d.who()
	return NewFinding(CodeAdminPolicyEnforced,
		fmt.Sprintf("A Google Workspace admin policy blocks OAuth client %s for %s.", d.shownClientID(), who),
		fmt.Sprintf("In "+appAccessConsolePath+", set the app with client ID %s to Trusted, then retry.", d.shownClientID()))
}

// consentFailedFinding is a consent error no rule recognises; text is its
// code and description.
func consentFailedFinding(d oauthDiag, text string) *Finding {
	who := d.who()
	return NewFinding(CodeTokenFailed,
		fmt.Sprintf("Google's consent step for %s failed (%s).", who, redact(text)),
		fmt.Sprintf("Check the OAuth client %s and its consent screen in "+APIsConsolePath+", then run %s again.", d.shownClientID(), reconsentCommand(d.Mailbox)))
}

func clientNotFoundFinding(d oauthDiag) *Finding {
	return NewFinding(CodeInvalidClient,
		fmt.Sprintf("Google does not know the OAuth client ID %s (\"%s\"): it was deleted, or mistyped.", d.shownClientID(), DescClientNotFound),
		fmt.Sprintf("Copy the Client ID from %s (or download its JSON again) and run `mailoauth setup --domain %s --client FILE`.", clientHowTo, orUnknown(d.Domain, "D")))
}

func clientSecretRejectedFinding(d oauthDiag, desc string) *Finding {
	return NewFinding(CodeInvalidClient,
		fmt.Sprintf("Google rejected the client secret of OAuth client %s (invalid_client: %s).", d.shownClientID(), orUnknown(desc, DescUnauthorized)),
		fmt.Sprintf("Copy the current Client secret from %s > Client secrets (or download the client JSON again) and run `mailoauth setup --domain %s --client FILE` (or --client-id %s --client-secret-file FILE).", clientHowTo, orUnknown(d.Domain, "D"), d.shownClientID()))
}

// grantScopeInsufficientFinding: mailbox allowed only scopes, without the mail
// scope.
func grantScopeInsufficientFinding(mailbox string, scopes []string) *Finding {
	return NewFinding(CodeScopeInsufficient,
		fmt.Sprintf("%s allowed only %s, not %s, which IMAP and SMTP need.", mailbox, strings.Join(scopes, " "), ScopeMail),
		fmt.Sprintf("Run %s again and leave every permission ticked on Google's consent page.", reconsentCommand(mailbox)))
}

func noRefreshTokenFinding(mailbox string) *Finding {
	return NewFinding(CodeConsentRequired,
		fmt.Sprintf("Google issued an access token for %s but no refresh token, so access would end within the hour.", mailbox),
		fmt.Sprintf("Remove the app's access at myaccount.google.com/permissions (signed in as %s), then run %s again.", mailbox, reconsentCommand(mailbox)))
}

// ConsentTimeoutFinding is the finding when no answer came from the consent
// page of mailbox within wait. retry completes "then ..." with how this face
// starts again; empty means the command's.
func ConsentTimeoutFinding(mailbox string, wait time.Duration, retry string) *Finding {
	if retry == "" {
		retry = "run " + reconsentCommand(mailbox) + " again (use --paste when the browser runs on another machine)"
	}
	if wait >= time.Second {
		wait = wait.Round(time.Second)
	}
	return NewFinding(CodeConsentRequired,
		fmt.Sprintf("No answer from Google's consent page for %s within %s.", orUnknown(mailbox, "the mailbox"), wait),
		fmt.Sprintf("Open the URL shown, sign in as %s and choose Allow; if the browser showed an error page, act on it; then %s.", orUnknown(mailbox, "the mailbox owner"), retry))
}

// unknownUserFinding is the finding of a mailbox Google has no account for,
// on either credential path; retry is what to run once it is fixed.
func unknownUserFinding(who, domain, summary, retry string) *Finding {
	return NewFinding(CodeUnknownUser, summary,
		fmt.Sprintf("Check the spelling of %s, or create the user in "+usersConsolePath+" > Add new user (in %s), then %s.", who, orUnknown(domain, "the domain"), retry))
}

// accountNotFoundFinding: Google's sign-in page says the mailbox has no
// Google Account.
func accountNotFoundFinding(d oauthDiag) *Finding {
	return unknownUserFinding(d.who(), d.Domain,
		fmt.Sprintf("Google has no account %s: its sign-in page says \"%s\", so nobody can consent for it.", d.who(), AccountNotFoundText),
		"run "+reconsentCommand(d.Mailbox)+" again")
}

// consentPageErrorFinding: the consent page answered an HTTP error that is
// not one of Google's error pages.
func consentPageErrorFinding(c *Consent, resp *http.Response) *Finding {
	return NewFinding(CodeTokenFailed,
		fmt.Sprintf("Google's consent page %s answered %s for %s.", c.ep.AuthURL, resp.Status, c.Mailbox),
		"Check auth_url in the endpoints file (Google's is "+googleAuthURL+") and the OAuth client in "+clientHowTo+", then retry.")
}

// testingRefreshExpiredFinding: a Testing app's refresh token outlived
// its 7 days; serverNow is Google's clock at the refusal.
func testingRefreshExpiredFinding(d oauthDiag, serverNow time.Time) *Finding {
	who := d.who()
	return NewFinding(CodeTestingAppRefreshExpired,
		fmt.Sprintf("The refresh token of %s expired %s after consent (given %s): OAuth client %s belongs to an External app in Testing, whose refresh tokens Google lets live only 7 days.", who, ageWords(serverNow.Sub(d.ConsentedAt)), d.ConsentedAt.Format("2006-01-02 15:04 MST"), d.shownClientID()),
		fmt.Sprintf("Publish the app ("+consentScreenConsolePath+" > Publish app, or make its user type Internal), then run %s once more; until then every mailbox must consent again each week.", reconsentCommand(d.Mailbox)))
}

func refreshRevokedFinding(d oauthDiag) *Finding {
	who := d.who()
	return NewFinding(CodeConsentRequired,
		fmt.Sprintf("Google says the refresh token of %s has been expired or revoked (consent withdrawn, password changed, or access removed at myaccount.google.com/permissions).", who),
		reconsentFix(d.Mailbox))
}

// codeRefusedFinding: the token endpoint refused the authorization code
// (invalid_grant with description desc).
func codeRefusedFinding(d oauthDiag, code, desc string) *Finding {
	who := d.who()
	return NewFinding(CodeConsentRequired,
		fmt.Sprintf("Google refused the authorization code for %s (%s): it was already used, expired after 10 minutes, or belongs to another attempt.", who, orUnknown(desc, code)),
		fmt.Sprintf("Run %s again and finish it within 10 minutes.", reconsentCommand(d.Mailbox)))
}

func consentInvalidScopeFinding(d oauthDiag) *Finding {
	return NewFinding(CodeInvalidScope,
		fmt.Sprintf("Google rejects the requested scope list %q as invalid.", strings.Join(d.Scopes, " ")),
		fmt.Sprintf("Set the profile's scopes to exactly %s (with the trailing slash) with `mailoauth setup --scopes %s`, then run %s again.", ScopeMail, ScopeMail, reconsentCommand(d.Mailbox)))
}

// oauthClientRefusedFinding is a refusal of the OAuth client's token
// request that no rule recognises.
func oauthClientRefusedFinding(re *oauth2.RetrieveError, d oauthDiag) *Finding {
	return tokenRefusedFinding(re, d.DiagContext,
		fmt.Sprintf("Check OAuth client %s in %s, then retry; if it persists, %s", d.shownClientID(), clientHowTo, lowerFirst(reconsentFix(d.Mailbox))))
}

func noRefreshStoreFinding(mailbox string) *Finding {
	return NewFinding(CodeConsentRequired,
		fmt.Sprintf("No refresh-token store is available, so no consent of %s can be used.", mailbox), reconsentFix(mailbox))
}

func noConsentFinding(mailbox, clientID string) *Finding {
	return NewFinding(CodeConsentRequired,
		fmt.Sprintf("%s has not granted consent to OAuth client %s yet, so there is no refresh token for it.", mailbox, clientID),
		reconsentFix(mailbox))
}

// otherClientConsentFinding: the stored consent of mailbox was given to
// OAuth client stored, not to the profile's clientID.
func otherClientConsentFinding(mailbox, stored, clientID string) *Finding {
	return NewFinding(CodeConsentRequired,
		fmt.Sprintf("The consent stored for %s was given to OAuth client %s, not to the profile's client %s.", mailbox, stored, clientID),
		reconsentFix(mailbox))
}

// ConsentInWizard is how reconsentFix tells the wizard's mailbox step to
// consent, naming no key: core's texts are the command line's too, where a
// key means nothing. The wizard adds the key from its keymap after it.
const ConsentInWizard = "start its consent"

// reconsentFix is the fix of every finding that needs a mailbox's consent:
// the command, and the wizard's mailbox step, which runs the same consent
// (the upgrade assistant's wizard has that step too on this path).
func reconsentFix(mailbox string) string {
	return fmt.Sprintf("Run %s (add --paste when the browser runs on another machine), or in step 5 (Mailboxes) of `mailoauth wizard` or `mailoauth upgrade` select %s and "+ConsentInWizard+"; then have %s choose Allow on Google's consent page.", reconsentCommand(mailbox), orUnknown(mailbox, "the mailbox"), orUnknown(mailbox, "the mailbox owner"))
}
