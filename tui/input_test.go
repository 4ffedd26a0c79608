package tui

import (
	"os"
	"path/filepath"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// paste puts s into the focused field as a terminal's paste does.
func paste(d *driver, s string) {
	_, cmd := d.m.Update(tea.PasteMsg{Content: s})
	d.run(cmd)
}

// Issue 15 item 1: a CSV with a stray quote killed the wizard's session
// (and its unsaved work); the import now shows the line and what is wrong.
func TestImportStrayQuoteShowsTheLineAndKeepsTheSession(t *testing.T) {
	be := newFakeBackend()
	_ = be.SaveProfile(acmeProfile(t, 5))
	p := filepath.Join(t.TempDir(), "bq.csv")
	if err := os.WriteFile(p, []byte("email,display_name,owner_kind,owner_name\na\"b@acme.example,x,user,y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 100, 30)
	d.mustShow("Assign mailboxes")
	d.press(runeKey('i'))
	paste(d, p)
	d.press(enter())
	d.mustShow("line 2:")
	d.mustShow("Has a quote (\") inside a field")
	d.press(keyCode(tea.KeyEscape))
	d.mustShow("Assign mailboxes")
}
