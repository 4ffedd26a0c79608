package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/coretest"
)

const (
	testPEM      = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7secretkeymaterial\n-----END PRIVATE KEY-----\n"
	testPassword = "notasecret-p12-pass-7731"
	testToken    = "ya29.a0AfH6SMBxTestAccessTokenValue0123456789"
	actor        = "test alice@host"
)

func testCredential() []byte {
	return []byte(`{"type":"service_account","client_email":"sa@proj.iam.gserviceaccount.com","private_key":` +
		fmt.Sprintf("%q", testPEM) + `}`)
}

func testProfile(domain string) core.Profile {
	return core.Profile{
		Domain:         domain,
		DefaultSender:  "admin@" + domain,
		Credential:     testCredential(),
		P12Password:    testPassword,
		P12ClientEmail: "sa@proj.iam.gserviceaccount.com",
		P12ClientID:    "1234567890",
		Endpoints:      core.Endpoints{IMAP: "127.0.0.1:993", TokenURL: "http://127.0.0.1/token"},
		Scopes:         []string{core.ScopeMail},
		WizardStep:     4,
	}
}

// TestMain clears MAILOAUTH_KEY: the stores of the tests keep their key
// in the key file beside them, unless a test sets the variable itself.
func TestMain(m *testing.M) {
	os.Unsetenv(KeyEnv)
	os.Exit(m.Run())
}

func newStore(t testing.TB) (*Store, string) {
	t.Helper()
	return newStoreWith(t, Options{})
}

func newStoreWith(t testing.TB, opts Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "mailoauth.db")
	return openStore(t, path, opts), path
}

