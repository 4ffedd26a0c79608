package main

import (
	"encoding/json"
	"fmt"
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
	legacyFile := writeLegacyFile(t, work, "user1@example.test")
	r := mailoauth(t, db, "upgrade", "--yes", "--legacy", legacyFile, "--key", filepath.Join(dir, "service-account.json"),
		"--endpoints", filepath.Join(dir, "endpoints.json"), "--checks", "token")
	if r.code != 0 || !strings.Contains(r.stdout, "1 upgraded to OAuth, 0 pending.") {
		t.Fatalf("upgrade into a new store: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if bs := store.Backups(db); len(bs) != 0 || strings.Contains(r.stdout, "Backed up") {
		t.Errorf("an upgrade into a new store made backups %v:\n%s", bs, r.stdout)
	}
}

// TestUpgradeRunThatSwitchesNothingBacksUpNothing: a re-run whose pending
// mailbox still fails its checks changes nothing, yet it used to leave one
// more backup holding that mailbox's password at every run (a cron job's
// daily `upgrade --yes` piled them up). The backup is taken only when a
// mailbox is about to switch.
func TestUpgradeRunThatSwitchesNothingBacksUpNothing(t *testing.T) {
	db := upgradeLeavingOnePending(t)
	before := store.Backups(db)
	r := mailoauth(t, db, "upgrade", "--yes", "--checks", "token")
	if r.code != 1 || !strings.Contains(r.stdout, "0 upgraded to OAuth, 1 pending.") {
		t.Fatalf("second upgrade: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if after := store.Backups(db); len(after) != len(before) || !strings.Contains(r.stdout, "Nothing changed, so no backup was made.") {
		t.Errorf("a run that switched nothing made a backup (%d before, %d after):\n%s", len(before), len(after), r.stdout)
	}
}

// writeLegacyFile writes a legacy password setup of example.test with
// these mailboxes into dir and returns its path.
func writeLegacyFile(t *testing.T, dir string, mailboxes ...string) string {
	t.Helper()
	legacy := core.LegacyConfig{Domain: "example.test", DefaultSender: "admin@example.test",
		IMAP: core.LegacyServer{Host: "imap.gmail.com", Port: 993, Security: "ssl"},
		SMTP: core.LegacyServer{Host: "smtp.gmail.com", Port: 465, Security: "ssl"}}
	for i, m := range mailboxes {
		legacy.Mailboxes = append(legacy.Mailboxes, core.LegacyMailbox{Email: m, OwnerKind: "user",
			OwnerName: fmt.Sprintf("agent%d", i+1), Username: m, Password: fmt.Sprintf("Legacy-Pass-%02d", i+1)})
	}
	raw, err := json.Marshal(legacy)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "legacy.json")
	if err := os.WriteFile(f, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestUpgradeWizardQuitAtOnceBacksUpNothing: after `upgrade --yes` left a
// mailbox pending, the wizard's upgrade opened on a terminal and quit at once
// switched nothing, so it must leave no new backup holding the password
// (it used to back up before it opened).
func TestUpgradeWizardQuitAtOnceBacksUpNothing(t *testing.T) {
	db := upgradeLeavingOnePending(t)
	before := store.Backups(db)
	screen := quitWizardOnceShown(t, "Upgrade from passwords to OAuth", "--db", db, "upgrade")
	if after := store.Backups(db); len(after) != len(before) {
		t.Errorf("quitting the upgrade wizard at once made a backup (%d before, %d after):\n%s", len(before), len(after), screen)
	}
}

// upgradeLeavingOnePending runs `upgrade --yes` on a legacy setup of two
// mailboxes of which one is delegated: one switches, one stays pending.
func upgradeLeavingOnePending(t *testing.T) (db string) {
	t.Helper()
	dir := delegatedSandbox(t, 1)
	work := t.TempDir()
	db = filepath.Join(work, "mailoauth.db")
	args := []string{"upgrade", "--yes", "--legacy", writeLegacyFile(t, work, "user1@example.test", "user9@example.test"), "--key", filepath.Join(dir, "service-account.json"),
		"--endpoints", filepath.Join(dir, "endpoints.json"), "--checks", "token"}
	if r := mailoauth(t, db, args...); r.code != 1 || !strings.Contains(r.stdout, "1 upgraded to OAuth, 1 pending.") {
		t.Fatalf("first upgrade: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return db
}
