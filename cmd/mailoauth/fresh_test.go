package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// freshNoted runs the readable `test` for one mailbox and reports whether
// its output carries the "cached token was refused" note.
func freshNoted(t *testing.T, db, mailbox string, extra ...string) bool {
	t.Helper()
	args := append([]string{"test", "--mailbox", mailbox, "--checks", "token,imap,smtp"}, extra...)
	r := mailoauth(t, db, args...)
	if r.code != 0 {
		t.Fatalf("test %v: exit %d\n%s%s", extra, r.code, r.stdout, r.stderr)
	}
	return strings.Contains(r.stdout, core.NoteTokenRefreshed)
}

// checkFreshNote proves the refused-token note appears only when a server
// really refused the cached token: never for --fresh (the token is minted
// anew before any server sees it), always after Google revoked it.
func checkFreshNote(t *testing.T, sb *sandboxProcess, db, mailbox string) {
	t.Helper()
	if noted := freshNoted(t, db, mailbox); noted {
		t.Fatalf("first test of %s printed a refused-token note", mailbox)
	}
	for i := 0; i < 2; i++ {
		if noted := freshNoted(t, db, mailbox, "--fresh"); noted {
			t.Fatalf("test --fresh of %s says the cached token was refused, yet no server refused one", mailbox)
		}
	}
	l, exit := testOne(t, db, mailbox, "--fresh", "--checks", "token,imap,smtp")
	if exit != 0 || len(l.Notes) != 0 {
		t.Fatalf("test --fresh --json of %s: exit %d, notes %q", mailbox, exit, l.Notes)
	}
	// True case: the cached token is revoked at Google; the IMAP login is
	// refused, a fresh token is minted and accepted, and the note says so.
	sb.admin(t, "POST", "/revoke", map[string]any{"email": mailbox})
	if !freshNoted(t, db, mailbox) {
		t.Fatalf("a revoked cached token was replaced without the note")
	}
}

func TestFreshNoteOnlyWhenTrueServiceAccount(t *testing.T) {
	sb := startSandbox(t, 2)
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	setupStore(t, db, sb.dir, "--key")
	checkFreshNote(t, sb, db, "user1@example.test")
}

func TestFreshNoteOnlyWhenTrueOAuthClient(t *testing.T) {
	sb := startSandbox(t, 2, "--auto-consent")
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupStore(t, db, sb.dir, "--client")
	if r := mailoauth(t, db, "mailbox", "add", "user1@example.test"); r.code != 0 {
		t.Fatalf("mailbox add: %s", r.stderr)
	}
	if r := authorize(t, db, autoBrowser, "user1@example.test"); r.code != 0 {
		t.Fatalf("authorize: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	checkFreshNote(t, sb, db, "user1@example.test")
}