// openStore opens the store at path, which closes when the test ends.
func openStore(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// wantMailboxes checks that s holds n mailboxes of domain.
func wantMailboxes(t testing.TB, s *Store, domain string, n int) {
	t.Helper()
	if got, err := s.MailboxCount(domain); err != nil || got != n {
		t.Errorf("%s holds %d mailbox(es), %v; want %d", domain, got, err, n)
	}
}

// wantRevision checks that domain's profile is at revision rev.
func wantRevision(t testing.TB, s *Store, domain string, rev int64) {
	t.Helper()
	if got, err := s.ProfileRevision(domain); err != nil || got != rev {
		t.Errorf("%s's profile is at revision %d, %v; want %d", domain, got, err, rev)
	}
}

// atOnce runs n goroutines at once, each rounds times work(i, j, mb) for
// goroutine i, round j and the mailbox u<i>@example.com; the first error
// of a goroutine ends it and fails the test.
func atOnce(t *testing.T, n, rounds int, work func(i, j int, mb string) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mb := fmt.Sprintf("u%d@example.com", i)
			for j := range rounds {
				if err := work(i, j, mb); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// storeWithProfile is a new store holding testProfile(domain), and the
// profile.
func storeWithProfile(t testing.TB, domain string) (*Store, core.Profile) {
	t.Helper()
	s, _ := newStore(t)
	return s, mustSaveProfile(t, s, domain)
}

func mustSaveProfile(t testing.TB, s *Store, domain string) core.Profile {
	t.Helper()
	p := testProfile(domain)
	if err := s.SaveProfile(p, actor); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustPutMailbox(t testing.TB, s *Store, domain string, m core.Mailbox) {
	t.Helper()
	if err := s.PutMailbox(domain, m, actor); err != nil {
		t.Fatal(err)
	}
}

func TestProfileRoundTrip(t *testing.T) {
	t.Parallel()
	s, want := storeWithProfile(t, "Example.COM")
	mustSaveProfile(t, s, "b.example")

	got, err := s.Profile("example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.Updated.IsZero() || time.Since(got.Updated) > time.Minute {
		t.Errorf("Updated = %v, want now", got.Updated)
	}
	// The store keeps the credential's kind in the clear beside it.
	want.Domain, want.Updated, want.CredentialKind = "example.com", got.Updated, core.KindServiceAccount
	want.CredentialLoaded = got.Updated // a new credential is dated by its first save
	if !reflect.DeepEqual(got, want) {
		t.Errorf("profile round trip:\n got %+v\nwant %+v", got, want)
	}
	list, err := s.ListProfiles()
	if err != nil {
		t.Fatal(err)
	}
	var domains []string
	for _, p := range list {
		domains = append(domains, p.Domain)
	}
	if !slices.Equal(domains, []string{"b.example", "example.com"}) {
		t.Errorf("ListProfiles domains = %v", domains)
	}
	wantRevision(t, s, "example.com", 1)

	// Clearing a secret removes it.
	want.P12Password = ""
	if err := s.SaveProfile(want, actor); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Profile("example.com")
	if got.P12Password != "" || !bytes.Equal(got.Credential, want.Credential) {
		t.Errorf("after clearing the password: %q / %q", got.P12Password, got.Credential)
	}
	wantRevision(t, s, "example.com", 2)

	_, err = s.Profile("nope.example")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "b.example, example.com") {
		t.Errorf("missing profile error = %v; want ErrNotFound listing the known domains", err)
	}
}

func TestEmptyStoreNotFound(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	_, err := s.Profile("x.example")
	// The sentence names the domain to set up but no command: the command
	// line adds its own (cmd/mailoauth's TestStoreErrorsWithTheirCommands).
	var pe *ProfileError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &pe) || pe.Domain != "x.example" || len(pe.Known) != 0 ||
		!strings.Contains(err.Error(), "set one up for x.example") || strings.Contains(err.Error(), "mailoauth ") {
		t.Errorf("err = %v", err)
	}
	if _, err := s.Mailboxes("x.example"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Mailboxes of a missing profile: %v", err)
	}
	if list, err := s.ListProfiles(); err != nil || len(list) != 0 {
		t.Errorf("ListProfiles = %v, %v", list, err)
	}
}

func TestMailboxes(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "example.com")
	mustPutMailbox(t, s, "example.com", core.Mailbox{Email: "Zed@Example.com", OwnerKind: "ACD", OwnerName: "Sales"})
	if err := s.PutMailboxes("example.com", []core.Mailbox{
		{Email: "bob@example.com", DisplayName: "Bob"},
		{Email: "alice@example.com", DisplayName: "Alice", OwnerKind: core.OwnerWorkgroup, OwnerName: "Support"},
	}, actor); err != nil {
		t.Fatal(err)
	}
	got, err := s.Mailboxes("example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := []core.Mailbox{
		{Email: "alice@example.com", DisplayName: "Alice", OwnerKind: core.OwnerWorkgroup, OwnerName: "Support"},
		{Email: "bob@example.com", DisplayName: "Bob", OwnerKind: core.OwnerUser},
		{Email: "zed@example.com", DisplayName: "zed@example.com", OwnerKind: core.OwnerACD, OwnerName: "Sales"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Mailboxes:\n got %+v\nwant %+v", got, want)
	}
	wantMailboxes(t, s, "example.com", 3)
	if err := s.PutMailbox("example.com", core.Mailbox{Email: "eve@other.example"}, actor); err == nil {
		t.Error("a mailbox outside the domain was accepted")
	}
	if err := s.DeleteMailbox("example.com", "BOB@example.com", actor); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMailbox("example.com", "bob@example.com", actor); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	wantMailboxes(t, s, "example.com", 2)
	if err := s.PutMailboxes("example.com", []core.Mailbox{{Email: "x@example.com"}, {Email: "X@example.com"}}, actor); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate import: %v", err)
	}
	if err := s.PutMailbox("none.example", core.Mailbox{Email: "a@none.example"}, actor); !errors.Is(err, ErrNotFound) {
		t.Errorf("mailbox for a missing profile: %v", err)
	}
}

func TestImportAtomic(t *testing.T) {
	t.Parallel()
	// A failure half-way through the writes, at the 701st mailbox.
	failing := true
	s, _ := newStoreWith(t, Options{afterImportRow: func(i int) error {
		if failing && i == 700 {
			return errors.New("disk full")
		}
		return nil
	}})
	mustSaveProfile(t, s, "example.com")
	var ms []core.Mailbox
	for i := range 1000 {
		ms = append(ms, core.Mailbox{Email: fmt.Sprintf("user%04d@example.com", i)})
	}

	// A bad row: nothing is saved, and the error says which one.
	bad := slices.Clone(ms)
	bad[500].Email = "not an address"
	err := s.PutMailboxes("example.com", bad, actor)
	if err == nil || !strings.Contains(err.Error(), "mailbox 501 of 1000") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Errorf("bad import error = %v", err)
	}

	// A failure half-way through the writes: the transaction rolls back.
	err = s.PutMailboxes("example.com", ms, actor)
	failing = false
	if err == nil {
		t.Fatal("the failing import succeeded")
	}
	wantMailboxes(t, s, "example.com", 0)
	entries, _ := s.Audit("example.com", 0)
	for _, e := range entries {
		if e.Action == "mailbox.import" {
			t.Errorf("a failed import was audited: %+v", e)
		}
	}

	if err := s.PutMailboxes("example.com", ms, actor); err != nil {
		t.Fatal(err)
	}
	wantMailboxes(t, s, "example.com", 1000)
}

