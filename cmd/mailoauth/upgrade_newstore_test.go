package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// TestUpgradeIntoANewStoreBacksUpNothing: an upgrade whose store does not
// exist yet creates it; it used to back the just-created empty store up
// first ("Backed up the store to ...bak (schema now 2)"), a copy of nothing
// that then lay beside the store.
func TestUpgradeIntoANewStoreBacksUpNothing(t *testing.T) {
	dir := delegatedSandbox(t, 1)
	work := t.TempDir()
	db := filepath.Join(work, "mailoauth.db")
	legacy := core.LegacyConfig{Domain: "example.test", DefaultSender: "admin@example.test",
		IMAP: core.LegacyServer{Host: "imap.gmail.com", Port: 993, Security: "ssl"},
		SMTP: core.LegacyServer{Host: "smtp.gmail.com", Port: 465, Security: "ssl"},
		Mailboxes: []core.LegacyMailbox{{Email: "user1@example.test", DisplayName: "User 1", OwnerKind: "user",
			OwnerName: "agent1", Username: "user1@example.test", Password: "Legacy-Pass-01"}}}
	raw, _ := json.Marshal(legacy)
	legacyFile := filepath.Join(work, "legacy.json")
	if err := os.WriteFile(legacyFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	r := mailoauth(t, db, "upgrade", "--yes", "--legacy", legacyFile, "--key", filepath.Join(dir, "service-account.json"),
		"--endpoints", filepath.Join(dir, "endpoints.json"), "--checks", "token")
	if r.code != 0 || !strings.Contains(r.stdout, "1 upgraded to OAuth, 0 pending.") {
		t.Fatalf("upgrade into a new store: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if bs := store.Backups(db); len(bs) != 0 || strings.Contains(r.stdout, "Backed up") {
		t.Errorf("an upgrade into a new store made backups %v:\n%s", bs, r.stdout)
	}
}
