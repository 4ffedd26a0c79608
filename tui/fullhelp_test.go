package tui

import (
	"strings"
	"testing"
)

// TestFullHelpListsEachKeyOnce: the full help (?) put a step's short line
// and its further keys together, so at 80x24 step 6 listed "tab mailboxes"
// twice and "1-4 checks" beside 1, 2, 3 and 4, and step 4 "c/s copy" beside
// "c copy client ID" and "s copy scopes". Each key is listed once, by its
// most precise binding.
func TestFullHelpListsEachKeyOnce(t *testing.T) {
	c := &common{keys: defaultKeymap(), setup: newSetupState()}
	for name, k := range map[string]stepKeys{
		"step 6 before a run": (&testStep{common: c}).helpKeyMap(),
		"step 6 after a run":  (&testStep{common: c, ran: true}).helpKeyMap(),
	} {
		seen := map[string]string{}
		for _, group := range k.FullHelp() {
			for _, b := range group {
				covered := len(b.Keys()) > 0
				for _, key := range b.Keys() {
					if _, ok := seen[key]; !ok {
						covered = false
					}
				}
				if covered {
					t.Errorf("%s: full help lists %q (%s), whose keys it lists already (%s)",
						name, b.Help().Key, b.Help().Desc, seen[b.Keys()[0]])
				}
				for _, key := range b.Keys() {
					seen[key] = b.Help().Key + " " + b.Help().Desc
				}
			}
		}
	}

	be := newFakeBackend()
	_ = be.SaveProfile(acmeProfile(t, 4))
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	d.mustShow("c/s copy")
	d.press(runeKey('?'))
	d.mustShow("copy client ID")
	if scr := d.screen(); strings.Contains(scr, "c/s") {
		t.Errorf("step 4's full help lists c/s beside c and s:\n%s", scr)
	}
}