func TestResults(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "example.com")
	now := time.Now().UTC().Truncate(time.Millisecond)
	r1 := core.MailboxResult{Mailbox: "a@example.com", OK: true, CheckedAt: now,
		Checks: []core.CheckResult{{Name: core.CheckToken, OK: true, Duration: 40 * time.Millisecond, Detail: "minted"}}}
	r2 := core.MailboxResult{Mailbox: "b@example.com", OK: false, CheckedAt: now,
		Checks:  []core.CheckResult{{Name: core.CheckToken, OK: false}},
		Finding: core.NewFinding(core.CodeDelegationNotAuthorized, "not authorized.", "authorize it."),
		Notes:   []string{"note"}}
	if err := s.SaveResult("example.com", r1); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveResults("example.com", []core.MailboxResult{r2}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Results("example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]core.MailboxResult{"a@example.com": r1, "b@example.com": r2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Results:\n got %+v\nwant %+v", got, want)
	}
	// The last result wins.
	r1.OK = false
	_ = s.SaveResult("example.com", r1)
	got, _ = s.Results("example.com")
	if got["a@example.com"].OK {
		t.Error("the older result was kept")
	}
}

func TestDeleteProfileCascades(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "example.com")
	mustSaveProfile(t, s, "keep.example")
	_ = s.PutMailbox("example.com", core.Mailbox{Email: "a@example.com"}, actor)
	_ = s.PutMailbox("keep.example", core.Mailbox{Email: "a@keep.example"}, actor)
	tok := core.Token{Mailbox: "a@example.com", Scopes: []string{core.ScopeMail}, AccessToken: testToken}
	_ = s.TokenCache("example.com").SaveToken(tok)
	_ = s.SaveResult("example.com", core.MailboxResult{Mailbox: "a@example.com", OK: true})

	if err := s.DeleteProfile("example.com", actor); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Profile("example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("profile after delete: %v", err)
	}
	// Recreate: nothing of the old one comes back.
	mustSaveProfile(t, s, "example.com")
	if ms, _ := s.Mailboxes("example.com"); len(ms) != 0 {
		t.Errorf("mailboxes survived: %v", ms)
	}
	if rs, _ := s.Results("example.com"); len(rs) != 0 {
		t.Errorf("results survived: %v", rs)
	}
	if _, ok, _ := s.TokenCache("example.com").LoadToken(tok.Mailbox, tok.Scopes); ok {
		t.Error("token survived")
	}
	wantRevision(t, s, "example.com", 1)
	wantMailboxes(t, s, "keep.example", 1)
	if err := s.DeleteProfile("example.com", actor); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProfile("example.com", actor); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestDeleteMailboxDropsTokenAndResult(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "example.com")
	for _, e := range []string{"a@example.com", "ab@example.com"} {
		_ = s.PutMailbox("example.com", core.Mailbox{Email: e}, actor)
		_ = s.SaveResult("example.com", core.MailboxResult{Mailbox: e, OK: true})
		for _, sc := range [][]string{{core.ScopeMail}, {core.ScopeGmailSend}} {
			_ = s.TokenCache("example.com").SaveToken(core.Token{Mailbox: e, Scopes: sc, AccessToken: "t"})
		}
	}
	if err := s.DeleteMailbox("example.com", "a@example.com", actor); err != nil {
		t.Fatal(err)
	}
	rs, _ := s.Results("example.com")
	if _, ok := rs["a@example.com"]; ok || len(rs) != 1 {
		t.Errorf("results after delete: %v", rs)
	}
	c := s.TokenCache("example.com")
	for _, sc := range [][]string{{core.ScopeMail}, {core.ScopeGmailSend}} {
		if _, ok, _ := c.LoadToken("a@example.com", sc); ok {
			t.Errorf("token %v of the removed mailbox survived", sc)
		}
		if _, ok, _ := c.LoadToken("ab@example.com", sc); !ok {
			t.Errorf("token %v of another mailbox was removed", sc)
		}
	}
}

func TestConflict(t *testing.T) {
	t.Parallel()
	s, p := storeWithProfile(t, "example.com")
	_, rev, err := s.ProfileWithRevision("example.com")
	if err != nil {
		t.Fatal(err)
	}
	// Someone else saves in between.
	other := p
	other.DefaultSender = "boss@example.com"
	if err := s.SaveProfileIfUnchanged(other, rev, "ssh bob (SHA256:abc)"); err != nil {
		t.Fatal(err)
	}
	p.WizardStep = 5
	err = s.SaveProfileIfUnchanged(p, rev, actor)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "ssh bob (SHA256:abc)") || !strings.Contains(err.Error(), "reload") {
		t.Errorf("conflict error = %v", err)
	}
	got, _ := s.Profile("example.com")
	if got.DefaultSender != "boss@example.com" || got.WizardStep != 4 {
		t.Errorf("the conflicting save changed the profile: %+v", got)
	}
	// Creating a profile that already exists with revision 0 conflicts too.
	if err := s.SaveProfileIfUnchanged(testProfile("example.com"), 0, actor); !errors.Is(err, ErrConflict) {
		t.Errorf("create over existing: %v", err)
	}
	if err := s.SaveProfileIfUnchanged(testProfile("new.example"), 0, actor); err != nil {
		t.Errorf("create new with revision 0: %v", err)
	}
	// The plain save just overwrites.
	if err := s.SaveProfile(p, actor); err != nil {
		t.Fatal(err)
	}
	wantRevision(t, s, "example.com", 3)
}

