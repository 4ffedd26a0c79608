//go:build unix

package tui

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/coretest"
)

// paste puts s into the focused field as a terminal's paste does.
func paste(d *driver, s string) {
	_, cmd := d.m.Update(tea.PasteMsg{Content: s})
	d.run(cmd)
}

// importCSV writes the file dir/name, a CSV header line and then csv, and
// imports it at step 5 with field (a path naming that file) in the import's
// path field.
func importCSV(t *testing.T, dir, name, csv, field string) *driver {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("email,display_name,owner_kind,owner_name\n"+csv), 0o600); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, fakeDeps(withProfile(acmeProfile(t, 5)), &fakeEngine{}, "acme.example"), 100, 30)
	d.mustShow("Assign mailboxes")
	d.press(runeKey('i'))
	paste(d, field)
	d.press(enter())
	return d
}

// Issue 15 item 1: a CSV with a stray quote killed the wizard's session
// (and its unsaved work); the import now shows the line and what is wrong.
func TestImportStrayQuoteShowsTheLineAndKeepsTheSession(t *testing.T) {
	dir := t.TempDir()
	d := importCSV(t, dir, "bq.csv", "a\"b@acme.example,x,user,y\n", filepath.Join(dir, "bq.csv"))
	d.mustShow("line 2:")
	d.mustShow("Has a quote (\") inside a field")
	d.press(keyCode(tea.KeyEscape))
	d.mustShow("Assign mailboxes")
}

// atKeyField is a wizard at step 3's service-account key field, on a
// terminal 120 columns wide and height lines high.
func atKeyField(t *testing.T, height int) (*driver, *fakeBackend) {
	t.Helper()
	be := withoutCredential(t)
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 120, height)
	d.mustShow("How will the product sign in")
	d.press(enter()) // service account
	d.mustShow("Service-account key")
	return d, be
}

// The CSV import is the same file field as the key's: ~/ names the home
// directory there too (before, only the key and client fields expanded it
// and the import said the file did not exist).
func TestImportPathExpandsHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	d := importCSV(t, home, "list.csv", "sales@acme.example,Sales,acd,Sales queue\n", "~/list.csv")
	d.mustShow("Imported 1 mailboxes from list.csv")
	d.mustShow("sales@acme.example")
}

// Issue 15 item 2: /dev/zero typed into step 3's key field grew the whole
// (SSH) server to out-of-memory; a FIFO there blocked the session. Both
// are refused in one sentence, and the step stays usable.
func TestKeyFieldRefusesDevicesAndPipes(t *testing.T) {
	fifo := coretest.FIFO(t, t.TempDir(), "key.fifo")
	for _, c := range []struct{ path, want string }{
		{"/dev/zero", "/dev/zero is a device, not a key file"},
		{fifo, "named pipe (FIFO)"},
	} {
		d, be := atKeyField(t, 30)
		paste(d, c.path)
		d.press(enter())
		d.mustShow(c.want)
		if saved, _ := be.ListProfiles(); len(saved) != 1 || len(saved[0].Credential) != 0 {
			t.Fatalf("%s: a credential was saved", c.path)
		}
	}
}

// rawControl reports whether a rendered frame holds a control sequence
// that did not come from the wizard's own styling: lipgloss writes only
// SGR sequences (ESC [ ... m), so any other ESC, and any NUL, BEL or C1
// character, came from data.
func rawControl(frame string) bool {
	for i := 0; i < len(frame); i++ {
		switch c := frame[i]; {
		case c == 0x1b:
			j := i + 1
			if j < len(frame) && frame[j] == '[' {
				j++
				for j < len(frame) && (frame[j] >= '0' && frame[j] <= '9' || frame[j] == ';' || frame[j] == ':') {
					j++
				}
				if j < len(frame) && frame[j] == 'm' {
					i = j
					continue
				}
			}
			return true
		case c < 0x20 && c != '\n' || c == 0x7f:
			return true
		}
	}
	return strings.ContainsAny(frame, "\u009b\u202e")
}

// Issue 15 item 7: a key's client_email, a stored name and a finding reach
// the wizard's frame (local or over SSH) escaped, never raw.
func TestWizardFrameHoldsNoRawControlCharacters(t *testing.T) {
	evil := "\x1b[2J\x1b]0;pwned\x07\x00\u009b31m\u202e"
	// step 3: a key whose client_email carries an ESC sequence
	key := filepath.Join(t.TempDir(), "evil.json")
	var k map[string]any
	if err := json.Unmarshal(readTestKey(t), &k); err != nil {
		t.Fatal(err)
	}
	k["client_email"] = "mailer" + evil + "@acme-mail.iam.gserviceaccount.com"
	data, _ := json.Marshal(k)
	if err := os.WriteFile(key, data, 0o600); err != nil {
		t.Fatal(err)
	}
	d, _ := atKeyField(t, 40)
	paste(d, key)
	d.press(enter())
	d.mustShow(`control character (\x1b)`)
	if frame := d.m.w.render(); rawControl(frame) {
		t.Fatalf("step 3 frame holds raw control characters: %q", frame)
	}

	// steps 5 and 6: names and an address stored before the checks existed
	be := withProfile(acmeProfile(t, 5))
	_ = be.PutMailboxes("acme.example", []core.Mailbox{
		{Email: "broken" + evil + "@acme.example", DisplayName: "Ann" + evil, OwnerKind: core.OwnerUser, OwnerName: "Own" + evil},
	})
	d = newDriver(t, fakeDeps(be, &fakeEngine{authorized: true}, "acme.example"), 160, 40)
	d.mustShow("Assign mailboxes")
	d.mustShow(`Ann\x1b[2J`)
	if frame := d.m.w.render(); rawControl(frame) {
		t.Fatalf("step 5 frame holds raw control characters: %q", frame)
	}
	d.press(enter())
	d.mustShow("Test the mailboxes")
	d.press(enter())
	d.mustShow("IMAP is disabled for broken")
	if frame := d.m.w.render(); rawControl(frame) {
		t.Fatalf("step 6 frame holds raw control characters: %q", frame)
	}
}

// A pasted "key" is capped like a key file, and every field like a path:
// megabytes pasted over SSH grow nothing.
func TestPastesAreBounded(t *testing.T) {
	d, _ := atKeyField(t, 30)
	paste(d, `{"type":"service_account","x":"`+strings.Repeat("x", 100_000)+`"}`)
	d.mustShow("more than a key file can be (at most 64 KiB)")
	paste(d, strings.Repeat("/a", 50_000))
	if n := len(d.m.w.steps[stepCredentials].(*credentialsStep).path.Value()); n > maxFieldChars {
		t.Fatalf("the key path field holds %d characters, more than %d", n, maxFieldChars)
	}
}

// Issue 15 item 5: the wizard's mailbox form refuses a name over the limit
// with core's sentence, naming the field and the limit.
func TestMailboxFormRefusesALongName(t *testing.T) {
	be := withProfile(acmeProfile(t, 5))
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 120, 30)
	d.mustShow("Assign mailboxes")
	d.press(runeKey('a'))
	paste(d, "sales@acme.example")
	d.press(keyCode(tea.KeyTab))
	paste(d, strings.Repeat("n", 300))
	d.press(enter())
	d.mustShow("The display name is 300 characters long, over the limit of 200")
	if ms, _ := be.Mailboxes("acme.example"); len(ms) != 0 {
		t.Fatalf("saved %v", ms)
	}
}
