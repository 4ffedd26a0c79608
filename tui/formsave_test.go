package tui

import (
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core/sandbox"
	"github.com/mailoauth/mailoauth/store"
)

// A mailbox added in step 5's form with enter ("save") is in the store at
// once: the session ends (the program quits, as when an SSH connection
// drops) without leaving the step, and the store still has it.
func TestMailboxFormSavesOnEnter(t *testing.T) {
	sb, st, db := sandboxWithStore(t, sandbox.Options{Domain: "demo.example", Users: 2, Delegate: true})
	h := start(t, New(Config{Store: st, Actor: "wizard test", Sandbox: sb}), 100, 30)
	toAuthorizeStep(h)
	// verify (delegated already), then add a mailbox
	h.walk(enter(), "Verified", enter(), "Assign mailboxes", runeKey('a'), "Display name", typed("support@demo.example"), enter())
	h.waitUntil("the list with the new mailbox", func(s string) bool {
		return strings.Contains(s, "support@demo.example") && !strings.Contains(s, "Display name")
	})
	// Renamed in the form: the new address saved, the old one gone, at once.
	h.walk(runeKey('e'), "Display name", ctrlKey('u'), typed("help@demo.example"), enter())
	h.waitUntil("the list with the renamed mailbox", func(s string) bool {
		return strings.Contains(s, "help@demo.example") && !strings.Contains(s, "Display name")
	})
	h.final() // the session ends on step 5
	st.Close()

	st, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ok, err := st.HasMailbox("demo.example", "help@demo.example")
	if err != nil || !ok {
		t.Fatalf("the mailbox saved with enter is not in the store after the session ended: %v %v", ok, err)
	}
	if ok, _ := st.HasMailbox("demo.example", "support@demo.example"); ok {
		t.Errorf("the old address of the renamed mailbox is still in the store")
	}
}
