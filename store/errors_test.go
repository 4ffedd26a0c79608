package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPathErrorsNameNoFlag: a store path that cannot be used is a
// *PathError whose sentence says what is wrong and the fix at that path,
// and never a command or flag (the command line adds setup and --db).
func TestPathErrorsNameNoFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, path string
		opts       Options
		want       string
		noStore    bool
	}{
		{"empty path", "", Options{}, "the store path is empty", false},
		{"missing store", filepath.Join(dir, "missing.db"), Options{MustExist: true}, "there is no store at " + filepath.Join(dir, "missing.db") + "; set one up first", true},
		{"parent is a file", filepath.Join(file, "mailoauth.db"), Options{}, "cannot create the directory of store", false},
		{"path is a directory", dir, Options{}, "cannot open store " + dir, false},
	} {
		_, err := Open(c.path, c.opts)
		var pe *PathError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) || errors.Is(err, ErrNoStore) != c.noStore {
			t.Errorf("%s: Open = %v; want a PathError saying %q (ErrNoStore %v)", c.name, err, c.want, c.noStore)
			continue
		}
		if strings.Contains(err.Error(), "--") || strings.Contains(err.Error(), "MAILOAUTH_DB") || strings.Contains(err.Error(), "`mailoauth") {
			t.Errorf("%s: the store's sentence names a command or flag: %v", c.name, err)
		}
	}
}
