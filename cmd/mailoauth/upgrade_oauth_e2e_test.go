package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// writeLegacy writes a legacy password setup of user1..userN of
// example.test and returns its path and each mailbox's password.
func writeLegacy(t *testing.T, dir string, n int) (string, map[string]string) {
	t.Helper()
	return writeLegacyWith(t, dir, n, core.LegacyServer{Host: "smtp.gmail.com", Port: 465, Security: "ssl"}, "Legacy-Consent-%02d-q9Wv")
}

// writeLegacyWith is writeLegacy with the legacy SMTP server and the format
// of the passwords (given the mailbox's number) chosen by the caller.
func writeLegacyWith(t *testing.T, dir string, n int, smtp core.LegacyServer, pwFormat string) (string, map[string]string) {
	t.Helper()
	legacy := core.LegacyConfig{Domain: "example.test", DefaultSender: "admin@example.test",
		IMAP: core.LegacyServer{Host: "imap.gmail.com", Port: 993, Security: "ssl"}, SMTP: smtp}
	passwords := map[string]string{}
	for i := 1; i <= n; i++ {
		email := fmt.Sprintf("user%d@example.test", i)
		pw := fmt.Sprintf(pwFormat, i)
		passwords[email] = pw
		legacy.Mailboxes = append(legacy.Mailboxes, core.LegacyMailbox{Email: email, DisplayName: fmt.Sprintf("User %d", i),
			OwnerKind: "user", OwnerName: fmt.Sprintf("agent%d", i), Username: email, Password: pw})
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
	data, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for email, pw := range passwords {
		if bytes.Contains(data, []byte(pw)) {
			t.Errorf("the password of %s is in the store file in clear text", email)
		}
	}
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
