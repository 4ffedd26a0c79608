package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// setupServiceAccount configures a store for the sandbox's service account
// with delegation granted and the given mailboxes assigned.
func setupServiceAccount(t *testing.T, sb *sandboxProcess, db string, mailboxes ...string) {
	t.Helper()
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	setupStore(t, db, sb.dir, "--key")
	for _, m := range mailboxes {
		if r := mailoauth(t, db, "mailbox", "add", m); r.code != 0 {
			t.Fatalf("mailbox add %s: %s", m, r.stderr)
		}
	}
}

func TestHistoryShowsAFailureWithItsStart(t *testing.T) {
	sb := startSandbox(t, 3)
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupServiceAccount(t, sb, db, "user1@example.test", "user2@example.test")
	if r := mailoauth(t, db, "test", "--all", "--checks", "token,imap"); r.code != 0 {
		t.Fatalf("test --all: %d %s%s", r.code, r.stdout, r.stderr)
	}
	sb.admin(t, "POST", "/users", map[string]any{"email": "user2@example.test", "suspended": true})
	before := time.Now().Add(-time.Second)
	for range 2 {
		if r := mailoauth(t, db, "test", "--all", "--fresh", "--checks", "token,imap"); r.code != 1 {
			t.Fatalf("test --all with a suspended mailbox: exit %d %s%s", r.code, r.stdout, r.stderr)
		}
	}

	r := mailoauth(t, db, "history", "user2@example.test", "--json")
	if r.code != 0 {
		t.Fatalf("history --json: %d %s", r.code, r.stderr)
	}
	type row struct {
		Check        string    `json:"check"`
		OK           bool      `json:"ok"`
		Code         core.Code `json:"code"`
		FailingSince time.Time `json:"failing_since"`
		History      []struct {
			OK   bool      `json:"ok"`
			Code core.Code `json:"code"`
		} `json:"history"`
	}
	var rows []row
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var x row
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("history --json line %q: %v", l, err)
		}
		rows = append(rows, x)
	}
	if len(rows) != 2 || rows[0].Check != "token" || rows[1].Check != "imap" {
		t.Fatalf("want the token and imap histories of user2, got %s", r.stdout)
	}
	tok := rows[0]
	if tok.OK || tok.Code != core.CodeUserSuspended || len(tok.History) != 3 || !tok.History[0].OK || tok.History[2].Code != core.CodeUserSuspended {
		t.Errorf("token history: %s", r.stdout)
	}
	if tok.FailingSince.Before(before) || tok.FailingSince.After(time.Now()) {
		t.Errorf("the failure started at the first failed run (after %v), history says %v", before, tok.FailingSince)
	}

	r = mailoauth(t, db, "history")
	if r.code != 0 || !strings.Contains(r.stdout, "FAILING (user_suspended) since "+tok.FailingSince.Local().Format("2006-01-02 15:04:05")) ||
		!strings.Contains(r.stdout, "✓✗✗") || !strings.Contains(r.stdout, "[user_suspended]") || !strings.Contains(r.stdout, "Fix:") {
		t.Errorf("history should show user2's failure with its start, marks and fix:\n%s%s", r.stdout, r.stderr)
	}
	if strings.Count(r.stdout, "FAILING") != 1 {
		t.Errorf("only user2's token check is failing:\n%s", r.stdout)
	}

	// A watcher started while the failure lasts alerts with its real start.
	h := newHook(t)
	if r := mailoauth(t, db, "watch", "--once", "--checks", "token,imap", "--alert-webhook", h.srv.URL); r.code != 1 {
		t.Fatalf("watch --once: %d %s%s", r.code, r.stdout, r.stderr)
	}
	a := h.take()
	if len(a) != 1 || a[0]["mailbox"] != "user2@example.test" || a[0]["since"] != tok.FailingSince.Format(time.RFC3339Nano) {
		t.Errorf("want one alert for user2 since %s (the history's start), got %v", tok.FailingSince.Format(time.RFC3339Nano), a)
	}
}

// With two profiles in the store, a mailbox names its profile: history
// needs no --profile for it.
func TestHistoryOfAMailboxPicksItsProfile(t *testing.T) {
	db := twoProfiles(t)
	if r := mailoauth(t, db, "history", "user1@example.test"); r.code != 0 || !strings.Contains(r.stdout, "user1@example.test  token") {
		t.Fatalf("history of a mailbox with two profiles: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := mailoauth(t, db, "history"); r.code != 2 || !strings.Contains(r.stderr, "--profile") {
		t.Fatalf("history of every mailbox with two profiles should ask for --profile: exit %d %s", r.code, r.stderr)
	}
}