func TestAudit(t *testing.T) {
	t.Parallel()
	s, p := storeWithProfile(t, "example.com")
	mustSaveProfile(t, s, "other.example")
	p.DefaultSender = "x@example.com"
	_ = s.SaveProfile(p, "wizard root@box")
	_ = s.PutMailbox("example.com", core.Mailbox{Email: "a@example.com"}, "cli root@box")
	_ = s.PutMailbox("example.com", core.Mailbox{Email: "a@example.com", OwnerName: "Ann"}, "cli root@box")
	_ = s.PutMailboxes("example.com", []core.Mailbox{{Email: "a@example.com"}, {Email: "b@example.com"}}, "cli root@box")
	_ = s.DeleteMailbox("example.com", "b@example.com", "ssh alice (SHA256:xyz)")
	_ = s.DeleteProfile("example.com", "cli root@box")

	all, err := s.Audit("example.com", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range all {
		if e.Time.IsZero() || e.Domain != "example.com" {
			t.Errorf("entry %+v", e)
		}
		got = append(got, e.Action+"|"+e.Actor+"|"+e.Detail)
	}
	want := []string{
		"profile.delete|cli root@box|with 1 mailbox(es), their tokens and results",
		"mailbox.remove|ssh alice (SHA256:xyz)|b@example.com",
		"mailbox.import|cli root@box|2 mailbox(es): 1 new, 1 updated",
		"mailbox.update|cli root@box|a@example.com (user Ann)",
		"mailbox.add|cli root@box|a@example.com (user)",
		"profile.save|wizard root@box|revision 2: default sender x@example.com",
		"profile.save|" + actor + "|revision 1: created",
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit:\n got %q\nwant %q", got, want)
	}
	if two, _ := s.Audit("", 2); len(two) != 2 || two[0].Action != "profile.delete" {
		t.Errorf("Audit(\"\", 2) = %+v", two)
	}
	if every, _ := s.Audit("", 0); len(every) != len(want)+1 {
		t.Errorf("Audit of all domains has %d entries, want %d", len(every), len(want)+1)
	}
	// A secret change is named, never shown.
	_ = s.SaveProfile(p, actor)
	p.P12Password = "changed-" + testPassword
	_ = s.SaveProfile(p, actor)
	last, _ := s.Audit("example.com", 1)
	if len(last) != 1 || strings.Contains(last[0].Detail, testPassword) || !strings.Contains(last[0].Detail, "P12 password replaced") {
		t.Errorf("password change audit = %+v", last)
	}
}

func TestLocalActor(t *testing.T) {
	t.Parallel()
	a := LocalActor("cli")
	if !strings.HasPrefix(a, "cli ") || !strings.Contains(a, "@") {
		t.Errorf("LocalActor = %q", a)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("MAILOAUTH_DB", "/x/y.db")
	if p := DefaultPath(); p != "/x/y.db" {
		t.Errorf("with MAILOAUTH_DB: %q", p)
	}
	t.Setenv("MAILOAUTH_DB", "")
	t.Setenv("XDG_DATA_HOME", "/data")
	if p := DefaultPath(); p != "/data/mailoauth/mailoauth.db" {
		t.Errorf("with XDG_DATA_HOME: %q", p)
	}
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", "/home/u")
	if p := DefaultPath(); p != "/home/u/.local/share/mailoauth/mailoauth.db" {
		t.Errorf("default: %q", p)
	}
}

func TestBackup(t *testing.T) {
	t.Parallel()
	s, path := newStore(t)
	mustSaveProfile(t, s, "example.com")
	_ = s.PutMailbox("example.com", core.Mailbox{Email: "a@example.com"}, actor)
	var buf bytes.Buffer
	if err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	bak := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(bak, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	// The copy opens with the original key and holds the same data.
	b := openStore(t, bak, Options{KeyPath: path + ".key"})
	p, err := b.Profile("example.com")
	if err != nil || p.P12Password != testPassword {
		t.Errorf("backup profile: %+v, %v", p, err)
	}
	wantMailboxes(t, b, "example.com", 1)
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "none.db"), Options{ReadOnly: true}); !errors.Is(err, ErrNoStore) {
		t.Errorf("read-only open of a missing store: %v", err)
	}
	path := filepath.Join(dir, "m.db")
	s := openStore(t, path, Options{})
	mustSaveProfile(t, s, "example.com")
	_ = s.Close()
	r := openStore(t, path, Options{ReadOnly: true})
	if _, err := r.Profile("example.com"); err != nil {
		t.Error(err)
	}
	if err := r.PutMailbox("example.com", core.Mailbox{Email: "a@example.com"}, actor); !errors.Is(err, ErrReadOnly) {
		t.Errorf("write on a read-only store: %v", err)
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	_ = s.Close()
	if _, err := s.ListProfiles(); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("use after close: %v", err)
	}
}

func TestNotAStore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "junk.db")
	_ = os.WriteFile(path, bytes.Repeat([]byte("junk"), 4096), 0o600)
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "not a mailoauth store") {
		t.Errorf("junk file: %v", err)
	}
}

