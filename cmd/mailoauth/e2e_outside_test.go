package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// A mailbox outside the profile's domain (a partner's Workspace, a consumer
// Gmail address) takes the OAuth client path; a service-account profile
// refuses it with the finding that points there.
func TestEndToEndMailboxOutsideTheDomain(t *testing.T) {
	sb := startSandbox(t, 1, "--auto-consent", "--delegate")
	const partner = "someone@partner.test"
	// partner.test is another organisation, so the app must be External.
	sb.admin(t, "POST", "/users", map[string]any{"email": partner})
	sb.admin(t, "POST", "/oauth/consent", map[string]any{"user_type": "external", "publishing_status": "production"})
	endpoints := filepath.Join(sb.dir, "endpoints.json")
	csv := filepath.Join(t.TempDir(), "boxes.csv")
	if err := os.WriteFile(csv, []byte("email,display_name,owner_kind,owner_name\nuser1@example.test,,user,Ann\nother@partner.test,Partner desk,workgroup,Partners\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	db := filepath.Join(t.TempDir(), "mailoauth.db")
	r := mailoauth(t, db, "setup", "--domain", "example.test", "--sender", "admin@example.test", "--client", filepath.Join(sb.dir, "oauth-client.json"), "--endpoints", endpoints)
	if r.code != 0 {
		t.Fatalf("setup --client: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r = mailoauth(t, db, "mailbox", "add", "Someone@Partner.test", "--owner", "user:Someone"); r.code != 0 || !strings.Contains(r.stdout, "Assigned "+partner) {
		t.Fatalf("mailbox add %s on an OAuth client profile: %d %s %s", partner, r.code, r.stdout, r.stderr)
	}
	if r = mailoauth(t, db, "mailbox", "import", csv); r.code != 0 {
		t.Fatalf("import with an outside mailbox on an OAuth client profile: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r = mailoauth(t, db, "mailbox", "add", "mailer@p.iam.gserviceaccount.com"); r.code != 2 || !strings.Contains(r.stderr, "service account itself") {
		t.Fatalf("the service account as a mailbox: %d %s", r.code, r.stderr)
	}
	if r = mailoauth(t, db, "mailbox", "ls"); !strings.Contains(r.stdout, partner) || !strings.Contains(r.stdout, "other@partner.test") {
		t.Fatalf("mailbox ls: %s", r.stdout)
	}

	r = authorize(t, db, autoBrowser, partner)
	if r.code != 0 || !strings.Contains(r.stdout, "consent stored") || !strings.Contains(r.stdout, "refresh token received") {
		t.Fatalf("authorize %s: %d\n%s%s", partner, r.code, r.stdout, r.stderr)
	}
	l, exit := testOne(t, db, partner)
	if exit != 0 || !l.OK || l.Mailbox != partner {
		t.Fatalf("test --mailbox %s: exit %d %+v", partner, exit, l)
	}
	for _, c := range core.AllChecks {
		if _, ok := l.Checks[string(c)]; !ok {
			t.Fatalf("check %s did not run for %s: %+v", c, partner, l.Checks)
		}
	}
	if r = mailoauth(t, db, "token", partner); r.code != 0 {
		t.Fatalf("token %s: %d %s", partner, r.code, r.stderr)
	}
	imapLogin(t, sb, partner, strings.TrimSpace(r.stdout))

	// The key cannot replace the OAuth client while it would strand them.
	key := filepath.Join(sb.dir, "service-account.json")
	r = mailoauth(t, db, "setup", "--domain", "example.test", "--sender", "admin@example.test", "--key", key, "--endpoints", endpoints, "--no-verify")
	if r.code != 2 || !strings.Contains(r.stderr, "other@partner.test") || !strings.Contains(r.stderr, "mailbox rm") {
		t.Fatalf("setup --key over outside mailboxes: %d %s %s", r.code, r.stdout, r.stderr)
	}
	for _, m := range []string{partner, "other@partner.test"} {
		if r = mailoauth(t, db, "mailbox", "rm", m); r.code != 0 {
			t.Fatalf("mailbox rm %s: %d %s", m, r.code, r.stderr)
		}
	}

	// A service-account profile of example.test keeps to its domain.
	db2 := filepath.Join(t.TempDir(), "mailoauth.db")
	if r = mailoauth(t, db2, "setup", "--domain", "example.test", "--sender", "admin@example.test", "--key", key, "--endpoints", endpoints); r.code != 0 {
		t.Fatalf("setup --key: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = mailoauth(t, db2, "mailbox", "add", partner)
	if r.code != 2 || !strings.Contains(r.stderr, partner+" is not in the domain example.test") || !strings.Contains(r.stderr, "--client") {
		t.Fatalf("mailbox add %s on a service-account profile: want exit 2 with mailbox_outside_domain, got %d %s", partner, r.code, r.stderr)
	}
	r = mailoauth(t, db2, "mailbox", "import", csv)
	if r.code != 2 || !strings.Contains(r.stderr, "line 3: other@partner.test is not in the domain") || strings.Contains(r.stderr, "line 2") {
		t.Fatalf("import on a service-account profile: %d %s", r.code, r.stderr)
	}
	if r = mailoauth(t, db2, "mailbox", "ls"); !strings.Contains(r.stdout, "0 mailbox(es)") {
		t.Fatalf("a refused import saved mailboxes: %s", r.stdout)
	}
}
