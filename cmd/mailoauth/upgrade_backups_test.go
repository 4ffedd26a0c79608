package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/store"
)

// upgradeBackupsAfterCompletion follows TestEndToEndUpgradeFromPasswords
// once its re-run switched the last pending mailboxes (user18-20, whose
// passwords the backup taken before that run holds): the output says so
// truthfully, the store's key no longer opens that backup, a run that
// changes nothing makes no backup, and --purge-backups removes it only
// when confirmed.
func upgradeBackupsAfterCompletion(t *testing.T, db, out string, args []string) {
	t.Helper()
	if !strings.Contains(out, "upgraded  user18@example.test (password erased from the store)") {
		t.Errorf("the switch is not worded as erased from the store:\n%s", out)
	}
	backups := store.Backups(db)
	var holding string
	for _, b := range backups {
		if _, err := os.Stat(b + ".key"); err == nil {
			holding = b
		}
	}
	if holding == "" {
		t.Fatalf("no backup beside %s was sealed under its own key: %v", db, backups)
	}
	want := "The store holds no legacy password any more; 1 backup(s) still hold legacy passwords: " + holding + " (3, sealed under its own key " + holding + ".key, not the store's); remove them with `mailoauth upgrade --purge-backups`."
	if !strings.Contains(out, want) {
		t.Errorf("want the report\n%s\ngot:\n%s", want, out)
	}
	// The store's key does not open it; its own key does, and it still
	// holds the three passwords (the restore path works).
	if _, err := store.Open(holding, store.Options{ReadOnly: true, KeyPath: db + ".key"}); !errors.Is(err, store.ErrWrongKey) {
		t.Errorf("the store's key opens the backup holding passwords: %v", err)
	}
	bst, err := store.Open(holding, store.Options{ReadOnly: true, KeyPath: holding + ".key"})
	if err != nil {
		t.Fatalf("the backup does not open with its own key: %v", err)
	}
	if _, pw, ok, err := bst.PendingLogin("example.test", "user19@example.test"); err != nil || !ok || pw != "Legacy-Pass-19-x7Qz" {
		t.Errorf("the re-sealed backup lost user19's password: %q %v %v", pw, ok, err)
	}
	bst.Close()

	// A run that changes nothing makes no backup and says so.
	r := mailoauth(t, db, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "0 upgraded to OAuth, 0 pending.") || !strings.Contains(r.stdout, "no backup was made") {
		t.Errorf("third run: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := store.Backups(db); len(got) != len(backups) {
		t.Errorf("a run that changed nothing made a backup: %v, was %v", got, backups)
	}

	// --purge-backups: refused without a terminal or --yes, then done.
	if r := mailoauth(t, db, "upgrade", "--purge-backups"); r.code != exitUsage || !strings.Contains(r.stderr, "--purge-backups --yes") {
		t.Errorf("purge without a terminal: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(holding); err != nil {
		t.Fatalf("a refused purge removed the backup: %v", err)
	}
	if r := mailoauth(t, db, "upgrade", "--purge-backups", "--yes"); r.code != 0 || !strings.Contains(r.stdout, "Removed 1 backup(s)") ||
		!strings.Contains(r.stdout, holding) || strings.Contains(r.stdout, "remove them with") {
		// it names what it removes, without telling to run itself
		t.Errorf("purge --yes: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{holding, holding + ".key"} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there after the purge", filepath.Base(f))
		}
	}
	if len(store.Backups(db)) != len(backups)-1 {
		t.Errorf("the purge removed more than the backup holding passwords: %v", store.Backups(db))
	}
}