// TestHelperProcess is not a test: the tests below run the test binary again
// with it to use a store from another process, the way a long-running
// `mailoauth serve` or wizard does. It opens the store, saves a profile,
// says "ready" and then obeys lines on stdin:
//
//	mailboxes  print how many mailboxes example.com has (a read)
//	hold       start a write transaction, say "busy", and keep it open
//	           until the next line, then say "released"
//	burst      write without pause for three seconds (the wizard testing
//	           many mailboxes): say "bursting", then "done N <error>"
//
// End of input closes the store.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv("STORE_TEST_HOLD_DB")
	if path == "" {
		t.Skip("helper process only")
	}
	s, err := Open(path, Options{})
	if err == nil {
		err = s.SaveProfile(testProfile("example.com"), "helper")
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "mailboxes":
			n, err := s.MailboxCount("example.com")
			fmt.Println(n, err)
		case "hold":
			err := s.update(func(tx *bolt.Tx) error {
				fmt.Println("busy")
				in.Scan()
				return nil
			})
			fmt.Println("released", err)
		case "burst":
			var n int
			var err error
			for end := time.Now().Add(3 * time.Second); err == nil && time.Now().Before(end); n++ {
				err = s.SaveResult("example.com", core.MailboxResult{Mailbox: fmt.Sprintf("u%d@example.com", n%50), OK: true})
				if n == 0 {
					fmt.Println("bursting")
				}
			}
			fmt.Println("done", n, err)
		}
	}
	_ = s.Close()
	os.Exit(0)
}

// helperProcess starts TestHelperProcess on path and waits for "ready".
func helperProcess(t *testing.T, path string) (send func(line string), recv func() string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "STORE_TEST_HOLD_DB="+path)
	stdin, stdout := coretest.StartPiped(t, cmd)
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("helper process: %v", err)
			}
		case <-time.After(30 * time.Second): // a deadline for a hang, not a speed goal
			_ = cmd.Process.Kill()
			t.Errorf("the helper process did not close its store and exit")
		}
	})
	out := bufio.NewReader(stdout)
	recv = func() string {
		line, _ := out.ReadString('\n')
		return strings.TrimSpace(line)
	}
	send = func(line string) {
		if _, err := io.WriteString(stdin, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	if line := recv(); line != "ready" {
		t.Fatalf("helper process said %q", line)
	}
	return send, recv
}

func wantLocked(t *testing.T, what string, path string, start time.Time, err error) {
	t.Helper()
	took := time.Since(start)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("%s while another process is in a transaction: %v, want ErrLocked", what, err)
	}
	if took > 2*time.Second {
		t.Errorf("%s took %v to report the busy store, want under 2s", what, took)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "store is in use by another process (pid ") || !strings.Contains(msg, path) || !strings.Contains(msg, "retry") {
		t.Errorf("%s: message = %q", what, msg)
	}
	t.Logf("%s: locked after %v: %s", what, took, msg)
}

// TestIdleStoreUsableFromAnotherProcess: a store another mailoauth keeps
// open (serve, the wizard) but is not using does not lock anyone out, and
// both see each other's writes.
func TestIdleStoreUsableFromAnotherProcess(t *testing.T) {
	t.Setenv(KeyEnv, "")
	path := filepath.Join(t.TempDir(), "mailoauth.db")
	send, recv := helperProcess(t, path)

	start := time.Now()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open while another process keeps the store open, idle: %v", err)
	}
	defer s.Close()
	if p, err := s.Profile("example.com"); err != nil || p.P12Password != testPassword {
		t.Fatalf("read the other process's profile: %+v, %v", p, err)
	}
	if err := s.PutMailbox("example.com", core.Mailbox{Email: "a@example.com"}, actor); err != nil {
		t.Fatalf("write while another process keeps the store open, idle: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("open, read and write took %v, want under 2s", took)
	}
	r, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open beside two idle stores: %v", err)
	}
	wantMailboxes(t, r, "example.com", 1)
	_ = r.Close()

	// The other process takes the file back and sees the write.
	send("mailboxes")
	if got := recv(); got != "1 <nil>" {
		t.Errorf("the other process counts %q mailboxes, want 1", got)
	}
	// And this one after it.
	mustPutMailbox(t, s, "example.com", core.Mailbox{Email: "b@example.com"})
	send("mailboxes")
	if got := recv(); got != "2 <nil>" {
		t.Errorf("the other process counts %q mailboxes, want 2", got)
	}
}

