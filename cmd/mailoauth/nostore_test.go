package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A mistyped --db: every command that only reads creates nothing there and
// says, in one sentence, that there is no store and what creates one.
func TestReadOnlyCommandsCreateNoStore(t *testing.T) {
	dir := t.TempDir()
	for _, db := range []string{filepath.Join(dir, "typo", "mailoauth.db"), filepath.Join(dir, "mailoauth.db")} {
		for _, args := range [][]string{
			{"token", "user1@example.test"},
			{"mailbox", "ls"},
			{"mailbox", "export"},
			{"test", "--all"},
			{"export"},
			{"doctor"},
			{"profile", "ls"},
			{"proxy", "--imap", "127.0.0.1:0", "--smtp", "127.0.0.1:0"},
			{"proxy", "cert"},
			{"proxy", "password", "user1@example.test"},
		} {
			r := mailoauth(t, db, args...)
			if r.code != exitEnviron || !strings.Contains(r.stderr, "there is no store at "+db) || !strings.Contains(r.stderr, "`mailoauth setup` or the wizard") ||
				!strings.HasSuffix(strings.TrimSpace(r.stderr), "creates one, or pass the right --db or MAILOAUTH_DB") {
				t.Errorf("%v on %s: want exit 3 naming the path and setup, got %d:\n%s%s", args, db, r.code, r.stdout, r.stderr)
			}
			if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 0 {
				t.Errorf("%v: want one sentence, got:\n%s", args, r.stderr)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 0 {
				t.Fatalf("%v on %s created %v", args, db, entries)
			}
		}
	}
}
