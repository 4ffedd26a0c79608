package core

import (
	"strings"
	"testing"
	"time"
)

func TestKeyDeadlines(t *testing.T) {
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	p12 := &Credential{Kind: KindServiceAccountP12, ClientEmail: "sa@p.iam.gserviceaccount.com", PrivateKeyID: "abc",
		CertNotBefore: now.Add(-100 * 24 * time.Hour), CertNotAfter: now.Add(10 * 24 * time.Hour)}
	ds := KeyDeadlines(p12, now.Add(-time.Hour), 90*24*time.Hour, now)
	if len(ds) != 2 {
		t.Fatalf("want rotation and certificate deadlines, got %+v", ds)
	}
	// The certificate's start dates the key, not when it was loaded.
	if f := ds[0].Finding; ds[0].Kind != DeadlineKeyRotation || f == nil || f.Code != CodeKeyRotationDue || !strings.Contains(f.Summary, "100 days") {
		t.Errorf("rotation: %+v %+v", ds[0], ds[0].Finding)
	}
	if f := ds[1].Finding; ds[1].Kind != DeadlineKeyCertificate || f == nil || f.Code != CodeKeyCertificateExpiring || ds[1].Left(now) != 10*24*time.Hour {
		t.Errorf("certificate: %+v %+v", ds[1], ds[1].Finding)
	}
	json := &Credential{Kind: KindServiceAccount, ClientEmail: "sa@p.iam.gserviceaccount.com", PrivateKeyID: "def"}
	ds = KeyDeadlines(json, now.Add(-30*24*time.Hour), 90*24*time.Hour, now)
	if len(ds) != 1 || ds[0].Finding != nil || ds[0].Left(now) != 60*24*time.Hour {
		t.Errorf("a JSON key loaded 30 days ago: %+v", ds)
	}
	if ds := KeyDeadlines(&Credential{Kind: KindOAuthClient}, now, 0, now); len(ds) != 0 {
		t.Errorf("an OAuth client has no key deadlines: %+v", ds)
	}
}

func TestIdleRefreshTokenWarning(t *testing.T) {
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	rt := RefreshToken{Mailbox: "a@example.test", Token: "1//x", ConsentedAt: now.Add(-170 * 24 * time.Hour)}
	ds := ConsentDeadlines(rt, false, time.Time{}, 0, now)
	if len(ds) != 1 || ds[0].Kind != DeadlineRefreshIdle || ds[0].Finding == nil || ds[0].Finding.Code != CodeRefreshTokenIdle ||
		!strings.Contains(ds[0].Finding.Fix, "mailoauth test --mailbox a@example.test") {
		t.Fatalf("a refresh token unused for 170 days (published app): %+v", ds)
	}
	// Used last week (an access token minted from it): no warning.
	ds = ConsentDeadlines(rt, false, now.Add(-7*24*time.Hour), 0, now)
	if len(ds) != 1 || ds[0].Finding != nil || ds[0].Left(now) != refreshIdleLife-7*24*time.Hour {
		t.Fatalf("a refresh token used a week ago: %+v", ds)
	}
}
