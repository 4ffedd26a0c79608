package tui

import (
	"os"
	"path/filepath"
	"testing"
)

// The CSV import is the same file field as the key's: ~/ names the home
// directory there too (before, only the key and client fields expanded it
// and the import said the file did not exist).
func TestImportPathExpandsHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.WriteFile(filepath.Join(home, "list.csv"), []byte("email,display_name,owner_kind,owner_name\nsales@acme.example,Sales,acd,Sales queue\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, fakeDeps(withProfile(acmeProfile(t, 5)), &fakeEngine{}, "acme.example"), 100, 30)
	d.mustShow("Assign mailboxes")
	d.press(runeKey('i'))
	paste(d, "~/list.csv")
	d.press(enter())
	d.mustShow("Imported 1 mailboxes from list.csv")
	d.mustShow("sales@acme.example")
}
