package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// The one-click delegation link appears, exact, wherever the client ID and
// scopes are shown: setup (with the verify's finding when delegation is
// missing, and as reference when it works), key inspect and the
// delegation_not_authorized finding of test.
func TestDelegationLinkInSetupKeyInspectAndFinding(t *testing.T) {
	sb := startSandbox(t, 1)
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	key := filepath.Join(sb.dir, "service-account.json")
	link := "https://admin.google.com/ac/owl/domainwidedelegation?clientIdToAdd=" + sb.clientID +
		"&clientScopeToAdd=https%3A%2F%2Fmail.google.com%2F&overwriteClientId=true"
	setup := []string{"setup", "--domain", "example.test", "--sender", "admin@example.test", "--key", key,
		"--endpoints", filepath.Join(sb.dir, "endpoints.json")}

	r := mailoauth(t, db, setup...)
	if r.code != 1 || !strings.Contains(r.stdout, "delegation_not_authorized") || strings.Count(r.stdout, link) != 2 {
		t.Fatalf("setup without delegation should show the link with the steps and in the fix: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	l, exit := testOne(t, db, "admin@example.test", "--checks", "token")
	if exit != 1 || l.Finding == nil || l.Finding.Code != core.CodeDelegationNotAuthorized || !strings.Contains(l.Finding.Fix, "open "+link+",") {
		t.Fatalf("the delegation finding's fix lacks the link: exit %d %+v", exit, l.Finding)
	}
	r = mailoauth(t, db, "key", "inspect", key)
	if r.code != 0 || !strings.Contains(r.stdout, link) {
		t.Fatalf("key inspect lacks the link: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	r = mailoauth(t, db, setup...)
	if r.code != 0 || !strings.Contains(r.stdout, "delegation works") || !strings.Contains(r.stdout, link) {
		t.Fatalf("setup with delegation should still show the link as reference: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Scopes are comma-separated, then encoded as one parameter.
	r = mailoauth(t, db, append(setup, "--scopes", core.ScopeMail+","+core.ScopeCalendar, "--no-verify")...)
	if want := "clientScopeToAdd=https%3A%2F%2Fmail.google.com%2F%2Chttps%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcalendar&"; r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Fatalf("setup --scopes: the link lacks %q: exit %d\n%s%s", want, r.code, r.stdout, r.stderr)
	}
}
