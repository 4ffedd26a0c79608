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
