package store

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store/storetest"
)

// copyFixture copies the schema-1 database and its key file, written by the
// schema-1 code, into a temporary directory.
func copyFixture(t *testing.T) string {
	t.Helper()
	return copyFixtureOf(t, "schema1.db")
}

// copyFixtureOf copies testdata/name and its key file into a temporary
// directory.
func copyFixtureOf(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{name, name + ".key"} {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, name)
}

func TestOlderSchemaOpensAfterMigrationWithNothingLost(t *testing.T) {
	t.Parallel()
	path := copyFixture(t)
	s := openStore(t, path, Options{Backup: true})
	if s.SchemaVersion() != schemaVersion {
		t.Errorf("schema %d after opening, want %d", s.SchemaVersion(), schemaVersion)
	}
	if _, err := os.Stat(path + ".schema1.bak"); err != nil {
		t.Errorf("no backup of the schema-1 file before migrating: %v", err)
	}
	if s.BackupPath() == "" || !strings.HasSuffix(s.BackupPath(), ".bak") {
		t.Errorf("no timestamped backup: %q", s.BackupPath())
	}
	ps, err := s.ListProfiles()
	if err != nil || len(ps) != 2 {
		t.Fatalf("profiles after migration: %d, %v", len(ps), err)
	}
	for _, p := range ps {
		d := p.Domain
		if p.DefaultSender != "admin@"+d || p.P12Password != "fixture-p12-secret" || p.P12ClientID != "101010101010101010101" ||
			!bytes.Contains(p.Credential, []byte("fixture@proj.iam.gserviceaccount.com")) || p.WizardStep != 6 ||
			!reflect.DeepEqual(p.Scopes, []string{core.ScopeMail, core.ScopeCalendar}) || p.Endpoints.IMAP != "127.0.0.1:10993" {
			t.Errorf("profile %s changed by the migration: %+v", d, p)
		}
		wantRevision(t, s, d, 1)
		ms, _ := s.Mailboxes(d)
		want := 3
		if d == "second.example" {
			want = 2
		}
		if len(ms) != want || ms[0].OwnerKind != core.OwnerWorkgroup || ms[0].DisplayName != "User 1" {
			t.Errorf("mailboxes of %s after migration: %+v", d, ms)
		}
		tok, ok, err := s.TokenCache(d).LoadToken("user1@"+d, []string{core.ScopeMail})
		if err != nil || !ok || tok.AccessToken != "ya29.fixture-access-token" || !tok.Expiry.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("token of %s after migration: %+v %v %v", d, tok, ok, err)
		}
		rs, err := s.Results(d)
		if r, ok := rs["user2@"+d]; err != nil || !ok || !r.OK || r.Checks[0].Detail != "fixture" {
			t.Errorf("results of %s after migration: %+v %v", d, rs, err)
		}
		if pend, err := s.PendingUpgrades(d); err != nil || len(pend) != 0 {
			t.Errorf("pending upgrades of a migrated profile: %v %v", pend, err)
		}
	}
	audit, err := s.Audit("", 0)
	if err != nil || len(audit) != 5 || audit[0].Actor != "fixture bob@host" || audit[0].Action != "mailbox.remove" {
		t.Errorf("audit log after migration: %d entries %+v %v", len(audit), audit, err)
	}
	// The new layout works on the migrated file.
	plan := core.UpgradePlan{Domain: "example.test", Passwords: []core.PendingPassword{{Mailbox: "user3@example.test", Username: "u3", Password: "pw"}}}
	if err := s.ImportLegacy(plan, actor); err != nil {
		t.Fatal(err)
	}
	if pend, _ := s.PendingUpgrades("example.test"); !reflect.DeepEqual(pend, []string{"user3@example.test"}) {
		t.Errorf("pending after import: %v", pend)
	}
}

