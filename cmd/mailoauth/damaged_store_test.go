package main

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// damagedFixture makes a store with a profile and n mailboxes, then one
// backup of it beside it; it returns the store's and the backup's paths.
func damagedFixture(t *testing.T, n int) (db, bak string) {
	t.Helper()
	db = filepath.Join(t.TempDir(), "m.db")
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveProfile(core.Profile{Domain: "example.test", DefaultSender: "admin@example.test"}, "test"); err != nil {
		t.Fatal(err)
	}
	var ms []core.Mailbox
	for i := 0; i < n; i++ {
		ms = append(ms, core.Mailbox{Email: fmt.Sprintf("user%d@example.test", i), DisplayName: fmt.Sprintf("User %d", i), OwnerKind: "user", OwnerName: fmt.Sprintf("Agent %d", i)})
	}
	if err := st.PutMailboxes("example.test", ms, "test"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = store.Open(db, store.Options{Backup: true})
	if err != nil {
		t.Fatal(err)
	}
	bak = st.BackupPath()
	st.Close()
	if bak == "" {
		t.Fatal("no backup was written")
	}
	return db, bak
}

// wantDamaged checks a run ended with exit 3 and the damaged-store
// sentence (mailoauth() already failed the test on a stack trace, which is
// how SIGBUS or a bbolt panic would show).
func wantDamaged(t *testing.T, r cliResult, path, goodBackup string) {
	t.Helper()
	if r.code != exitEnviron || !strings.Contains(r.stderr, "this store is damaged") || !strings.Contains(r.stderr, path) {
		t.Fatalf("want exit 3 and the damaged-store sentence naming %s, got %d:\n%s%s", path, r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 0 {
		t.Errorf("want one sentence, got %d lines:\n%s", n+1, r.stderr)
	}
	if goodBackup != "" && !strings.Contains(r.stderr, "the last good backup is "+goodBackup) {
		t.Errorf("want the last good backup %s named, got:\n%s", goodBackup, r.stderr)
	}
}

// restoreFrom runs the restore command the sentence gives, in a shell.
func restoreFrom(t *testing.T, stderr string) {
	t.Helper()
	m := regexp.MustCompile(`to restore it: (.*)$`).FindStringSubmatch(strings.TrimSpace(stderr))
	if m == nil {
		t.Fatalf("no restore command in:\n%s", stderr)
	}
	if out, err := runProgram(nil, "", "sh", "-c", m[1]); err != nil {
		t.Fatalf("the restore command %q failed: %v\n%s", m[1], err, out)
	}
}

func TestTruncatedStoreSaysDamagedAndRestores(t *testing.T) {
	db, bak := damagedFixture(t, 3000)
	fi, _ := os.Stat(db)
	if err := os.Truncate(db, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"mailbox", "ls"}, {"token", "user1@example.test"}, {"doctor"}, {"mailbox", "add", "x@example.test"}} {
		wantDamaged(t, mailoauth(t, db, args...), db, bak)
	}
	r := mailoauth(t, db, "mailbox", "ls")
	restoreFrom(t, r.stderr)
	if r := mailoauth(t, db, "mailbox", "ls"); r.code != 0 || !strings.Contains(r.stdout, "user2999@example.test") {
		t.Fatalf("after the restore command mailbox ls: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(db + ".damaged"); err != nil {
		t.Errorf("the damaged file was not kept aside: %v", err)
	}
}

func TestDamagedPageSaysDamaged(t *testing.T) {
	db, bak := damagedFixture(t, 3000)
	data, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	// Every page holding this mailbox's record (the live one among them)
	// is overwritten with noise.
	needle := []byte("user1500@example.test")
	const page = 4096
	rng := rand.New(rand.NewSource(1))
	hit := 0
	for off := 0; ; {
		i := bytes.Index(data[off:], needle)
		if i < 0 {
			break
		}
		p := (off + i) / page * page
		rng.Read(data[p : p+page])
		hit++
		off = p + page
	}
	if hit == 0 {
		t.Fatal("the record is not in the file")
	}
	if err := os.WriteFile(db, data, 0o600); err != nil {
		t.Fatal(err)
	}
	wantDamaged(t, mailoauth(t, db, "mailbox", "ls"), db, bak)
	wantDamaged(t, mailoauth(t, db, "mailbox", "export"), db, bak)
}

func TestDoctorChecksStoreIntegrity(t *testing.T) {
	db, _ := damagedFixture(t, 10)
	r := mailoauth(t, db, "doctor")
	if !regexp.MustCompile(`(?m)^store +PASS`).MatchString(r.stdout) {
		t.Fatalf("doctor did not report the store's check as passed:\n%s%s", r.stdout, r.stderr)
	}
}

func TestPartialBackupIsNeverTakenForGood(t *testing.T) {
	db, good := damagedFixture(t, 3000)
	// What a kill in the middle of the old in-place copy left: a newer
	// backup name over half a file.
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	partial := db + "." + time.Now().UTC().Add(time.Minute).Format("20060102T150405.000Z") + ".bak"
	if err := os.WriteFile(partial, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute)
	os.Chtimes(partial, future, future)
	fi, _ := os.Stat(db)
	if err := os.Truncate(db, fi.Size()/3); err != nil {
		t.Fatal(err)
	}
	wantDamaged(t, mailoauth(t, db, "mailbox", "ls"), db, good)
	// Opened itself, the partial backup is a damaged store too.
	wantDamaged(t, mailoauth(t, partial, "mailbox", "ls"), partial, "")
}

// The last good backup sealed under its own key (an upgrade finished): the
// restore command copies that key too, and the restored store opens. A key
// file beside a backup that it does not open (a sealing cut short) is left
// out of the command.
func TestRestoreOfBackupSealedUnderItsOwnKey(t *testing.T) {
	t.Setenv(store.KeyEnv, "")
	db, _ := damagedFixture(t, 2000)
	for _, b := range store.Backups(db) {
		os.Remove(b)
	}
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan := core.UpgradePlan{Domain: "example.test", Passwords: []core.PendingPassword{{Mailbox: "user1@example.test", Username: "user1@example.test", Password: "Legacy-Restore-7yQp"}}}
	if err := st.ImportLegacy(plan, "test"); err != nil {
		t.Fatal(err)
	}
	sealed, err := st.TakeBackup()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CompleteUpgrade("example.test", "user1@example.test", "test"); err != nil {
		t.Fatal(err)
	}
	if bs, err := st.SealPasswordBackups(); err != nil || len(bs) != 1 || bs[0].OwnKey != sealed+".key" {
		t.Fatalf("sealing the backup: %+v %v", bs, err)
	}
	st.Close()
	fi, _ := os.Stat(db)
	if err := os.Truncate(db, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	r := mailoauth(t, db, "mailbox", "ls")
	wantDamaged(t, r, db, sealed)
	if !strings.Contains(r.stderr, "cp "+sealed+".key "+db+".key") {
		t.Fatalf("the restore command does not bring the backup's own key:\n%s", r.stderr)
	}
	restoreFrom(t, r.stderr)
	if r := mailoauth(t, db, "mailbox", "ls"); r.code != 0 || !strings.Contains(r.stdout, "user1999@example.test") {
		t.Fatalf("after the restore command mailbox ls: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(db + ".damaged.key"); err != nil {
		t.Errorf("the store's own key was not kept with the damaged file: %v", err)
	}

	// A stray key file beside a backup sealed with the store's key.
	db2, bak2 := damagedFixture(t, 10)
	if err := os.WriteFile(bak2+".key", []byte("c3RyYXkga2V5IGZpbGUgb2YgMzIgYnl0ZXMgbG9uZyE=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(db2)
	os.Truncate(db2, fi.Size()/2)
	if r := mailoauth(t, db2, "mailbox", "ls"); strings.Contains(r.stderr, ".key") {
		t.Errorf("a key file that does not open the backup is in the restore command:\n%s", r.stderr)
	}
}
