package proxy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/consent"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// startConsentFixture is the proxy in front of a sandbox for a profile
// with an OAuth client, whose first user has consented (its refresh token
// and first access token stored).
func startConsentFixture(t *testing.T) *fixture {
	t.Helper()
	sb, p := startSandbox(t, sandbox.Options{Users: 2}, (*sandbox.Sandbox).OAuthClientJSON)
	rs, cache := &core.MemoryRefreshStore{}, &core.MemoryTokenCache{}
	a, err := consent.New(p, cache, rs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	user := sb.Users()[0]
	pend, err := a.Begin(ctx, user, consent.Options{Paste: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pend.Close()
	loc, err := sb.ApproveConsent(pend.URL)
	if err != nil {
		t.Fatal(err)
	}
	code, err := pend.Submit(loc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pend.Finish(ctx, code); err != nil {
		t.Fatalf("consent of %s: %v", user, err)
	}
	tester, err := core.NewTesterWith(p, cache, rs)
	if err != nil {
		t.Fatal(err)
	}
	return serveFixture(t, Config{}, sb, tester)
}

// TestProxyRevokedConsentMapped: an OAuth-client mailbox logs in through
// the proxy with its consent; once the owner removes the app's access
// (myaccount.google.com/permissions: the refresh token and the cached
// access token stop working), the next IMAP and SMTP logins are refused
// with consent_required (unlike a revoked access token alone, which the
// refresh token replaces), the log says to run `mailoauth authorize ADDR`,
// and the audit marks them refused.
func TestProxyRevokedConsentMapped(t *testing.T) {
	f := startConsentFixture(t)
	user := f.sb.Users()[0]
	c := f.loggedIn(t, user)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("SELECT INBOX with the consent: %v", err)
	}
	c.Close()
	if err := sendMail(f, f.smtpTLS, false, user, f.password[user], user, "Subject: x\r\n\r\nx\r\n"); err != nil {
		t.Fatalf("SMTP with the consent: %v", err)
	}

	// A revoked access token alone is replaced through the refresh token.
	f.sb.Revoke(user)
	c = f.loggedIn(t, user)
	c.Close()

	f.sb.RevokeConsent(user)
	if n := f.sb.RefreshTokensIssued(user); n != 0 {
		t.Fatalf("after the consent was revoked the sandbox has %d live refresh tokens of %s, want 0", n, user)
	}
	c = f.dialIMAP(t)
	err := c.Login(user, f.password[user]).Wait()
	var ie *imap.Error
	want := "mailoauth: " + string(core.CodeConsentRequired) + ", see the log"
	if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeAuthenticationFailed || ie.Text != want {
		t.Fatalf("IMAP after the consent was revoked: want NO [AUTHENTICATIONFAILED] %s; got %v", want, err)
	}
	err = sendMail(f, f.smtpTLS, false, user, f.password[user], user, "Subject: x\r\n\r\nx\r\n")
	if err == nil || !strings.Contains(err.Error(), "535") || !strings.Contains(err.Error(), want) {
		t.Fatalf("SMTP after the consent was revoked: want 535 5.7.8 %s; got %v", want, err)
	}

	lg := f.log.String()
	for _, s := range []string{"code=" + string(core.CodeConsentRequired), "expired or revoked", "mailoauth authorize " + user} {
		if strings.Count(lg, s) < 2 {
			t.Fatalf("the log should say %q for both refused logins:\n%s", s, lg)
		}
	}
	refused := func(l Login) bool {
		return !l.OK && l.Mailbox == user && l.Reason == string(core.CodeConsentRequired)
	}
	if f.auditedCount(func(l Login) bool { return l.OK && l.Mailbox == user }) != 3 || f.auditedCount(refused) != 2 {
		t.Fatalf("want 3 logins audited ok and 2 refused with %s, got %+v", core.CodeConsentRequired, f.audited())
	}
}