func TestLegacyPasswordsSealedAndErased(t *testing.T) {
	t.Parallel()
	s, path := newStore(t)
	const pw = "Legacy-Password-3141592653"
	plan := core.UpgradePlan{Domain: "example.com",
		Profile: &core.Profile{Domain: "example.com", DefaultSender: "admin@example.com", Scopes: []string{core.ScopeMail}},
		Add:     []core.Mailbox{{Email: "a@example.com"}, {Email: "b@example.com"}},
		Passwords: []core.PendingPassword{{Mailbox: "a@example.com", Username: "a", Password: pw},
			{Mailbox: "b@example.com", Username: "b", Password: pw + "b"}}}
	if err := s.ImportLegacy(plan, actor); err != nil {
		t.Fatal(err)
	}
	if u, p, ok, err := s.PendingLogin("example.com", "a@example.com"); err != nil || !ok || u != "a" || p != pw {
		t.Errorf("pending login: %q %q %v %v", u, p, ok, err)
	}
	storetest.NoneInFile(t, path, pw)
	// Importing the same plan again with a profile is a conflict, not an overwrite.
	if err := s.ImportLegacy(plan, actor); err == nil {
		t.Error("a second profile creation was accepted")
	}
	if err := s.CompleteUpgrade("example.com", "a@example.com", "upgrade test"); err != nil {
		t.Fatal(err)
	}
	if pend, _ := s.PendingUpgrades("example.com"); !reflect.DeepEqual(pend, []string{"b@example.com"}) {
		t.Errorf("pending after completing a: %v", pend)
	}
	if _, _, ok, _ := s.PendingLogin("example.com", "a@example.com"); ok {
		t.Error("the password of an upgraded mailbox is still there")
	}
	if e, _ := s.Audit("example.com", 1); len(e) != 1 || e[0].Action != "mailbox.upgrade" || strings.Contains(e[0].Detail, pw) {
		t.Errorf("audit of the upgrade: %+v", e)
	}
	if err := s.DeleteMailbox("example.com", "b@example.com", actor); err != nil {
		t.Fatal(err)
	}
	if pend, _ := s.PendingUpgrades("example.com"); len(pend) != 0 {
		t.Errorf("a removed mailbox is still pending: %v", pend)
	}
}

func TestBackupOptionWritesTimestampedCopy(t *testing.T) {
	t.Parallel()
	s, path := newStore(t)
	mustSaveProfile(t, s, "example.com")
	_ = s.Close()
	s2 := openStore(t, path, Options{Backup: true})
	bak := s2.BackupPath()
	if filepath.Dir(bak) != filepath.Dir(path) || !strings.HasPrefix(filepath.Base(bak), filepath.Base(path)+".") {
		t.Fatalf("backup %q is not beside %q", bak, path)
	}
	f, err := os.Open(bak)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v", fi.Mode().Perm())
	}
	head := make([]byte, 64)
	if _, err := io.ReadFull(f, head); err != nil {
		t.Fatal(err)
	}
}

// A backup holds every profile's passwords, so finishing one profile while
// another is still pending must neither claim the store holds no legacy
// password nor seal the backups yet; finishing the last one does both.
func TestBackupsStayUnsealedWhileAnotherProfileIsPending(t *testing.T) {
	t.Parallel()
	s, path := newStore(t)
	for _, domain := range []string{"one.example", "two.example"} {
		box := "a@" + domain // one mailbox each, still on its legacy password
		if err := s.ImportLegacy(core.UpgradePlan{Domain: domain,
			Profile:   &core.Profile{Domain: domain, DefaultSender: "admin@" + domain, Scopes: []string{core.ScopeMail}},
			Add:       []core.Mailbox{{Email: box}},
			Passwords: []core.PendingPassword{{Mailbox: box, Username: "a", Password: "Legacy-" + domain}}}, actor); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	s = openStore(t, path, Options{Backup: true}) // the backup holds both passwords
	if err := s.CompleteUpgrade("one.example", "a@one.example", actor); err != nil {
		t.Fatal(err)
	}

	bs, done, err := s.PasswordBackupsAfterSwitch("one.example")
	if err != nil || done || len(bs) != 1 {
		t.Fatalf("with two.example pending: %d backup(s), done %v, %v; want 1, not done", len(bs), done, err)
	}
	if bs[0].OwnKey != "" {
		t.Errorf("the backup was sealed under its own key while two.example is pending: %+v", bs[0])
	}
	if note := core.PasswordBackupsReport(bs, done); strings.Contains(note, "no legacy password any more") {
		t.Errorf("note while two.example is pending: %q", note)
	}

	if err := s.CompleteUpgrade("two.example", "a@two.example", actor); err != nil {
		t.Fatal(err)
	}
	bs, done, err = s.PasswordBackupsAfterSwitch("two.example")
	if err != nil || !done || len(bs) != 1 || bs[0].OwnKey == "" {
		t.Fatalf("with no profile pending: %+v, done %v, %v; want 1 backup sealed under its own key", bs, done, err)
	}
	if note := core.PasswordBackupsReport(bs, done); !strings.Contains(note, "no legacy password any more") {
		t.Errorf("note with no profile pending: %q", note)
	}
}