// TestBusyStoreLockedForAnotherProcess: while another process is inside a
// transaction, opening the store, read-only too, and a call on a store
// opened before all fail with ErrLocked and its sentence within two
// seconds; once the transaction ends, they work.
func TestBusyStoreLockedForAnotherProcess(t *testing.T) {
	t.Setenv(KeyEnv, "")
	path := filepath.Join(t.TempDir(), "mailoauth.db")
	send, recv := helperProcess(t, path)

	early := openStore(t, path, Options{})
	send("hold")
	if got := recv(); got != "busy" {
		t.Fatalf("helper: %q", got)
	}

	start := time.Now()
	s, err := Open(path, Options{})
	if err == nil {
		_ = s.Close()
		t.Fatal("a second process opened a store that is in a transaction")
	}
	wantLocked(t, "Open", path, start, err)
	start = time.Now()
	_, err = Open(path, Options{ReadOnly: true})
	wantLocked(t, "read-only Open", path, start, err)
	start = time.Now()
	_, err = early.Profile("example.com")
	wantLocked(t, "a read on a store opened before", path, start, err)

	send("go")
	if got := recv(); got != "released <nil>" {
		t.Fatalf("helper: %q", got)
	}
	if p, err := early.Profile("example.com"); err != nil || p.DefaultSender != "admin@example.com" {
		t.Errorf("read once the transaction ended: %+v, %v", p, err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("open once the transaction ended: %v", err)
	}
	_ = s.Close()
}

// TestBurstYieldsToAnotherProcess: a store in continuous use (never idle)
// still lets another process in, and goes on once it is done.
func TestBurstYieldsToAnotherProcess(t *testing.T) {
	t.Setenv(KeyEnv, "")
	path := filepath.Join(t.TempDir(), "mailoauth.db")
	send, recv := helperProcess(t, path)
	send("burst")
	if got := recv(); got != "bursting" {
		t.Fatalf("helper: %q", got)
	}
	for i := range 2 {
		s, err := Open(path, Options{ReadOnly: i == 1})
		if err != nil {
			t.Fatalf("open %d while another process writes without pause: %v", i, err)
		}
		if p, err := s.Profile("example.com"); err != nil || p.DefaultSender != "admin@example.com" {
			t.Errorf("read while another process writes without pause: %+v, %v", p, err)
		}
		_ = s.Close()
	}
	got := recv()
	var n int
	if _, err := fmt.Sscanf(got, "done %d <nil>", &n); err != nil || n < 10 {
		t.Errorf("the writing process: %q", got)
	}
}

// released waits up to wait until no Store holds the file: bbolt's own
// lock, taken and let go.
func released(t *testing.T, path string, wait time.Duration) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: wait})
	if err != nil {
		t.Fatalf("the store was not released within %v: %v", wait, err)
	}
	_ = db.Close()
}

// TestStoreSharedInProcess: two Stores of one file in one process (each its
// own lock) take turns, each seeing the other's writes.
func TestStoreSharedInProcess(t *testing.T) {
	t.Parallel()
	s1, path := newStore(t)
	mustSaveProfile(t, s1, "example.com")
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("second open in the same process: %v", err)
	}
	defer s2.Close()
	mustPutMailbox(t, s2, "example.com", core.Mailbox{Email: "a@example.com"})
	wantMailboxes(t, s1, "example.com", 1)
	p := testProfile("example.com")
	p.DefaultSender = "boss@example.com"
	if err := s1.SaveProfileIfUnchanged(p, 1, actor); err != nil {
		t.Fatal(err)
	}
	// A revision loaded before the other store's save conflicts.
	if err := s2.SaveProfileIfUnchanged(testProfile("example.com"), 1, "ssh bob"); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), actor) {
		t.Errorf("stale save through the other store: %v", err)
	}
	if got, _ := s2.Profile("example.com"); got.DefaultSender != "boss@example.com" {
		t.Errorf("second store reads sender %q", got.DefaultSender)
	}
	// Close lets go at once, whatever the idle timer.
	_ = s1.Close()
	_ = s2.Close()
	released(t, path, 10*time.Millisecond)
}

