package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// The setup command against a sandbox: what its delegation verify says and
// remembers.

// TestSetupVerifyIsRemembered: `setup` says "a token ... was minted;
// delegation works", so `profile ls` (and the wizard's profile step, which
// reads the same state) must not then call the delegation "not verified
// yet"; a failed verify is remembered as the sender's failed token check.
func TestSetupVerifyIsRemembered(t *testing.T) {
	dir := delegatedSandbox(t, 1)
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	key, ep := filepath.Join(dir, "service-account.json"), filepath.Join(dir, "endpoints.json")
	r := mailoauth(t, db, "setup", "--domain", "example.test", "--sender", "admin@example.test", "--key", key, "--endpoints", ep)
	if r.code != 0 || !strings.Contains(r.stdout, "delegation works") {
		t.Fatalf("setup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// a sender Google does not know: setup saves the profile, its verify fails
	if r = mailoauth(t, db, "setup", "--domain", "exmaple.test", "--sender", "admin@exmaple.test", "--key", key, "--endpoints", ep); r.code != 1 {
		t.Fatalf("setup of the unknown domain: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = mailoauth(t, db, "profile", "ls", "--json")
	var states []core.ProfileState
	if err := json.Unmarshal([]byte(r.stdout), &states); err != nil || len(states) != 2 {
		t.Fatalf("profile ls --json: %v %s", err, r.stdout)
	}
	if s := states[0]; s.Domain != "example.test" || !s.Verified || s.Tested != 1 || s.Passed != 1 {
		t.Errorf("after setup verified the delegation, profile ls --json of example.test says %+v", s)
	}
	if s := states[1]; s.Domain != "exmaple.test" || s.Verified || s.Tested != 1 || s.Passed != 0 {
		t.Errorf("after setup's verify failed, profile ls --json of exmaple.test says %+v", s)
	}
	if r = mailoauth(t, db, "profile", "ls"); !strings.Contains(r.stdout, "delegation verified") {
		t.Errorf("profile ls after a verified setup:\n%s", r.stdout)
	}
}

// delegatedSandbox starts an in-process sandbox with that many users and the
// key's delegation authorized, and returns the directory of its files.
func delegatedSandbox(t *testing.T, users int) string {
	t.Helper()
	dir := t.TempDir()
	sb, err := sandbox.Start(sandbox.Options{Users: users, Delegate: true, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return dir
}

// setupStore runs `setup` of example.test (sender admin@example.test) into
// the store db with a sandbox's endpoints and its service-account key
// (credential "--key") or OAuth client ("--client"), from the directory
// the sandbox writes them to; extra are more setup flags. setup must exit 0.
func setupStore(t testing.TB, db, sandboxDir, credential string, extra ...string) {
	t.Helper()
	file := map[string]string{"--key": "service-account.json", "--client": "oauth-client.json"}[credential]
	if r := mailoauth(t, db, append([]string{"setup", "--domain", "example.test", "--sender", "admin@example.test",
		credential, filepath.Join(sandboxDir, file), "--endpoints", filepath.Join(sandboxDir, "endpoints.json")}, extra...)...); r.code != 0 {
		t.Fatalf("setup %s: exit %d\n%s%s", credential, r.code, r.stdout, r.stderr)
	}
}

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
