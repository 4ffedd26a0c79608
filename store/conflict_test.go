package store

import (
	"slices"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// A session's save on top of another's: only the session's own changes
// that the store does not hold make a real conflict.
func TestRebaseProfileKeepsTheirsAndFindsOwnChanges(t *testing.T) {
	t.Parallel()
	base := core.Profile{Domain: "example.test", DefaultSender: "admin@example.test", Scopes: []string{core.ScopeMail}, WizardStep: 5}
	theirs := base
	theirs.DefaultSender, theirs.WizardStep = "alice@example.test", 6

	// nothing of mine but progress: theirs, with the further step
	mine := base
	mine.WizardStep = 7
	got, own := RebaseProfile(base, mine, theirs)
	if len(own) != 0 || got.DefaultSender != "alice@example.test" || got.WizardStep != 7 {
		t.Fatalf("progress only: %+v own %v", got, own)
	}
	// my change equals theirs: no conflict
	mine.DefaultSender = "alice@example.test"
	if _, own := RebaseProfile(base, mine, theirs); len(own) != 0 {
		t.Fatalf("the same change is a conflict: %v", own)
	}
	// my own change: a conflict naming it
	mine = base
	mine.Scopes = []string{core.ScopeMail, core.ScopeCalendar}
	if _, own := RebaseProfile(base, mine, theirs); !slices.Equal(own, []string{"scopes"}) {
		t.Fatalf("own change of the scopes: %v", own)
	}
}
