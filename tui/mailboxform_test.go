package tui

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// A field of the mailbox form takes the focus with the cursor at the end of
// its value, as in every other form: what the admin types after opening a
// second mailbox goes after its name, not where the cursor stood in the
// first one's.
func TestMailboxFormTypesAtTheEndOfAField(t *testing.T) {
	be := withProfile(acmeProfile(t, 5))
	_ = be.PutMailboxes("acme.example", []core.Mailbox{
		{Email: "a@acme.example", DisplayName: "Al", OwnerKind: core.OwnerUser},
		{Email: "b@acme.example", DisplayName: "Bertrand", OwnerKind: core.OwnerUser},
	})
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 100, 30)
	d.mustShow("2 mailboxes")
	d.press(runeKey('e'), keyCode(tea.KeyTab), keyCode(tea.KeyEscape)) // Al's name focused
	d.press(keyCode(tea.KeyDown), runeKey('e'), keyCode(tea.KeyTab), runeKey('!'), enter())
	d.mustShow("Bertrand!")
	ms, _ := be.Mailboxes("acme.example")
	for _, mb := range ms {
		if mb.Email == "b@acme.example" && mb.DisplayName != "Bertrand!" {
			t.Fatalf("display name saved as %q, want %q", mb.DisplayName, "Bertrand!")
		}
	}
}