// TestStoreChangedWhileReleased: a file removed or replaced by another
// store while released is not quietly used (nor recreated empty).
func TestStoreChangedWhileReleased(t *testing.T) {
	t.Parallel()
	s, path, err := removedWhileReleased(t, Options{})
	// The store names no program of its own (Options.Program is unset).
	want := "store " + path + " was removed while the program was using it; restore it from a backup, or restart the program to start a new one"
	if err == nil || err.Error() != want {
		t.Errorf("store removed: %v\nwant %s", err, want)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a removed store was recreated empty")
	}

	// Another store, sealed with another key, in its place.
	other := openStore(t, path, Options{KeyPath: filepath.Join(t.TempDir(), "other.key")})
	_ = other.Close()
	if _, err := s.Profile("example.com"); !errors.Is(err, ErrWrongKey) {
		t.Errorf("store replaced by one with another key: %v", err)
	}

	// The right file back: it works again.
	if err := os.Rename(path+".away", path); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Profile("example.com"); err != nil || p.P12Password != testPassword {
		t.Errorf("store restored: %v", err)
	}
}

// removedWhileReleased is a store of example.com whose file was moved to
// path+".away" while the Store had let go of it, and the error of the next
// call.
func removedWhileReleased(t *testing.T, opts Options) (*Store, string, error) {
	t.Helper()
	s, path := newStoreWith(t, opts)
	mustSaveProfile(t, s, "example.com")
	released(t, path, 5*time.Second)
	if err := os.Rename(path, path+".away"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Profile("example.com")
	return s, path, err
}

// TestStoreChangedNamesTheProgramGiven: a store changed under a Store
// says to restart the program by the name Options.Program gives (the
// command line's "mailoauth"), also for a file replaced by an empty one.
func TestStoreChangedNamesTheProgramGiven(t *testing.T) {
	t.Parallel()
	s, path, err := removedWhileReleased(t, Options{Program: "mailoauth"})
	want := "store " + path + " was removed while mailoauth was using it; restore it from a backup, or restart mailoauth to start a new one"
	if err == nil || err.Error() != want {
		t.Errorf("store removed: %v\nwant %s", err, want)
	}
	empty, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = empty.Close()
	want = "store " + path + " was replaced by an older or empty file while mailoauth was using it; restart mailoauth to upgrade it, or restore the right file"
	if _, err := s.Profile("example.com"); err == nil || err.Error() != want {
		t.Errorf("store replaced by an empty file: %v\nwant %s", err, want)
	}
}

// TestConcurrentUseAcrossReleases: many goroutines over a store released
// and taken back all the time lose nothing (run with -race).
func TestConcurrentUseAcrossReleases(t *testing.T) {
	t.Parallel()
	// Open holds the file from reading the schema to writing it: a new
	// store opens even when every pause is an idle release.
	for range 20 {
		newStoreWith(t, Options{IdleRelease: time.Nanosecond})
	}
	s, _ := newStoreWith(t, Options{IdleRelease: time.Millisecond})
	mustSaveProfile(t, s, "example.com")
	c := s.TokenCache("example.com")
	atOnce(t, 8, 20, func(i, j int, mb string) error {
		tk := core.Token{Mailbox: mb, Scopes: []string{core.ScopeMail}, AccessToken: fmt.Sprintf("tok-%d-%d", i, j)}
		if err := c.SaveToken(tk); err != nil {
			return err
		}
		if j%4 == 0 {
			time.Sleep(3 * time.Millisecond) // let the store go idle
		}
		got, ok, err := c.LoadToken(mb, tk.Scopes)
		if err != nil || !ok || got.AccessToken != tk.AccessToken {
			return fmt.Errorf("load %s: %+v %v %v", mb, got, ok, err)
		}
		return s.SaveResult("example.com", core.MailboxResult{Mailbox: mb, OK: j%2 == 0})
	})
	if rs, err := s.Results("example.com"); err != nil || len(rs) != 8 {
		t.Errorf("results: %d, %v", len(rs), err)
	}
}

func TestFileModes(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "mailoauth.db")
	s := openStore(t, path, Options{})
	_ = s.Close()
	for _, f := range []struct {
		name string
		want os.FileMode
	}{{dir, 0o700}, {path, 0o600}, {path + ".key", 0o600}} {
		fi, err := os.Stat(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != f.want {
			t.Errorf("%s mode = %v, want %v", f.name, fi.Mode().Perm(), f.want)
		}
	}
	// Too wide modes are narrowed on the next open.
	_ = os.Chmod(path, 0o644)
	_ = os.Chmod(path+".key", 0o644)
	s = openStore(t, path, Options{})
	_ = s.Close()
	for _, name := range []string{path, path + ".key"} {
		if fi, _ := os.Stat(name); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode after reopen = %v, want 0600", name, fi.Mode().Perm())
		}
	}
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	if len(migrations) != schemaVersion {
		t.Fatalf("schemaVersion %d but %d migrations", schemaVersion, len(migrations))
	}
	s, path := newStore(t)
	if s.SchemaVersion() != schemaVersion {
		t.Errorf("SchemaVersion = %d", s.SchemaVersion())
	}
	mustSaveProfile(t, s, "example.com")
	_ = s.Close()

	// A failing migration changes nothing.
	failing := append(slices.Clone(migrations), func(tx *bolt.Tx) error {
		_ = tx.Bucket([]byte(metaBucket)).Put([]byte("half"), []byte("done"))
		return errors.New("boom")
	})
	_, err := Open(path, Options{migrations: failing})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("from schema %d to %d", schemaVersion, schemaVersion+1)) {
		t.Errorf("failing migration: %v", err)
	}

	// A working one runs once, in order, after a backup of the old file.
	runs := 0
	working := append(slices.Clone(migrations), func(tx *bolt.Tx) error {
		runs++
		if tx.Bucket([]byte(metaBucket)).Get([]byte("half")) != nil {
			return errors.New("the failed migration's write survived")
		}
		return tx.Bucket([]byte(metaBucket)).Put([]byte("migrated"), []byte("yes"))
	})
	for range 2 {
		s, err = Open(path, Options{migrations: working})
		if err != nil {
			t.Fatal(err)
		}
		if s.SchemaVersion() != schemaVersion+1 {
			t.Errorf("SchemaVersion = %d, want %d", s.SchemaVersion(), schemaVersion+1)
		}
		if p, err := s.Profile("example.com"); err != nil || p.P12Password != testPassword {
			t.Errorf("profile after migration: %v", err)
		}
		_ = s.Close()
	}
	if runs != 1 {
		t.Errorf("the migration ran %d times, want 1", runs)
	}
	if _, err := os.Stat(fmt.Sprintf("%s.schema%d.bak", path, schemaVersion)); err != nil {
		t.Errorf("no backup before migrating: %v", err)
	}

	// This program (with its own migrations) refuses the newer file.
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "upgrade mailoauth") {
		t.Errorf("newer schema: %v", err)
	}
}

