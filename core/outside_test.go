package core_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// A mailbox of another organisation (here partner.test, beside the
// sandbox's example.test) works on the OAuth client path: its owner
// consents to an External app, and every check passes.
func TestOAuthClientServesMailboxOutsideTheDomain(t *testing.T) {
	sb, a, rs, cache := oauthEnv(t, true)
	const partner = "someone@partner.test"
	if err := sb.SetUser(sandbox.UserUpdate{Email: partner}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Profile.MailboxRule().Address(partner); err != nil {
		t.Fatalf("the OAuth client profile refused %s: %v", partner, err)
	}
	// The Workspace admin's IMAP switch is for example.test's users only.
	sb.SetDomainIMAP(false)
	ctx := context.Background()
	follow := func(_ string, u string) {
		go func() {
			if resp, err := http.Get(u); err == nil {
				resp.Body.Close()
			}
		}()
	}
	// An Internal app is for its own organisation only.
	_, err := a.Authorize(ctx, partner, core.AuthorizeOptions{ShowURL: follow, Wait: 10 * time.Second})
	if f := core.FindingOf(err); f == nil || f.Code != core.CodeAccessDenied || !strings.Contains(f.Summary, "Internal") {
		t.Fatalf("consent of an outside user to an Internal app: %v", err)
	}
	if err := sb.SetConsentScreen(sandbox.ConsentScreen{UserType: sandbox.UserTypeExternal, PublishingStatus: sandbox.PublishProduction}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authorize(ctx, partner, core.AuthorizeOptions{ShowURL: follow, Wait: 10 * time.Second}); err != nil {
		t.Fatalf("consent of an outside user to an External app: %v", err)
	}
	tester, err := core.NewTesterWith(a.Profile, cache, rs)
	if err != nil {
		t.Fatal(err)
	}
	tester.Timeout = 10 * time.Second
	// roundtrip: the sandbox's SMTP delivers to the partner's INBOX.
	if res := tester.Check(ctx, partner, core.AllChecks); !res.OK || len(res.Checks) != len(core.AllChecks) {
		t.Fatalf("checks of %s: %+v", partner, res)
	}
}
