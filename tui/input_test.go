//go:build unix

package tui

import (
	"os"
	"path/filepath"
	"syscall"
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

// Issue 15 item 2: /dev/zero typed into step 3's key field grew the whole
// (SSH) server to out-of-memory; a FIFO there blocked the session. Both
// are refused in one sentence, and the step stays usable.
func TestKeyFieldRefusesDevicesAndPipes(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "key.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	for _, c := range []struct{ path, want string }{
		{"/dev/zero", "/dev/zero is a device, not a key file"},
		{fifo, "named pipe (FIFO)"},
	} {
		be := newFakeBackend()
		p := acmeProfile(t, 3)
		p.Credential = nil
		_ = be.SaveProfile(p)
		d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 120, 30)
		d.mustShow("How will the product sign in")
		d.press(enter()) // service account
		d.mustShow("Service-account key")
		paste(d, c.path)
		d.press(enter())
		d.mustShow(c.want)
		if saved, _ := be.ListProfiles(); len(saved) != 1 || len(saved[0].Credential) != 0 {
			t.Fatalf("%s: a credential was saved", c.path)
		}
	}
}
