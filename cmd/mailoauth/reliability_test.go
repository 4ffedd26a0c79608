// Tests of what the README's "Reliability" section promises of the store:
// a process killed at any point of a write leaves a store that opens with
// every committed record, and a damaged store or backup is said as such,
// never taken for good, and restored from its backup.

package main

import (
	"bufio"
	"bytes"
	"context"
	endian "encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// Crash safety: a real mailoauth process is killed with SIGKILL at random
// points of a CSV import, an upgrade (backup, then the legacy passwords
// imported) and the sealing of backups that hold passwords; after each kill
// the store must open with every committed record, no backup name may hold
// a partial file, and no password may be lost or left where the output
// said it was not.

const crashKills = 20

// killAt runs mailoauth with args and kills it with SIGKILL after d, unless
// it ended first; it returns what it printed and whether it ended by itself
// with exit 0.
func killAt(t *testing.T, d time.Duration, args ...string) (stdout string, completed bool) {
	t.Helper()
	return killWhen(t, nil, d, args...)
}

// killWhen is killAt counting d from the moment appeared() first holds
// (polled every 200 µs) rather than from the start: a kill aimed into a
// short window, such as the copy of a backup.
func killWhen(t *testing.T, appeared func() bool, d time.Duration, args ...string) (stdout string, completed bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // hang guard
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for appeared != nil && !appeared() {
		select {
		case err := <-done:
			return out.String(), err == nil
		case <-time.After(200 * time.Microsecond):
		}
	}
	select {
	case err := <-done:
		return out.String(), err == nil
	case <-time.After(d):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := <-done
		return out.String(), err == nil
	}
}

// timed runs mailoauth to its end and returns how long it took: the range
// the kills are spread over.
func timed(t *testing.T, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	if out, ok := killAt(t, 30*time.Second, args...); !ok {
		t.Fatalf("mailoauth %v failed unkilled:\n%s", args, out)
	}
	return time.Since(start)
}

// openAfterCrash opens the store as the next command would and fails the
// test when it does not open.
func openAfterCrash(t *testing.T, db string) *store.Store {
	t.Helper()
	return openReadOnly(t, db)
}

// backupsWhole checks that every file under a backup name reads back whole.
func backupsWhole(t *testing.T, db string) {
	t.Helper()
	for _, b := range store.Backups(db) {
		if err := store.VerifyFile(b); err != nil {
			t.Fatalf("%s is a backup name over a partial or damaged file: %v", filepath.Base(b), err)
		}
	}
}

// noClearText fails when any file beside the store holds one of the
// passwords as it was typed.
func noClearText(t *testing.T, dir string, passwords map[string]string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		for _, pw := range passwords {
			if bytes.Contains(data, []byte(pw)) {
				t.Fatalf("%s holds a legacy password in clear text", e.Name())
			}
		}
	}
}

// killOffsets are crashKills moments to kill at: random within span, and
// every other one negative, meaning up to 2 ms after the file the run is
// aimed at appears (killWhen).
func killOffsets(span time.Duration) []time.Duration {
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	out := make([]time.Duration, crashKills)
	for i := range out {
		out[i] = time.Duration(rng.Int63n(int64(span)))
		if i%2 == 1 {
			out[i] = -time.Duration(rng.Int63n(int64(2 * time.Millisecond)))
		}
	}
	return out
}

// afterKill checks what every kill must leave: whole backups and no
// password in clear text.
func afterKill(t *testing.T, dir, db string, passwords map[string]string) {
	t.Helper()
	backupsWhole(t, db)
	noClearText(t, dir, passwords)
}

