package core

import (
	"fmt"
	"time"
)

// The texts of the findings of running checks and watching deadlines:
// warnings, throttling, the round trip and the wizard's
// token check. The logic that raises them stays in its files.

// consentExpiringFinding is a Testing app's consent of mailbox ending in
// left, at at; consented is when it was given.
func consentExpiringFinding(mailbox string, left time.Duration, at, consented time.Time) *Finding {
	return NewFinding(CodeConsentExpiring,
		fmt.Sprintf("The consent of %s ends %s (%s): the OAuth app is in Testing, where Google lets refresh tokens live 7 days from consent (given %s).",
			mailbox, inWords(left), at.UTC().Format("2006-01-02 15:04 UTC"), consented.UTC().Format("2006-01-02 15:04 UTC")),
		fmt.Sprintf("Publish the app ("+consentScreenConsolePath+" > Publish app) and then re-consent once, or re-consent before then: %s.", reconsentFix(mailbox)))
}

// refreshTokenIdleFinding is mailbox's refresh token unused for idle,
// which Google drops at at.
func refreshTokenIdleFinding(mailbox string, idle time.Duration, at time.Time) *Finding {
	return NewFinding(CodeRefreshTokenIdle,
		fmt.Sprintf("The refresh token of %s was last used %s ago; Google drops a refresh token unused for six months (%s).",
			mailbox, ageWords(idle), at.UTC().Format("2006-01-02")),
		fmt.Sprintf("Use it before then: `mailoauth test --mailbox %s --checks token` (a running `mailoauth watch` does it every round).", mailbox))
}

// keyRotationDueFinding is the key id of email aged age (counted from
// from, created) past the rotation age maxAge.
func keyRotationDueFinding(id, email string, age time.Duration, from string, created time.Time, maxAge time.Duration) *Finding {
	return NewFinding(CodeKeyRotationDue,
		fmt.Sprintf("The service-account key %s of %s is %s old (counted from %s, %s), older than the rotation age of %s.",
			id, email, ageWords(age), from, created.UTC().Format("2006-01-02"), ageWords(maxAge)),
		"Create a new key ("+ServiceAccountsConsolePath+" > Keys > Add key > JSON), load it with `mailoauth setup --key NEW.json` or the wizard's step 3 (the client ID stays, so the delegation holds), then delete the old key there.")
}

// keyCertificateExpiringFinding is the certificate of the .p12 key id of
// email ending in left, at notAfter.
func keyCertificateExpiringFinding(id, email string, left time.Duration, notAfter time.Time) *Finding {
	return NewFinding(CodeKeyCertificateExpiring,
		fmt.Sprintf("The certificate of the .p12 key %s of %s ends %s (%s); Google then refuses the key.",
			id, email, inWords(left), notAfter.UTC().Format("2006-01-02")),
		"Create a new JSON key ("+ServiceAccountsConsolePath+" > Keys > Add key > JSON) and load it with `mailoauth setup --key NEW.json` or the wizard's step 3.")
}

func throttledFinding(d DiagContext, th *throttle, retries int) *Finding {
	d = d.normalized()
	tried := ""
	switch {
	case retries == 1:
		tried = ", still after 1 retry"
	case retries > 1:
		tried = fmt.Sprintf(", still after %d retries", retries)
	}
	if th.retryAfter > MaxRetryAfter {
		// Waited out, the run would look hung: say when to come back.
		return NewFinding(CodeThrottled,
			fmt.Sprintf("%s throttled the checks of %s (%s)%s and asked to wait %s (Retry-After), longer than a run waits (%s): Google limits how fast one project may mint tokens and log in, nothing is wrong with the mailbox.",
				th.server, d.who(), th.reply, tried, waitWords(th.retryAfter), waitWords(MaxRetryAfter)),
			fmt.Sprintf("Run the test again after %s, with a lower ceiling (e.g. `mailoauth test --all --concurrency 8`), and do not run other bulk jobs on this service account at the same time.",
				d.now().Add(th.retryAfter).UTC().Format("2006-01-02 15:04 UTC")))
	}
	return NewFinding(CodeThrottled,
		fmt.Sprintf("%s throttled the checks of %s (%s)%s: Google limits how fast one project may mint tokens and log in, nothing is wrong with the mailbox.", th.server, d.who(), th.reply, tried),
		"Run the test again in a few minutes, or with a lower ceiling (e.g. `mailoauth test --all --concurrency 8`), and do not run other bulk jobs on this service account at the same time.")
}

// waitWords is a wait a server asked for, in words: "90 seconds",
// "60 minutes", "5 hours", "2 days".
func waitWords(d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%d seconds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d < 72*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// roundtripNotDeliveredFinding is the round-trip message of mailbox, sent
// through smtp, not seen in its INBOX on imap within timeout.
func roundtripNotDeliveredFinding(mailbox, smtp, imap string, timeout time.Duration) *Finding {
	return NewFinding(CodeRoundtripNotDelivered,
		fmt.Sprintf("The test message %s sent to itself through %s did not arrive in its INBOX on %s within %s.", mailbox, smtp, imap, timeout),
		fmt.Sprintf("Check %s's Gmail filters and spam folder and the domain's routing rules in "+gmailConsolePath+" > Routing, then retry.", mailbox))
}

// TokenNotMintedFinding is the wizard's token check failing for sender
// without a finding of its own.
func TokenNotMintedFinding(sender string) *Finding {
	return NewFinding(CodeTokenFailed, "No token could be minted for "+sender+".", "Check the client ID and scopes in the Admin console.")
}
