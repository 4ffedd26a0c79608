package sandbox

import (
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// An account of another organisation exists beside the domain's users, but
// the domain's service account cannot act for it.
func TestUserOutsideTheDomain(t *testing.T) {
	sb := start(t, Options{Delegate: true})
	adminPost(t, sb, "/users", `{"email":"Someone@Partner.test"}`)
	found := false
	for _, u := range sb.Users() {
		found = found || u == "someone@partner.test"
	}
	if !found {
		t.Fatalf("users: %v", sb.Users())
	}
	_, err := mint(sb, "someone@partner.test", core.ScopeMail)
	wantOAuthError(t, err, core.OAuthInvalidGrant, core.DescInvalidEmail)
	mustMint(t, sb, "user1@example.test", core.ScopeMail)
	for _, bad := range []string{"someone", "a@b@partner.test", "x@p.iam.gserviceaccount.com"} {
		if err := sb.SetUser(UserUpdate{Email: bad}); err == nil {
			t.Errorf("SetUser(%q) accepted", bad)
		}
	}
}