// hasFile tells whether dir holds a file whose name ends in one of suffixes
// other than the store's own key file.
func hasFile(dir string, suffixes ...string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		for _, s := range suffixes {
			if strings.HasSuffix(e.Name(), s) && e.Name() != "mailoauth.db.key" {
				return true
			}
		}
	}
	return false
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// crashBase makes a store with a profile (and, with cred, a service-account
// key) and n mailboxes, so that a backup of it takes a while.
func crashBase(t *testing.T, n int, cred []byte) string {
	t.Helper()
	t.Setenv(store.KeyEnv, "")
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SaveProfile(core.Profile{Domain: "example.test", DefaultSender: "admin@example.test", Credential: cred}, "test"); err != nil {
		t.Fatal(err)
	}
	var ms []core.Mailbox
	for i := 0; i < n; i++ {
		ms = append(ms, core.Mailbox{Email: fmt.Sprintf("filler%d@example.test", i), DisplayName: fmt.Sprintf("Filler %d", i), OwnerKind: core.OwnerUser, OwnerName: "x"})
	}
	if err := st.PutMailboxes("example.test", ms, "test"); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestKilledImportIsAllOrNothing(t *testing.T) {
	db := crashBase(t, 0, nil)
	const batch = 5000
	csv := func(i int) string {
		var b strings.Builder
		b.WriteString("email,display_name,owner_kind,owner_name\n")
		for j := 0; j < batch; j++ {
			fmt.Fprintf(&b, "b%du%d@example.test,User %d,user,Agent %d\n", i, j, j, j)
		}
		p := filepath.Join(t.TempDir(), fmt.Sprintf("batch%d.csv", i))
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	span := timed(t, "--db", db, "mailbox", "import", csv(0))
	committed, cut := 1, 0
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for i := 1; i <= crashKills; i++ {
		_, ok := killAt(t, time.Duration(rng.Int63n(int64(span))), "--db", db, "mailbox", "import", csv(i))
		if !ok {
			cut++
		}
		st := openAfterCrash(t, db)
		n, err := st.MailboxCount("example.test")
		st.Close()
		if err != nil {
			t.Fatalf("kill %d: counting the mailboxes: %v", i, err)
		}
		// Before this run the store held committed batches; after it, the
		// same or one more (always one more when it ended by itself).
		if n != committed*batch && n != (committed+1)*batch || ok && n != (committed+1)*batch {
			t.Fatalf("kill %d: %d mailboxes where %d batches of %d were in the store before (finished: %v): an import was cut in half", i, n, committed, batch, ok)
		}
		committed = n / batch
	}
	landed(t, cut)
}

// landed fails a crash test none of whose kills cut a run short: it would
// have proved nothing.
func landed(t *testing.T, cut int) {
	t.Helper()
	if cut == 0 {
		t.Fatalf("none of the %d kills landed before the run ended", crashKills)
	}
	t.Logf("%d of %d runs were cut short by the kill", cut, crashKills)
}

func TestKilledUpgradeKeepsStoreBackupsAndPasswords(t *testing.T) {
	base := crashBase(t, 10000, nil)
	legacy, passwords := writeLegacy(t, t.TempDir(), 50)
	cut := 0
	run := func(d time.Duration) (string, string, bool) {
		dir := t.TempDir()
		db := filepath.Join(dir, "mailoauth.db")
		copyFile(t, base, db)
		copyFile(t, base+".key", db+".key")
		var out string
		if d < 0 { // aimed at the backup's copy
			out, _ = killWhen(t, func() bool { return hasFile(dir, ".bak", ".partial") }, -d, "--db", db, "upgrade", "--yes", "--legacy", legacy)
		} else {
			out, _ = killAt(t, d, "--db", db, "upgrade", "--yes", "--legacy", legacy)
		}
		if !strings.Contains(out, "waiting for OAuth") {
			cut++
		}
		return dir, db, strings.Contains(out, "waiting for OAuth")
	}
	start := time.Now()
	run(30 * time.Second) // it stops at the missing credentials, after the backup and the import
	span := time.Since(start)
	cut = 0
	for i, d := range killOffsets(span) {
		dir, db, imported := run(d)
		afterKill(t, dir, db, passwords)
		st := openAfterCrash(t, db)
		pending, err := st.PendingUpgrades("example.test")
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		switch {
		case len(pending) == 0 && !imported:
		case len(pending) == len(passwords):
			for email, pw := range passwords {
				if _, got, ok, err := st.PendingLogin("example.test", email); err != nil || !ok || got != pw {
					t.Fatalf("kill %d: the password of %s was lost: %q %v %v", i, email, got, ok, err)
				}
			}
		default:
			t.Fatalf("kill %d: %d of %d legacy passwords in the store (the output said imported: %v)", i, len(pending), len(passwords), imported)
		}
		st.Close()
	}
	landed(t, cut)
}

func TestKilledBackupSealingLosesNoPassword(t *testing.T) {
	base := crashBase(t, 10000, serviceAccountFixture(t))
	// A legacy setup imported, backed up, then every mailbox switched: the
	// backup holds the 50 passwords, the store none.
	passwords := map[string]string{}
	plan := core.UpgradePlan{Domain: "example.test"}
	for i := 1; i <= 50; i++ {
		email := fmt.Sprintf("user%d@example.test", i)
		passwords[email] = fmt.Sprintf("Legacy-Crash-%02d-z8Kp", i)
		plan.Passwords = append(plan.Passwords, core.PendingPassword{Mailbox: email, Username: email, Password: passwords[email]})
	}
	st, err := store.Open(base, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ImportLegacy(plan, "test"); err != nil {
		t.Fatal(err)
	}
	bak, err := st.TakeBackup()
	if err != nil {
		t.Fatal(err)
	}
	bakAt := filepath.Join(t.TempDir(), "bak")
	copyFile(t, bak, bakAt)
	os.Remove(bak)
	for email := range passwords {
		if err := st.CompleteUpgrade("example.test", email, "test"); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	stamp := filepath.Base(base) + ".20260101T000000.000Z.bak"
	cut := 0
	run := func(d time.Duration) (dir, db, out string) {
		dir = t.TempDir()
		db = filepath.Join(dir, "mailoauth.db")
		copyFile(t, base, db)
		copyFile(t, base+".key", db+".key")
		copyFile(t, bakAt, filepath.Join(dir, stamp))
		var ok bool
		if d < 0 { // aimed at the rewriting of the backup
			out, ok = killWhen(t, func() bool { return hasFile(dir, ".partial", ".key") }, -d, "--db", db, "upgrade", "--yes")
		} else {
			out, ok = killAt(t, d, "--db", db, "upgrade", "--yes")
		}
		if !ok {
			cut++
		}
		return dir, db, out
	}
	start := time.Now()
	if _, _, out := run(30 * time.Second); !strings.Contains(out, "sealed under its own key") {
		t.Fatalf("the unkilled run did not seal the backup:\n%s", out)
	}
	span := time.Since(start)
	cut = 0
	for i, d := range killOffsets(span) {
		dir, db, out := run(d)
		afterKill(t, dir, db, passwords)
		openAfterCrash(t, db).Close()
		bak := filepath.Join(dir, stamp)
		storeKey, err := store.Open(bak, store.Options{ReadOnly: true, KeyPath: db + ".key"})
		if err == nil {
			if strings.Contains(out, "sealed under its own key") {
				t.Fatalf("kill %d: the output says the backup is sealed under its own key, yet the store's key opens it", i)
			}
			wantPasswords(t, storeKey, passwords)
			storeKey.Close()
			continue
		}
		if !errors.Is(err, store.ErrWrongKey) {
			t.Fatalf("kill %d: the backup does not open: %v", i, err)
		}
		own, err := store.Open(bak, store.Options{ReadOnly: true, KeyPath: bak + ".key"})
		if err != nil {
			t.Fatalf("kill %d: neither the store's key nor its own opens the backup: %v", i, err)
		}
		wantPasswords(t, own, passwords)
		own.Close()
	}
	landed(t, cut)
}

func wantPasswords(t *testing.T, st *store.Store, passwords map[string]string) {
	t.Helper()
	for email, pw := range passwords {
		if _, got, ok, err := st.PendingLogin("example.test", email); err != nil || !ok || got != pw {
			t.Fatalf("the backup lost the password of %s: %q %v %v", email, got, ok, err)
		}
	}
}

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

// TestKilledRunLosesNoReportedToken: a bulk run saves its minted tokens
// in batches, in the background, yet every mailbox whose result it printed
// has its token on disk: `test --all --fresh` killed with SIGKILL the
// moment its first result line appears leaves, for each line it printed,
// the token minted in that run in the store.
func TestKilledRunLosesNoReportedToken(t *testing.T) {
	_, db := bulkSandbox(t, 30)
	for round := range 3 {
		started := time.Now()
		printed := killAfterFirstLine(t, db, "test", "--all", "--fresh", "--json", "--checks", "token")
		if len(printed) == 0 {
			t.Fatalf("round %d: no result line before the kill", round)
		}
		st := openReadOnly(t, db)
		cache := st.TokenCache("example.test")
		for _, l := range printed {
			tok, ok, err := cache.LoadToken(l.Mailbox, []string{core.ScopeMail})
			// A token minted in this run expires at least its lifetime (the
			// sandbox's, as Google's: 3599 s) after the run started; one
			// from an earlier round or the setup, earlier.
			if err != nil || !ok || tok.Expiry.Before(started.Add(3599*time.Second)) {
				st.Close()
				t.Fatalf("round %d: %s was printed (%d lines before the kill) but its token of this run is not in the store: %v %v, expiry %v",
					round, l.Mailbox, len(printed), ok, err, tok.Expiry)
			}
		}
		st.Close()
	}
}

// bulkSandbox starts a sandbox of n users delegated to its service
// account and a store set up for it with the n users imported as
// mailboxes (user1@example.test ...); it returns the sandbox and the
// store's path.
func bulkSandbox(t *testing.T, n int) (*sandboxProcess, string) {
	t.Helper()
	sb := startSandbox(t, n)
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	setupStore(t, db, sb.dir, "--key")
	var csv strings.Builder
	csv.WriteString("email,display_name,owner_kind,owner_name\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&csv, "user%d@example.test,User %d,user,Owner %d\n", i, i, i)
	}
	if r := mailoauth(t, db, "mailbox", "import", writeTemp(t, "boxes.csv", csv.String())); r.code != 0 {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	return sb, db
}

// killAfterFirstLine runs mailoauth with --db db and args, kills it with
// SIGKILL as soon as it has printed a whole result line, and returns the
// result lines it printed (those after the first included).
func killAfterFirstLine(t *testing.T, db string, args ...string) []jsonLine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // hang guard
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--db", db}, args...)...)
	cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=")
	stdout := startPiped(t, cmd, nil)
	sc := bufio.NewScanner(stdout)
	var lines []jsonLine
	for sc.Scan() {
		if len(lines) == 0 {
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
		var l jsonLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON line: %q (%v)", sc.Text(), err)
		}
		if l.Summary == nil {
			if !l.OK {
				t.Fatalf("%s failed: %+v", l.Mailbox, l.Finding)
			}
			lines = append(lines, l)
		}
	}
	_ = cmd.Wait()
	return lines
}

// schema2History turns the store at db (schema 3, profile example.test
// holding filler0..filler<n-1>) into a schema-2 store whose mailboxes have
// runs runs of the four checks each, in the layout schema 2 wrote them: a
// bucket per mailbox under domains/example.test/history, a key "e" CHECK
// 0x00 TIME per entry (JSON) and "n" CHECK counts.
func schema2History(t *testing.T, db string, n, runs int, t0 time.Time) {
	t.Helper()
	bdb, err := bolt.Open(db, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	checks := []string{"token", "imap", "smtp", "roundtrip"}
	if err := bdb.Update(func(tx *bolt.Tx) error {
		d := tx.Bucket([]byte("domains")).Bucket([]byte("example.test"))
		for _, name := range []string{"history.open", "history.sealed"} {
			if d.Bucket([]byte(name)) != nil {
				if err := d.DeleteBucket([]byte(name)); err != nil {
					return err
				}
			}
		}
		hb, err := d.CreateBucket([]byte("history"))
		if err != nil {
			return err
		}
		for i := range n {
			mb, err := hb.CreateBucket(fmt.Appendf(nil, "filler%d@example.test", i))
			if err != nil {
				return err
			}
			for _, c := range checks {
				for r := range runs {
					at := t0.Add(time.Duration(r) * 15 * time.Minute).UnixNano()
					key := endian.BigEndian.AppendUint64([]byte("e"+c+"\x00"), uint64(at))
					if err := mb.Put(key, fmt.Appendf(nil, `{"t":%d,"ok":true,"ms":%d}`, at, r)); err != nil {
						return err
					}
				}
				if err := mb.Put([]byte("n"+c), endian.BigEndian.AppendUint64(nil, uint64(runs))); err != nil {
					return err
				}
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), endian.BigEndian.AppendUint64(nil, 2))
	}); err != nil {
		t.Fatal(err)
	}
}

// TestKilledHistoryMigrationKeepsEveryEntry: the first command after an
// upgrade of mailoauth migrates a schema-2 store's history (backup, then
// one transaction); killed at any point of it, the store opens afterwards
// with every entry of every mailbox, and no backup name holds a partial
// file.
func TestKilledHistoryMigrationKeepsEveryEntry(t *testing.T) {
	const mailboxes, runs = 1000, 12
	base := crashBase(t, mailboxes, nil)
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	schema2History(t, base, mailboxes, runs, t0)
	copyBase := func() (string, string) {
		dir := t.TempDir()
		db := filepath.Join(dir, "mailoauth.db")
		copyFile(t, base, db)
		copyFile(t, base+".key", db+".key")
		return dir, db
	}
	_, db := copyBase()
	span := timed(t, "--db", db, "history", "filler7@example.test")
	t.Logf("an unkilled migration and history took %v", span)
	cut := 0
	for i, d := range killOffsets(span) {
		dir, db := copyBase()
		var ok bool
		if d < 0 { // aimed at the backup's copy
			_, ok = killWhen(t, func() bool { return hasFile(dir, ".bak", ".partial") }, -d, "--db", db, "history", "filler7@example.test")
		} else {
			_, ok = killAt(t, d, "--db", db, "history", "filler7@example.test")
		}
		if !ok {
			cut++
		}
		backupsWhole(t, db)
		st, err := store.Open(db, store.Options{}) // migrates what the kill left at schema 2
		if err != nil {
			t.Fatalf("kill %d: the store does not open: %v", i, err)
		}
		es, err := st.History("example.test", "", time.Time{})
		st.Close()
		if err != nil || len(es) != mailboxes*runs*4 {
			t.Fatalf("kill %d: %d history entries, want %d: %v", i, len(es), mailboxes*runs*4, err)
		}
		last := es[len(es)-1]
		if last.Time.Before(t0) || last.Duration != time.Duration(runs-1)*time.Millisecond || !last.OK {
			t.Fatalf("kill %d: the last entry read back is %+v", i, last)
		}
	}
	landed(t, cut)
}
