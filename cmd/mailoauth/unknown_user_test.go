package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// On the consent path, an address without a Google Account never reaches a
// consent screen: Google's sign-in page says "Couldn't find your Google
// Account". authorize must call it unknown_user (check the spelling or
// create the user), not a token or consent-screen failure.
func TestAuthorizeUnknownAccountIsUnknownUser(t *testing.T) {
	for _, auto := range []bool{true, false} {
		var extra []string
		if auto {
			extra = []string{"--auto-consent"}
		}
		sb := startSandbox(t, 3, extra...)
		db := filepath.Join(t.TempDir(), "mailoauth.db")
		setupStore(t, db, sb.dir, "--client")
		r := authorize(t, db, clickBrowser("allow"), "user4@example.test")
		wantFinding(t, "authorize of a missing account", r, core.CodeUnknownUser,
			"user4@example.test", core.AccountNotFoundText, "Check the spelling of user4@example.test", "Add new user")
		if strings.Contains(r.stdout, string(core.CodeTokenFailed)) || strings.Contains(r.stdout, "consent screen") {
			t.Fatalf("the missing account is blamed on the token or the consent screen:\n%s", r.stdout)
		}
		// An existing account still consents.
		b := clickBrowser("allow")
		if auto {
			b = autoBrowser
		}
		if r = authorize(t, db, b, "user3@example.test"); r.code != 0 || !strings.Contains(r.stdout, "consent stored") {
			t.Fatalf("authorize user3: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}
}
