package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// TestRetriesFlag: --retries bounds how often a throttled mailbox is tried
// again; 0 reports the first throttling reply at once, and a value out of
// range is a usage error (exit 2) saying the range.
func TestRetriesFlag(t *testing.T) {
	sb := startSandbox(t, 1)
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupStore(t, db, sb.dir, "--key")
	for _, bad := range []string{"-1", "21"} {
		r := mailoauth(t, db, "test", "--retries", bad, "-m", "user1@example.test")
		if r.code != 2 || !strings.Contains(r.stderr, "use 0 to 20") {
			t.Errorf("--retries %s: exit %d %q, want 2 with the range", bad, r.code, r.stderr)
		}
	}
	sb.admin(t, "POST", "/faults", map[string]any{"throttle": map[string]any{"token": 1}})
	l, code := testOne(t, db, "user1@example.test", "--checks", "token", "--retries", "0")
	if code != 1 || l.Finding == nil || l.Finding.Code != core.CodeThrottled || strings.Contains(l.Finding.Summary, "retries") || len(l.Notes) != 0 {
		t.Fatalf("--retries 0: exit %d, %+v notes %q, want throttled at once, not retried", code, l.Finding, l.Notes)
	}
}
