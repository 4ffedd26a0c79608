package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// TestStoreErrorsWithTheirCommands: the store's errors about a missing or
// ambiguous profile or mailbox name no command; the command line's
// sentence still ends in the command or flag that gets the user out.
func TestStoreErrorsWithTheirCommands(t *testing.T) {
	dir := t.TempDir()
	empty, two := filepath.Join(dir, "empty.db"), filepath.Join(dir, "two.db")
	for _, db := range []string{empty, two} {
		st, err := store.Open(db, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if db == two {
			for _, d := range []string{"example.test", "partner.test"} {
				if err := st.SaveProfile(core.Profile{Domain: d, DefaultSender: "admin@" + d}, "test"); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.PutMailbox("example.test", core.Mailbox{Email: "user1@example.test"}, "test"); err != nil {
				t.Fatal(err)
			}
		}
		st.Close()
	}
	for _, c := range []struct {
		db   string
		args []string
		want string
	}{
		{empty, []string{"mailbox", "ls"}, "the store " + empty + " holds no domain yet; run `mailoauth setup --domain yourcompany.example --sender administrator@yourcompany.example --key service-account.json` or `mailoauth wizard` first"},
		{empty, []string{"--profile", "nosuch.test", "mailbox", "ls"}, "store " + empty + " has no profile yet; create one for nosuch.test with `mailoauth setup --domain nosuch.test`"},
		{two, []string{"mailbox", "ls"}, "the store holds several domains (example.test, partner.test); choose one with --profile DOMAIN"},
		{two, []string{"--profile", "nosuch.test", "mailbox", "ls"}, "there is no profile for nosuch.test; known domains: example.test, partner.test (choose one with --profile, or create it with `mailoauth setup --domain nosuch.test`)"},
		{two, []string{"token", "someone@elsewhere.test"}, "someone@elsewhere.test could belong to several profiles (example.test, partner.test); choose one with --profile DOMAIN"},
		{two, []string{"--profile", "example.test", "mailbox", "rm", "nobody@example.test"}, "nobody@example.test is not a mailbox of example.test; list them with `mailoauth mailbox ls`"},
		{two, []string{"--profile", "example.test", "proxy", "password", "admin@example.test"}, "admin@example.test is not a mailbox of example.test; add it first with `mailoauth mailbox add admin@example.test`"},
	} {
		r := mailoauth(t, c.db, c.args...)
		if want := "mailoauth: " + c.want + "\n"; r.code != exitUsage || r.stderr != want {
			t.Errorf("%v: exit %d\n%s\nwant exit %d\n%s", c.args, r.code, r.stderr, exitUsage, want)
		}
	}
}

// TestDamagedStoreWithoutBackupSaysHowToStartAgain: with no good backup
// beside a damaged store, the sentence ends in the commands that start a
// new one (the store's own sentence names none).
func TestDamagedStoreWithoutBackupSaysHowToStartAgain(t *testing.T) {
	db, bak := damagedFixture(t, 3000)
	if err := os.Remove(bak); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(db)
	if err := os.Truncate(db, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	r := mailoauth(t, db, "mailbox", "ls")
	want := "; no good backup of it was found beside it: restore it from your own backups, or move it aside (mv " + db + " " + db + ".damaged) and run `mailoauth setup` or the wizard to start a new store\n"
	if r.code != exitEnviron || !strings.HasPrefix(r.stderr, "mailoauth: this store is damaged (") || !strings.HasSuffix(r.stderr, want) {
		t.Fatalf("exit %d\n%s\nwant exit %d and a sentence ending in\n%s", r.code, r.stderr, exitEnviron, want)
	}
}

// TestDamagedRecordWithTheCommandThatRedoesIt: a damaged record's sentence
// on the command line names the command that writes it again, also when
// another error wraps it.
func TestDamagedRecordWithTheCommandThatRedoesIt(t *testing.T) {
	cause := errors.New("unexpected end of JSON input")
	for _, c := range []struct {
		err  *store.RecordError
		want string
	}{
		{&store.RecordError{Record: store.RecordResult, Mailbox: "a@example.test", Path: "/s.db", Err: cause},
			"the last result of a@example.test in store /s.db is damaged (unexpected end of JSON input); run `mailoauth test` again"},
		{&store.RecordError{Record: store.RecordPendingLogin, Mailbox: "a@example.test", Path: "/s.db", Err: cause},
			"the pending login of a@example.test in store /s.db is damaged (unexpected end of JSON input); run the upgrade again with --legacy"},
		{&store.RecordError{Record: store.RecordProfile, Domain: "example.test", Path: "/s.db", Err: cause},
			"profile example.test in store /s.db is damaged (unexpected end of JSON input); delete it with `mailoauth profile rm example.test` and set it up again"},
	} {
		if got := errorSentence(c.err); got != "mailoauth: "+c.want {
			t.Errorf("got  %s\nwant mailoauth: %s", got, c.want)
		}
		wrapped := fmt.Errorf("cannot list the results: %w", c.err)
		if got := errorSentence(wrapped); got != "mailoauth: cannot list the results: "+c.want {
			t.Errorf("wrapped: got %s", got)
		}
	}
}

// TestUnsealableBackupSaysHowToRemoveIt: a backup that could not be sealed
// under its own key ends in the command that removes it (the store's own
// sentence names none).
func TestUnsealableBackupSaysHowToRemoveIt(t *testing.T) {
	err := &store.BackupSealError{Path: "/s.db.bak", Err: errors.New("no space left on device")}
	if strings.Contains(err.Error(), "mailoauth") {
		t.Errorf("the store's sentence names a command: %s", err)
	}
	want := "mailoauth: cannot seal backup /s.db.bak under its own key: no space left on device; remove it with `mailoauth upgrade --purge-backups`"
	if got := errorSentence(err); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestUnreadableKeyFileNamesTheProgram: the store names no program of its
// own; opened by the command line, its sentence says to run mailoauth as
// the key file's owner (a directory in the key file's place cannot be
// read by anyone, not even root, as these tests run).
func TestUnreadableKeyFileNamesTheProgram(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveProfile(core.Profile{Domain: "example.test", DefaultSender: "admin@example.test"}, "test"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := os.Remove(db + ".key"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(db+".key", 0o700); err != nil {
		t.Fatal(err)
	}
	r := mailoauth(t, db, "mailbox", "ls")
	want := "; run mailoauth as the user that owns it, or set " + store.KeyEnv + "\n"
	if !strings.HasPrefix(r.stderr, "mailoauth: cannot read key file "+db+".key: ") || !strings.HasSuffix(r.stderr, want) {
		t.Fatalf("exit %d\n%s\nwant a sentence ending in\n%s", r.code, r.stderr, want)
	}
}
