package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
	"github.com/mailoauth/mailoauth/store/storetest"
)

// The upgrade from a legacy password setup to OAuth, end to end: with a
// service account, with an OAuth client (consent path), and the backups
// it takes (and does not take) on the way.

// legacySSL is the legacy setups' SMTP server unless a test says otherwise.
var legacySSL = core.LegacyServer{Host: "smtp.gmail.com", Port: 465, Security: "ssl"}

// writeLegacy writes a legacy password setup of user1..userN of
// example.test and returns its path and each mailbox's password.
func writeLegacy(t *testing.T, dir string, n int) (string, map[string]string) {
	t.Helper()
	return writeLegacyWith(t, dir, legacySSL, "Legacy-Consent-%02d-q9Wv", exampleUsers(n)...)
}

// exampleUsers is user1..userN@example.test.
func exampleUsers(n int) []string {
	var users []string
	for i := 1; i <= n; i++ {
		users = append(users, fmt.Sprintf("user%d@example.test", i))
	}
	return users
}

// writeLegacyWith is writeLegacy with the legacy SMTP server, the format of
// the passwords (given the mailbox's place, from 1) and the mailboxes
// chosen by the caller.
func writeLegacyWith(t *testing.T, dir string, smtp core.LegacyServer, pwFormat string, mailboxes ...string) (string, map[string]string) {
	t.Helper()
	legacy := core.LegacyConfig{Domain: "example.test", DefaultSender: "admin@example.test",
		IMAP: core.LegacyServer{Host: "imap.gmail.com", Port: 993, Security: "ssl"}, SMTP: smtp}
	passwords := map[string]string{}
	for i, email := range mailboxes {
		pw := fmt.Sprintf(pwFormat, i+1)
		passwords[email] = pw
		legacy.Mailboxes = append(legacy.Mailboxes, core.LegacyMailbox{Email: email, DisplayName: fmt.Sprintf("User %d", i+1),
			OwnerKind: "user", OwnerName: fmt.Sprintf("agent%d", i+1), Username: email, Password: pw})
	}
	raw, _ := json.Marshal(legacy)
	path := filepath.Join(dir, "legacy.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, passwords
}

// pendingPasswords opens the store read-only and returns the legacy
// password each pending mailbox still keeps (unsealed), and the profile.
func pendingPasswords(t *testing.T, db string) (map[string]string, core.Profile) {
	t.Helper()
	st := openReadOnly(t, db)
	defer st.Close()
	p, err := st.Profile("example.test")
	if err != nil {
		t.Fatal(err)
	}
	pending, err := st.PendingUpgrades("example.test")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range pending {
		_, pw, ok, err := st.PendingLogin("example.test", m)
		if err != nil || !ok {
			t.Fatalf("pending login of %s: ok %v, %v", m, ok, err)
		}
		out[m] = pw
	}
	return out, p
}

// noClearPassword fails if any legacy password is in the store file as is.
func noClearPassword(t *testing.T, db string, passwords map[string]string) {
	t.Helper()
	storetest.NoneInFile(t, db, slices.Collect(maps.Values(passwords))...)
}

// A password-based installation of 20 mailboxes, 3 of which do not exist
// in Google yet, moves to OAuth: 17 at once, the 3 after they are created.
func TestEndToEndUpgradeFromPasswords(t *testing.T) {
	sb := startSandbox(t, 17) // user1..user17 exist; user18..user20 do not yet
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	dir := t.TempDir()
	db := filepath.Join(dir, "state", "mailoauth.db")

	legacyFile, passwords := writeLegacyWith(t, dir, core.LegacyServer{Host: "smtp.gmail.com", Port: 25, Security: "none"}, "Legacy-Pass-%02d-x7Qz", exampleUsers(20)...)
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
	noClearPassword(t, db, passwords)
	kept, _ := pendingPasswords(t, db)
	if pending := slices.Sorted(maps.Keys(kept)); strings.Join(pending, ",") != "user18@example.test,user19@example.test,user20@example.test" {
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
	if p, _ := pendingPasswords(t, db); len(p) != 0 {
		t.Errorf("still pending after the re-run: %v", p)
	}
	upgradeBackupsAfterCompletion(t, db, r.stdout, args)
	out := mailoauth(t, db, "mailbox", "ls")
	if strings.Count(out.stdout, "@example.test") < 20 {
		t.Errorf("mailboxes after the upgrade:\n%s", out.stdout)
	}
}

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

// TestUpgradeIntoANewStoreBacksUpNothing: an upgrade whose store does not
// exist yet creates it; it used to back the just-created empty store up
// first ("Backed up the store to ...bak (schema now 2)"), a copy of nothing
// that then lay beside the store.
func TestUpgradeIntoANewStoreBacksUpNothing(t *testing.T) {
	db, r := upgradeDelegated(t, "user1@example.test")
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
	db, r := upgradeDelegated(t, "user1@example.test", "user9@example.test")
	if r.code != 1 || !strings.Contains(r.stdout, "1 upgraded to OAuth, 1 pending.") {
		t.Fatalf("first upgrade: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return db
}

// upgradeDelegated runs `upgrade --yes --checks token` into a new store,
// from a legacy setup of these mailboxes, with the key of a sandbox whose
// one user (user1) has the delegation; it returns the store and the run.
func upgradeDelegated(t *testing.T, mailboxes ...string) (db string, r cliResult) {
	t.Helper()
	dir := delegatedSandbox(t, 1)
	work := t.TempDir()
	db = filepath.Join(work, "mailoauth.db")
	legacy, _ := writeLegacyWith(t, work, legacySSL, "Legacy-Pass-%02d", mailboxes...)
	return db, mailoauth(t, db, "upgrade", "--yes", "--legacy", legacy, "--key", filepath.Join(dir, "service-account.json"),
		"--endpoints", filepath.Join(dir, "endpoints.json"), "--checks", "token")
}

// A password setup moves to the OAuth client (consent) path: no mailbox
// switches before its owner consented and its check passed; each one that
// did switches on the next run and loses its password.
func TestEndToEndUpgradeToOAuthClient(t *testing.T) {
	sb := startSandbox(t, 3, "--auto-consent")
	dir := t.TempDir()
	db := filepath.Join(dir, "mailoauth.db")
	legacyFile, passwords := writeLegacy(t, dir, 3)
	client := filepath.Join(sb.dir, "oauth-client.json")
	cred, _, err := core.LoadCredentialFile(context.Background(), client, core.CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	endpoints := filepath.Join(sb.dir, "endpoints.json")

	// A service-account key where the client belongs is refused as setup refuses it.
	r := mailoauth(t, db, "upgrade", "--yes", "--legacy", legacyFile, "--client", filepath.Join(sb.dir, "service-account.json"), "--endpoints", endpoints)
	setupR := mailoauth(t, filepath.Join(dir, "other.db"), "setup", "--domain", "example.test", "--sender", "admin@example.test",
		"--client", filepath.Join(sb.dir, "service-account.json"), "--endpoints", endpoints)
	if r.code != 2 || !strings.Contains(r.stderr, "not an OAuth client") || r.stderr != setupR.stderr {
		t.Fatalf("upgrade --client with a service-account key: exit %d, stderr %q; setup says %q", r.code, r.stderr, setupR.stderr)
	}
	if r = mailoauth(t, db, "upgrade", "--yes", "--client", client, "--key", filepath.Join(sb.dir, "service-account.json")); r.code != 2 || !strings.Contains(r.stderr, "not both") {
		t.Fatalf("--client with --key: exit %d %s", r.code, r.stderr)
	}

	args := []string{"upgrade", "--yes", "--legacy", legacyFile, "--client", client, "--endpoints", endpoints, "--checks", "token,imap,smtp"}
	r = mailoauth(t, db, args...)
	if r.code != 1 {
		t.Fatalf("upgrade before any consent: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, cred.ClientID) || strings.Contains(r.stdout+r.stderr, cred.ClientSecret) {
		t.Errorf("the client ID is not shown, or the secret is:\n%s", r.stdout)
	}
	for i := 1; i <= 3; i++ {
		m := fmt.Sprintf("user%d@example.test", i)
		line := fmt.Sprintf("pending   %s (keeps its password)\n  [%s]", m, core.CodeConsentRequired)
		if !strings.Contains(r.stdout, line) || !strings.Contains(r.stdout, "`mailoauth authorize "+m+"`") {
			t.Errorf("%s is not reported pending for consent with the command that gives it:\n%s", m, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "0 upgraded to OAuth, 3 pending.") || !strings.Contains(r.stdout, "`mailoauth authorize --all`") {
		t.Errorf("summary of the first run:\n%s", r.stdout)
	}
	kept, p := pendingPasswords(t, db)
	if len(kept) != 3 || kept["user2@example.test"] != passwords["user2@example.test"] {
		t.Fatalf("the passwords were not kept while consent is missing: %v", kept)
	}
	if c, err := p.LoadCredential(); err != nil || c.Kind != core.KindOAuthClient || c.ClientID != cred.ClientID {
		t.Fatalf("the profile does not hold the OAuth client: %+v %v", c, err)
	}
	noClearPassword(t, db, passwords)

	// Two owners consent; the re-run (the client is in the profile now)
	// switches exactly those two.
	if r = authorize(t, db, autoBrowser, "user1@example.test", "user2@example.test"); r.code != 0 {
		t.Fatalf("authorize: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	rerun := []string{"upgrade", "--yes", "--checks", "token,imap,smtp"}
	r = mailoauth(t, db, rerun...)
	if r.code != 1 || !strings.Contains(r.stdout, "2 upgraded to OAuth, 1 pending.") ||
		!strings.Contains(r.stdout, "upgraded  user1@example.test (password erased from the store)") ||
		!strings.Contains(r.stdout, "pending   user3@example.test (keeps its password)\n  ["+string(core.CodeConsentRequired)+"]") {
		t.Fatalf("re-run after two consents: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	kept, _ = pendingPasswords(t, db)
	if len(kept) != 1 || kept["user3@example.test"] != passwords["user3@example.test"] {
		t.Fatalf("after two consents the store keeps %v, want only user3's password", kept)
	}
	noClearPassword(t, db, passwords)

	// --all walks every mailbox still lacking consent; then everything is on OAuth.
	if r = authorize(t, db, autoBrowser, "--all"); r.code != 0 || !strings.Contains(r.stdout, "user3@example.test: consent stored") {
		t.Fatalf("authorize --all: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = mailoauth(t, db, rerun...); r.code != 0 || !strings.Contains(r.stdout, "1 upgraded to OAuth, 0 pending.") {
		t.Fatalf("re-run after every consent: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if kept, _ = pendingPasswords(t, db); len(kept) != 0 {
		t.Fatalf("passwords left after the upgrade: %v", kept)
	}
	noClearPassword(t, db, passwords)
	if l, exit := testOne(t, db, "user3@example.test", "--checks", "token,imap"); exit != 0 || !l.OK {
		t.Fatalf("test after the upgrade: %d %+v", exit, l)
	}
}

// The client entered by hand (--client-id, --client-secret-file) upgrades the same way.
func TestEndToEndUpgradeToOAuthClientByHand(t *testing.T) {
	sb := startSandbox(t, 2, "--auto-consent")
	dir := t.TempDir()
	db := filepath.Join(dir, "mailoauth.db")
	legacyFile, passwords := writeLegacy(t, dir, 2)
	cred, _, err := core.LoadCredentialFile(context.Background(), filepath.Join(sb.dir, "oauth-client.json"), core.CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte(cred.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"upgrade", "--yes", "--legacy", legacyFile, "--client-id", cred.ClientID, "--client-secret-file", secret,
		"--redirect-uri", "http://127.0.0.1/callback", "--endpoints", filepath.Join(sb.dir, "endpoints.json"), "--checks", "token,imap"}
	r := mailoauth(t, db, args...)
	if r.code != 1 || !strings.Contains(r.stdout, "0 upgraded to OAuth, 2 pending.") || strings.Contains(r.stdout, cred.ClientSecret) {
		t.Fatalf("upgrade with the client by hand: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = authorize(t, db, autoBrowser, "--all"); r.code != 0 {
		t.Fatalf("authorize --all: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = mailoauth(t, db, args...); r.code != 0 || !strings.Contains(r.stdout, "2 upgraded to OAuth, 0 pending.") {
		t.Fatalf("re-run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if kept, _ := pendingPasswords(t, db); len(kept) != 0 {
		t.Fatalf("passwords left: %v", kept)
	}
	noClearPassword(t, db, passwords)

	// A wrong secret file is refused with setup's sentence, before anything changes.
	if err := os.WriteFile(secret, []byte("two words\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r = mailoauth(t, db, args...); r.code != 2 || !strings.Contains(r.stderr, "spaces or line breaks") {
		t.Fatalf("a mangled secret: exit %d %s", r.code, r.stderr)
	}
}
