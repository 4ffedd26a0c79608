package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// The one rule every command uses to pick its profile.
func TestResolveProfilePicksTheHolderOfTheMailbox(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	mustSaveProfile(t, s, "example.test")
	mustSaveProfile(t, s, "exmaple.test")
	saveOAuthProfile(t, s, "partner.test")
	mustPutMailbox(t, s, "example.test", core.Mailbox{Email: "user1@example.test", OwnerKind: core.OwnerUser})
	// the OAuth client profile holds a mailbox of example.test too
	mustPutMailbox(t, s, "partner.test", core.Mailbox{Email: "shared@example.test", OwnerKind: core.OwnerUser})
	for _, tc := range []struct {
		name    string
		profile string
		boxes   []string
		want    string // domain, or the error's words
	}{
		{"a mailbox it holds", "", []string{"user1@example.test"}, "example.test"},
		{"its default sender", "", []string{"ADMIN@exmaple.test"}, "exmaple.test"},
		{"held elsewhere beats the domain", "", []string{"shared@example.test"}, "partner.test"},
		{"not held: the domain's", "", []string{"user9@example.test"}, "example.test"},
		{"--profile wins", "exmaple.test", []string{"user1@example.test"}, "exmaple.test"},
		{"no mailbox named", "", nil, "several domains (example.test, exmaple.test, partner.test)"},
		{"neither held nor owned", "", []string{"x@elsewhere.test"}, "x@elsewhere.test could belong to several profiles (example.test, exmaple.test, partner.test)"},
		{"two mailboxes, two profiles", "", []string{"user1@example.test", "admin@partner.test"}, "these mailboxes could belong to several profiles"},
		{"unknown --profile", "nosuch.test", nil, "known domains: example.test, exmaple.test, partner.test"},
	} {
		p, err := s.ResolveProfile(tc.profile, tc.boxes...)
		switch {
		case strings.Contains(tc.want, " "):
			var pe *ProfileError
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &pe) {
				t.Errorf("%s: got %q, %v; want a ProfileError with %q", tc.name, p.Domain, err, tc.want)
			} else if strings.Contains(err.Error(), "--") || strings.Contains(err.Error(), "mailoauth ") {
				t.Errorf("%s: %q names a command or flag; the command line adds those", tc.name, err)
			}
		case err != nil || p.Domain != tc.want:
			t.Errorf("%s: got %q, %v; want %s", tc.name, p.Domain, err, tc.want)
		}
	}
}
