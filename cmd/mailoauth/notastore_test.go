package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDBThatIsNoStoreSaysSo: --db naming a file mailoauth never made (a
// typo pointing at a certificate or a README) was called a damaged store,
// with advice to move it aside and run setup, which would then make a store
// in its place. Such a file (no store header, no key file, no backup beside
// it) is named for what it is, left alone, exit 3.
func TestDBThatIsNoStoreSaysSo(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"ca.pem":    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		"README.md": strings.Repeat("# mailoauth\n\nConnect a server product's mailboxes to Gmail.\n", 400),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		r := mailoauth(t, path, "mailbox", "ls")
		if r.code != 3 || !strings.Contains(r.stderr, path+" is not a mailoauth store") || strings.Contains(r.stderr, "damaged") ||
			!strings.Contains(r.stderr, "--db") {
			t.Errorf("--db %s: exit %d, stderr %q; want exit 3 saying it is not a mailoauth store and to pass the right --db", name, r.code, r.stderr)
		}
		if got, _ := os.ReadFile(path); string(got) != body {
			t.Errorf("--db %s changed the file", name)
		}
		if _, err := os.Stat(path + ".key"); err == nil {
			t.Errorf("--db %s made a key file beside it", name)
		}
	}
}
