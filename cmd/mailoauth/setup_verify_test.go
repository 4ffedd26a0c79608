package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

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
