package tui

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core/sandbox"
	"github.com/mailoauth/mailoauth/store"
)

// A mailbox added in step 5's form with enter ("save") is in the store at
// once: the session ends (the program quits, as when an SSH connection
// drops) without leaving the step, and the store still has it.
func TestMailboxFormSavesOnEnter(t *testing.T) {
	t.Setenv(store.KeyEnv, "")
	sb := startSandbox(t, sandbox.Options{Domain: "demo.example", Users: 2, Delegate: true})
	db := filepath.Join(t.TempDir(), "f.db")
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, New(Config{Store: st, Actor: "wizard test", Sandbox: sb}), 100, 30)
	h.waitFor("Add a new domain profile", 3*time.Second)
	h.send(enter()) // profile: new
	h.waitFor("Default sender", 3*time.Second)
	h.send(enter()) // domain
	h.waitFor("Service account (domain-wide delegation)", 3*time.Second)
	h.send(enter())
	h.waitFor("Fingerprint", 3*time.Second)
	h.send(enter())
	h.waitFor("Authorize the scope", 3*time.Second)
	h.send(enter()) // verify: delegated already
	h.waitFor("Verified", 15*time.Second)
	h.send(enter())
	h.waitFor("Assign mailboxes", 3*time.Second)
	h.send(runeKey('a'))
	h.waitFor("Display name", 3*time.Second)
	h.typeText("support@demo.example")
	h.send(enter())
	h.waitUntil("the list with the new mailbox", func(s string) bool {
		return strings.Contains(s, "support@demo.example") && !strings.Contains(s, "Display name")
	}, 3*time.Second)
	// Renamed in the form: the new address saved, the old one gone, at once.
	h.send(runeKey('e'))
	h.waitFor("Display name", 3*time.Second)
	h.send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	h.typeText("help@demo.example")
	h.send(enter())
	h.waitUntil("the list with the renamed mailbox", func(s string) bool {
		return strings.Contains(s, "help@demo.example") && !strings.Contains(s, "Display name")
	}, 3*time.Second)
	h.final() // the session ends on step 5
	st.Close()

	st, err = store.Open(db, store.Options{ReadOnly: true})
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
