package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mailoauth/mailoauth/store"
)

// TestStorePathSentences: the command line adds --db to the store's path
// errors, so the user reads the same sentences as before the store stopped
// naming flags.
func TestStorePathSentences(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"":                          "mailoauth: the store path is empty; pass --db PATH or set MAILOAUTH_DB",
		filepath.Join(file, "m.db"): "mailoauth: cannot create the directory of store " + filepath.Join(file, "m.db") + ": not a directory; create it or pass another --db",
		dir:                         "mailoauth: cannot open store " + dir + ": is a directory; check the path or pass another --db",
	} {
		_, err := store.Open(path, store.Options{})
		if got := errorSentence(err); got != want {
			t.Errorf("Open(%q):\n got %s\nwant %s", path, got, want)
		}
	}
}
