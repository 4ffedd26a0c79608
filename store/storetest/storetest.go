// Package storetest holds checks for tests of code that keeps secrets in a
// store file: the store's own tests, the wizard's and the command line's.
//
// It is imported by _test.go files only, and imports nothing of the
// project (the store's own tests import it, so it must never import store).
package storetest

import (
	"bytes"
	"os"
	"testing"
)

// NoneInFile checks that the file at path (a store) holds none of secrets
// in clear text, and returns the file.
func NoneInFile(t testing.TB, path string, secrets ...string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range secrets {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the store file %s holds %q in clear text", path, secret)
		}
	}
	return raw
}
