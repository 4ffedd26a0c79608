package core_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/consent"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// A consent to an External app in Testing keeps the end Google gives its
// refresh token (refresh_token_expires_in): seven days from consent.
func TestTestingConsentKeepsTheRefreshTokensEnd(t *testing.T) {
	sb, a, rs, _ := oauthEnv(t, true)
	if err := sb.SetConsentScreen(sandbox.ConsentScreen{UserType: "external", PublishingStatus: "testing"}); err != nil {
		t.Fatal(err)
	}
	user := "user1@" + sb.Domain()
	if err := sb.AddTestUsers(user); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authorize(context.Background(), user, consent.Options{ShowURL: followConsent, Wait: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	rt, _, _ := rs.LoadRefreshToken(user)
	if d := rt.ExpiresAt.Sub(rt.ConsentedAt); d < core.TestingRefreshTokenLife-2*time.Second || d > core.TestingRefreshTokenLife+2*time.Second {
		t.Fatalf("refresh token end %v after consent, want %v", d, core.TestingRefreshTokenLife)
	}
	// Six days later by Google's clock (this machine 1 h ahead of it): the
	// warning, naming the publish step and the re-consent.
	now := rt.ConsentedAt.Add(6*24*time.Hour + time.Hour)
	ds := core.ConsentDeadlines(rt, false, time.Time{}, time.Hour, now)
	if len(ds) != 2 || ds[0].Kind != core.DeadlineConsentExpiry || !ds[0].At.Equal(rt.ExpiresAt.Add(time.Hour)) || ds[0].Left(now) != 24*time.Hour {
		t.Fatalf("deadlines: %+v", ds)
	}
	if f := ds[0].Finding; f == nil || f.Code != core.CodeConsentExpiring || !strings.Contains(f.Fix, "Publish app") || !strings.Contains(f.Fix, "mailoauth authorize "+user) {
		t.Errorf("consent expiry finding: %+v", ds[0].Finding)
	}
	if ds[1].Kind != core.DeadlineRefreshIdle || ds[1].Finding != nil {
		t.Errorf("a refresh token used 6 days ago is not idle: %+v", ds[1])
	}
	// Five days in: no warning yet (48 h before the end).
	if ds := core.ConsentDeadlines(rt, false, time.Time{}, 0, rt.ConsentedAt.Add(5*24*time.Hour-time.Minute)); ds[0].Finding != nil {
		t.Errorf("warned %v before the end", ds[0].Left(rt.ConsentedAt.Add(5*24*time.Hour)))
	}
}

func TestKeyDeadlines(t *testing.T) {
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	p12 := &core.Credential{Kind: core.KindServiceAccountP12, ClientEmail: "sa@p.iam.gserviceaccount.com", PrivateKeyID: "abc",
		CertNotBefore: now.Add(-100 * 24 * time.Hour), CertNotAfter: now.Add(10 * 24 * time.Hour)}
	ds := core.KeyDeadlines(p12, now.Add(-time.Hour), 90*24*time.Hour, now)
	if len(ds) != 2 {
		t.Fatalf("want rotation and certificate deadlines, got %+v", ds)
	}
	// The certificate's start dates the key, not when it was loaded.
	if f := ds[0].Finding; ds[0].Kind != core.DeadlineKeyRotation || f == nil || f.Code != core.CodeKeyRotationDue || !strings.Contains(f.Summary, "100 days") {
		t.Errorf("rotation: %+v %+v", ds[0], ds[0].Finding)
	}
	if f := ds[1].Finding; ds[1].Kind != core.DeadlineKeyCertificate || f == nil || f.Code != core.CodeKeyCertificateExpiring || ds[1].Left(now) != 10*24*time.Hour {
		t.Errorf("certificate: %+v %+v", ds[1], ds[1].Finding)
	}
	json := &core.Credential{Kind: core.KindServiceAccount, ClientEmail: "sa@p.iam.gserviceaccount.com", PrivateKeyID: "def"}
	ds = core.KeyDeadlines(json, now.Add(-30*24*time.Hour), 90*24*time.Hour, now)
	if len(ds) != 1 || ds[0].Finding != nil || ds[0].Left(now) != 60*24*time.Hour {
		t.Errorf("a JSON key loaded 30 days ago: %+v", ds)
	}
	if ds := core.KeyDeadlines(&core.Credential{Kind: core.KindOAuthClient}, now, 0, now); len(ds) != 0 {
		t.Errorf("an OAuth client has no key deadlines: %+v", ds)
	}
}

func TestIdleRefreshTokenWarning(t *testing.T) {
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	rt := core.RefreshToken{Mailbox: "a@example.test", Token: "1//x", ConsentedAt: now.Add(-170 * 24 * time.Hour)}
	ds := core.ConsentDeadlines(rt, false, time.Time{}, 0, now)
	if len(ds) != 1 || ds[0].Kind != core.DeadlineRefreshIdle || ds[0].Finding == nil || ds[0].Finding.Code != core.CodeRefreshTokenIdle ||
		!strings.Contains(ds[0].Finding.Fix, "mailoauth test --mailbox a@example.test") {
		t.Fatalf("a refresh token unused for 170 days (published app): %+v", ds)
	}
	// Used last week (an access token minted from it): no warning.
	ds = core.ConsentDeadlines(rt, false, now.Add(-7*24*time.Hour), 0, now)
	if len(ds) != 1 || ds[0].Finding != nil || ds[0].Left(now) != core.RefreshIdleLife-7*24*time.Hour {
		t.Fatalf("a refresh token used a week ago: %+v", ds)
	}
}
