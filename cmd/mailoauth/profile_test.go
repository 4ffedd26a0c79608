package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// twoProfiles sets up example.test against an in-process sandbox, tests it,
// and then makes the typo of issue 9: a second profile exmaple.test.
func twoProfiles(t *testing.T) (db string) {
	t.Helper()
	dir := delegatedSandbox(t, 3)
	db = filepath.Join(t.TempDir(), "mailoauth.db")
	key, ep := filepath.Join(dir, "service-account.json"), filepath.Join(dir, "endpoints.json")
	setupStore(t, db, dir, "--key")
	if r := mailoauth(t, db, "mailbox", "add", "user1@example.test"); r.code != 0 {
		t.Fatalf("mailbox add: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := mailoauth(t, db, "test", "--all", "--checks", "token"); r.code != 0 {
		t.Fatalf("test --all: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// The typo: saved although its verify fails.
	mailoauth(t, db, "setup", "--domain", "exmaple.test", "--sender", "admin@exmaple.test", "--key", key, "--endpoints", ep)
	return db
}

// TestMailboxPicksItsProfile: with a second (mistyped) profile in the store,
// every command that names a mailbox still finds the profile holding it,
// without --profile; --profile is asked for only when the choice is open,
// and the error then names the candidates.
func TestMailboxPicksItsProfile(t *testing.T) {
	db := twoProfiles(t)
	if r := mailoauth(t, db, "token", "admin@example.test"); r.code != 0 || len(strings.TrimSpace(r.stdout)) < 100 {
		t.Fatalf("token of the sender with a second profile: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := mailoauth(t, db, "token", "user1@example.test"); r.code != 0 || r.stderr != "" {
		t.Fatalf("token of a mailbox with a second profile: exit %d %s", r.code, r.stderr)
	}
	if l, code := testOne(t, db, "user1@example.test", "--checks", "token"); code != 0 || !l.OK {
		t.Fatalf("test --mailbox with a second profile: exit %d %+v", code, l)
	}
	// Not held yet, but in example.test's domain.
	if r := mailoauth(t, db, "mailbox", "add", "user2@example.test"); r.code != 0 {
		t.Fatalf("mailbox add with a second profile: %d %s", r.code, r.stderr)
	}
	if r := mailoauth(t, db, "mailbox", "rm", "user2@example.test"); r.code != 0 || !strings.Contains(r.stdout, "Removed user2@example.test") {
		t.Fatalf("mailbox rm with a second profile: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// No mailbox named: the choice is open.
	r := mailoauth(t, db, "mailbox", "ls")
	if r.code != 2 || !strings.Contains(r.stderr, "example.test, exmaple.test") || !strings.Contains(r.stderr, "--profile") {
		t.Fatalf("mailbox ls with two profiles: exit %d %s", r.code, r.stderr)
	}
	// A mailbox neither holds nor owns: ambiguous, the candidates named.
	r = mailoauth(t, db, "token", "someone@elsewhere.test")
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "example.test, exmaple.test") || !strings.Contains(r.stderr, "--profile") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("ambiguous mailbox: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	// --profile still decides.
	r = mailoauth(t, db, "--profile", "exmaple.test", "mailbox", "add", "user1@example.test")
	if r.code != 2 || !strings.Contains(r.stderr, "not in the domain exmaple.test") {
		t.Fatalf("--profile must win: exit %d %s", r.code, r.stderr)
	}
}

// TestProfileListAndRemove: profile ls shows each profile's state, and
// profile rm refuses without a terminal or --yes, backs the store up, and
// deletes only the profile named.
func TestProfileListAndRemove(t *testing.T) {
	db := twoProfiles(t)
	r := mailoauth(t, db, "profile", "ls")
	if r.code != 0 {
		t.Fatalf("profile ls: %d %s", r.code, r.stderr)
	}
	var good, typo string
	for _, l := range strings.Split(r.stdout, "\n") {
		switch {
		case strings.HasPrefix(l, "example.test "):
			good = l
		case strings.HasPrefix(l, "exmaple.test "):
			typo = l
		}
	}
	for _, want := range []string{"service-account key (JSON), delegation verified", "admin@example.test", " 1 ", "last test all 2 passed"} {
		if !strings.Contains(good, want) {
			t.Errorf("profile ls row of example.test lacks %q: %q", want, good)
		}
	}
	if !strings.Contains(typo, "delegation not verified yet") || !strings.Contains(typo, " 0 ") {
		t.Errorf("profile ls row of exmaple.test: %q", typo)
	}
	r = mailoauth(t, db, "profile", "ls", "--json")
	var states []core.ProfileState
	if err := json.Unmarshal([]byte(r.stdout), &states); err != nil || len(states) != 2 {
		t.Fatalf("profile ls --json: %v %s", err, r.stdout)
	}
	if s := states[0]; s.Domain != "example.test" || s.Kind != core.KindServiceAccount || s.DefaultSender != "admin@example.test" ||
		s.Mailboxes != 1 || s.Tested != 2 || s.Passed != 2 || !s.Verified || s.LastTest.IsZero() {
		t.Errorf("profile ls --json of example.test: %+v", s)
	}

	// No terminal, no --yes: refused in one sentence, nothing deleted.
	r = mailoauth(t, db, "profile", "rm", "exmaple.test")
	if r.code != 2 || !strings.Contains(r.stderr, "--yes") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("profile rm without --yes: exit %d %s", r.code, r.stderr)
	}
	if r = mailoauth(t, db, "profile", "ls", "--json"); strings.Count(r.stdout, `"domain"`) != 2 {
		t.Fatalf("refused rm deleted something: %s", r.stdout)
	}
	if r = mailoauth(t, db, "profile", "rm", "nosuch.test", "--yes"); r.code != 2 || !strings.Contains(r.stderr, "known domains: example.test, exmaple.test") {
		t.Fatalf("rm of an unknown profile: %d %s", r.code, r.stderr)
	}
	r = mailoauth(t, db, "profile", "rm", "exmaple.test", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "Deleted profile exmaple.test") {
		t.Fatalf("profile rm --yes: %d %s %s", r.code, r.stdout, r.stderr)
	}
	baks, _ := filepath.Glob(db + ".*.bak")
	if len(baks) != 1 || !strings.Contains(r.stdout, baks[0]) {
		t.Fatalf("backup before rm: %v, output %s", baks, r.stdout)
	}
	// The backup still holds the deleted profile.
	bst, err := store.Open(baks[0], store.Options{ReadOnly: true, KeyPath: db + ".key"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bst.Profile("exmaple.test")
	bst.Close()
	if err != nil {
		t.Fatalf("the backup lacks the deleted profile: %v", err)
	}
	if r = mailoauth(t, db, "profile", "ls", "--json"); strings.Count(r.stdout, `"domain"`) != 1 || !strings.Contains(r.stdout, `"example.test"`) {
		t.Fatalf("after rm: %s", r.stdout)
	}
	if r = mailoauth(t, db, "mailbox", "ls"); r.code != 0 || !strings.Contains(r.stdout, "user1@example.test") {
		t.Fatalf("the other profile after rm: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestProfileRemoveAsksOnATerminal: on a terminal rm asks, and only "y"
// deletes.
func TestProfileRemoveAsksOnATerminal(t *testing.T) {
	db := twoProfiles(t)
	ask := func(answer string) string {
		t.Helper()
		cmd, f, screen, done := startOnTerminal(t, "--db", db, "profile", "rm", "exmaple.test")
		f.Write([]byte(answer + "\n"))
		if err := waitExit(t, cmd, done, "profile rm answered "+answer, screen); err != nil {
			t.Fatalf("profile rm answered %q: %v\n%s", answer, err, screen())
		}
		return screen()
	}
	if out := ask("n"); !strings.Contains(out, "[y/N]") || !strings.Contains(out, "nothing was deleted") {
		t.Fatalf("answer n: %s", out)
	}
	if r := mailoauth(t, db, "profile", "ls", "--json"); strings.Count(r.stdout, `"domain"`) != 2 {
		t.Fatalf("answer n deleted: %s", r.stdout)
	}
	if out := ask("y"); !strings.Contains(out, "Deleted profile exmaple.test") {
		t.Fatalf("answer y: %s", out)
	}
	if r := mailoauth(t, db, "profile", "ls", "--json"); strings.Count(r.stdout, `"domain"`) != 1 {
		t.Fatalf("answer y kept it: %s", r.stdout)
	}
}