func benchMailboxes(n int) []core.Mailbox {
	ms := make([]core.Mailbox, n)
	for i := range ms {
		ms[i] = core.Mailbox{Email: fmt.Sprintf("user%06d@example.com", (i*7919)%n), DisplayName: fmt.Sprintf("User %d", i),
			OwnerKind: core.OwnerUser, OwnerName: fmt.Sprintf("user%d", i)}
	}
	return ms
}

// storeWith100k is a store holding example.com with 100,000 mailboxes.
func storeWith100k(b *testing.B) *Store {
	s, _ := storeWithProfile(b, "example.com")
	if err := s.PutMailboxes("example.com", benchMailboxes(100_000), actor); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkPutMailboxes100k(b *testing.B) {
	ms := benchMailboxes(100_000)
	for b.Loop() {
		b.StopTimer()
		s, _ := storeWithProfile(b, "example.com")
		b.StartTimer()
		if err := s.PutMailboxes("example.com", ms, actor); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMailboxes100k(b *testing.B) {
	s := storeWith100k(b)
	for b.Loop() {
		ms, err := s.Mailboxes("example.com")
		if err != nil || len(ms) != 100_000 {
			b.Fatal(len(ms), err)
		}
	}
}

// BenchmarkSmallCallsBurst is the wizard's test step and RunAll progress: a
// burst of small transactions on one store, which stays open between them.
func BenchmarkSmallCallsBurst(b *testing.B) {
	s, _ := storeWithProfile(b, "example.com")
	r := core.MailboxResult{Mailbox: "a@example.com", OK: true, CheckedAt: time.Now()}
	c := s.TokenCache("example.com")
	for b.Loop() {
		if err := s.SaveResult("example.com", r); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.LoadToken("a@example.com", []string{core.ScopeMail}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Profile("example.com"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReopen100k is what the first call after an idle release pays to
// take back a store of 100,000 mailboxes.
func BenchmarkReopen100k(b *testing.B) {
	s := storeWith100k(b)
	s.mu.Lock()
	_ = s.db.Close()
	s.db = nil
	s.mu.Unlock()
	for b.Loop() {
		db, err := s.reopen()
		if err != nil {
			b.Fatal(err)
		}
		_ = db.Close()
	}
}
