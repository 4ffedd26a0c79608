package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// A password-based installation of 20 mailboxes, 3 of which do not exist
// in Google yet, moves to OAuth: 17 at once, the 3 after they are created.
func TestEndToEndUpgradeFromPasswords(t *testing.T) {
	sb := startSandbox(t, 17) // user1..user17 exist; user18..user20 do not yet
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	dir := t.TempDir()
	db := filepath.Join(dir, "state", "mailoauth.db")

	legacyFile, passwords := writeLegacyWith(t, dir, 20, core.LegacyServer{Host: "smtp.gmail.com", Port: 25, Security: "none"}, "Legacy-Pass-%02d-x7Qz")
	// An existing store, so there is something to back up first.
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	args := []string{"upgrade", "--yes", "--legacy", legacyFile, "--key", filepath.Join(sb.dir, "service-account.json"),
		"--endpoints", filepath.Join(sb.dir, "endpoints.json"), "--checks", "token,imap,smtp"}

	r := mailoauth(t, db, args...)
	if r.code != 1 {
		t.Fatalf("first upgrade: exit %d, want 1 (3 pending)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "17 upgraded to OAuth, 3 pending.") {
		t.Errorf("first upgrade summary:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "["+string(core.CodeInsecureTransport)+"]") || !strings.Contains(r.stdout, "clear text") {
		t.Errorf("the unencrypted legacy SMTP was not reported as a risk:\n%s", r.stdout)
	}
	for i := 18; i <= 20; i++ {
		line := fmt.Sprintf("pending   user%d@example.test (keeps its password)\n  [%s]", i, core.CodeUnknownUser)
		if !strings.Contains(r.stdout, line) {
			t.Errorf("user%d is not reported pending with its finding:\n%s", i, r.stdout)
		}
	}
	backups, _ := filepath.Glob(db + ".*.bak")
	if len(backups) == 0 {
		t.Errorf("no timestamped backup beside %s", db)
	}
	// No password in the database file in any form the legacy file had it.
	data, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for email, pw := range passwords {
		if bytes.Contains(data, []byte(pw)) {
			t.Errorf("the password of %s is in the store file in clear text", email)
		}
	}
	pending := pendingOf(t, db)
	if strings.Join(pending, ",") != "user18@example.test,user19@example.test,user20@example.test" {
		t.Errorf("pending after the first run: %v", pending)
	}
	if strings.Contains(r.stdout, "backup(s) still hold legacy passwords") {
		t.Errorf("the first backup (taken before the import) holds no password, yet it is reported:\n%s", r.stdout)
	}

	// The Admin console creates the 3 users; the re-run finishes the job.
	for i := 18; i <= 20; i++ {
		sb.admin(t, "POST", "/users", map[string]any{"email": fmt.Sprintf("user%d@example.test", i), "imap": true, "suspended": false})
	}
	r = mailoauth(t, db, args...)
	if r.code != 0 {
		t.Fatalf("re-run: exit %d, want 0\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "3 upgraded to OAuth, 0 pending.") || !strings.Contains(r.stdout, "17 already on OAuth") {
		t.Errorf("the re-run did not pick up only what was left:\n%s", r.stdout)
	}
	if p := pendingOf(t, db); len(p) != 0 {
		t.Errorf("still pending after the re-run: %v", p)
	}
	upgradeBackupsAfterCompletion(t, db, r.stdout, args)
	out := mailoauth(t, db, "mailbox", "ls")
	if strings.Count(out.stdout, "@example.test") < 20 {
		t.Errorf("mailboxes after the upgrade:\n%s", out.stdout)
	}
}

func pendingOf(t *testing.T, db string) []string {
	t.Helper()
	st := openReadOnly(t, db)
	defer st.Close()
	p, err := st.PendingUpgrades("example.test")
	if err != nil {
		t.Fatal(err)
	}
	return p
}
