package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
	"github.com/mailoauth/mailoauth/store"
)

func TestEndToEndServiceAccountSetup(t *testing.T) {
	sb := startSandbox(t, 50)
	db := filepath.Join(t.TempDir(), "state", "mailoauth.db")
	key := filepath.Join(sb.dir, "service-account.json")

	r := mailoauth(t, db, "key", "inspect", key, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, sb.clientID) || strings.Contains(r.stdout, "PRIVATE KEY") {
		t.Fatalf("key inspect: %d %s %s", r.code, r.stdout, r.stderr)
	}

	// Setup before the Admin console step: saved, but the verify explains the delegation.
	r = mailoauth(t, db, "setup", "--domain", "example.test", "--sender", "admin@example.test", "--key", key, "--endpoints", filepath.Join(sb.dir, "endpoints.json"))
	if r.code != 1 || !strings.Contains(r.stdout, "delegation_not_authorized") || !strings.Contains(r.stdout, "add client ID "+sb.clientID+" with scope https://mail.google.com/") {
		t.Fatalf("setup without delegation: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("store file mode: %v %v", fi.Mode(), err)
	}
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})

	// Assign 50 mailboxes from a CSV and prove every one of them live.
	var csv strings.Builder
	csv.WriteString("email,display_name,owner_kind,owner_name\n")
	for i := 1; i <= 50; i++ {
		kind := core.OwnerKinds[i%len(core.OwnerKinds)]
		fmt.Fprintf(&csv, "user%d@example.test,User %d,%s,Owner %d\n", i, i, kind, i)
	}
	csvPath := filepath.Join(t.TempDir(), "boxes.csv")
	os.WriteFile(csvPath, []byte(csv.String()), 0o600)
	if r = mailoauth(t, db, "mailbox", "import", csvPath); r.code != 0 || !strings.Contains(r.stdout, "Imported 50") {
		t.Fatalf("import: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = mailoauth(t, db, "test", "--all", "--json")
	lines := parseLines(t, r.stdout)
	if r.code != 0 || len(lines) != 52 {
		t.Fatalf("test --all: exit %d, %d lines\n%s%s", r.code, len(lines), r.stdout, r.stderr)
	}
	for _, l := range lines[:51] {
		if !l.OK || len(l.Checks) != 4 || l.Finding != nil {
			t.Fatalf("mailbox not ok: %+v", l)
		}
	}
	if s := lines[51].Summary; s == nil || s.Total != 51 || s.OK != 51 || s.Failed != 0 {
		t.Fatalf("summary: %+v", lines[51])
	}

	// Each Admin console mistake produces its finding. New users have no
	// cached token, so they show what a first run would meet.
	newUser := func(email string, extra map[string]any) {
		body := map[string]any{"email": email, "imap": true, "suspended": false}
		for k, v := range extra {
			body[k] = v
		}
		sb.admin(t, "POST", "/users", body)
	}
	expectCode := func(name, mailbox string, code core.Code, extra ...string) jsonLine {
		t.Helper()
		l, exit := testOne(t, db, mailbox, extra...)
		if exit != 1 || l.OK || l.Finding == nil || l.Finding.Code != code {
			t.Fatalf("%s: want %s, got exit %d %+v", name, code, exit, l)
		}
		if l.Finding.Summary == "" || l.Finding.Fix == "" {
			t.Fatalf("%s: finding without summary or fix: %+v", name, l.Finding)
		}
		return l
	}

	sb.admin(t, "DELETE", "/delegation?client_id="+sb.clientID, nil)
	newUser("fresh1@example.test", nil)
	l := expectCode("delegation removed", "fresh1@example.test", core.CodeDelegationNotAuthorized)
	if !strings.Contains(l.Finding.Fix, sb.clientID) || !strings.Contains(l.Finding.Fix, "https://mail.google.com/") {
		t.Fatalf("delegation fix lacks the values to paste: %+v", l.Finding)
	}
	// A mailbox tested before still passes on its cached token (mail does
	// flow for the token's hour); --fresh shows the Admin console's state now.
	if l, exit := testOne(t, db, "user1@example.test", "--checks", "token"); exit != 0 || !l.OK {
		t.Fatalf("cached token after the delegation was removed: exit %d %+v", exit, l)
	}
	expectCode("delegation removed, --fresh", "user1@example.test", core.CodeDelegationNotAuthorized, "--checks", "token", "--fresh")
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})

	sb.admin(t, "POST", "/clock", map[string]any{"skew_seconds": -600})
	newUser("fresh2@example.test", nil)
	l = expectCode("clock 10 minutes behind", "fresh2@example.test", core.CodeClockSkew)
	if !strings.Contains(l.Finding.Summary, "ahead") {
		t.Fatalf("clock finding should say this host is ahead: %+v", l.Finding)
	}
	sb.admin(t, "POST", "/clock", map[string]any{"skew_seconds": 0})

	newUser("fresh3@example.test", map[string]any{"suspended": true})
	expectCode("suspended user", "fresh3@example.test", core.CodeUserSuspended)

	newUser("user7@example.test", map[string]any{"imap": false})
	expectCode("IMAP disabled", "user7@example.test", core.CodeIMAPDisabled, "--checks", "token,imap")
	newUser("user7@example.test", nil)

	expectCode("unknown user", "nobody@example.test", core.CodeUnknownUser, "--checks", "token")

	sb.admin(t, "POST", "/faults", map[string]any{"imap_stall": true})
	start := time.Now()
	expectCode("IMAP stalls", "user8@example.test", core.CodeTimeout, "--checks", "token,imap", "--timeout", "2s")
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("a stalled IMAP server took %v to report; the check timeout is 2s", d)
	}
	sb.admin(t, "POST", "/faults", map[string]any{"imap_stall": false})

	// A cached token that Google revoked is dropped and replaced once.
	sb.admin(t, "POST", "/revoke", map[string]any{"email": "user9@example.test"})
	l, exit := testOne(t, db, "user9@example.test", "--checks", "token,imap")
	if exit != 0 || !l.OK || len(l.Notes) == 0 || !strings.Contains(strings.Join(l.Notes, " "), "fresh") {
		t.Fatalf("revoked token: exit %d %+v", exit, l)
	}

	// `mailoauth token` prints a token the sandbox's IMAP accepts.
	r = mailoauth(t, db, "token", "user1@example.test")
	tok := strings.TrimSpace(r.stdout)
	if r.code != 0 || len(tok) < 100 {
		t.Fatalf("token: %d %q %s", r.code, r.stdout, r.stderr)
	}
	imapLogin(t, sb, "user1@example.test", tok)

	// The CA file disappears: TLS cannot be verified, and nothing falls back to insecure.
	os.Rename(filepath.Join(sb.dir, "ca.pem"), filepath.Join(sb.dir, "ca.pem.gone"))
	expectCode("CA file missing", "user1@example.test", core.CodeTLSUntrusted, "--checks", "token,imap")
	os.Rename(filepath.Join(sb.dir, "ca.pem.gone"), filepath.Join(sb.dir, "ca.pem"))

	// OAUTHBEARER works as XOAUTH2 does.
	if l, exit := testOne(t, db, "user2@example.test", "--mechanism", "oauthbearer"); exit != 0 || !l.OK {
		t.Fatalf("OAUTHBEARER: exit %d %+v", exit, l)
	}

	// The readable output ends in the line scripts look for.
	r = mailoauth(t, db, "test", "--mailbox", "user2@example.test")
	if r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), "1 passed, 0 failed") {
		t.Fatalf("readable test: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func imapLogin(t *testing.T, sb *sandboxProcess, user, token string) {
	t.Helper()
	c, err := imapclient.DialTLS(sb.endpoints.IMAP, imapTLS(t, filepath.Join(sb.dir, "ca.pem")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// go-sasl's own OAUTHBEARER client: the token works outside mailoauth too.
	if err := c.Authenticate(sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: token})); err != nil {
		t.Fatalf("the sandbox's IMAP refused the token from `mailoauth token`: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestStoreInUseExitsThreeQuickly: while another mailoauth is inside a
// transaction on the store (here a backup of it into a pipe that nobody
// reads yet), a command gets exit 3 and the sentence quickly, never a hang;
// once the transaction ends, the store is usable again.
// holdStore makes a store and holds it inside a transaction (a backup into
// a pipe nobody reads past its first byte) until the test closes pr; backup
// then says how the backup ended.
func holdStore(t *testing.T) (db string, pr *io.PipeReader, backup chan error) {
	t.Helper()
	t.Setenv("MAILOAUTH_KEY", "")
	db = filepath.Join(t.TempDir(), "mailoauth.db")
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pr, pw := io.Pipe()
	backup = make(chan error, 1)
	go func() { backup <- st.Backup(pw) }()
	// One byte read: the backup's transaction has begun, and its next
	// write blocks inside it.
	if _, err := pr.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	return db, pr, backup
}

func TestStoreInUseExitsThreeQuickly(t *testing.T) {
	db, pr, backup := holdStore(t)
	start := time.Now()
	r := mailoauth(t, db, "mailbox", "ls")
	if r.code != 3 || !strings.Contains(r.stderr, "store is in use by another process (pid ") {
		t.Fatalf("busy store: exit %d %q", r.code, r.stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a busy store took %v to report", d)
	}
	pr.CloseWithError(errors.New("test over"))
	if err := <-backup; err == nil {
		t.Fatal("the interrupted backup reported success")
	}
	// The store opened in this process stays open, idle: no longer in use.
	if r := mailoauth(t, db, "mailbox", "ls"); r.code != 2 || !strings.Contains(r.stderr, "holds no domain yet") {
		t.Fatalf("store idle again: exit %d %q", r.code, r.stderr)
	}
}

// TestTokenWhileServeKeepsStoreOpen: `mailoauth serve` keeps the store open
// for days. Meanwhile mail programs' `mailoauth token` (minting and caching
// a token, then serving it from the cache) and a cron job's `mailoauth
// test` keep working, and the server keeps running.
func TestTokenWhileServeKeepsStoreOpen(t *testing.T) {
	sb := startSandbox(t, 3, "--delegate")
	dir := t.TempDir()
	db := filepath.Join(dir, "mailoauth.db")
	setupStore(t, db, sb.dir, "--key")
	ak := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(ak, []byte("# no administrator needed for this test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	serve := exec.Command(binary, "--db", db, "serve", "--addr", "127.0.0.1:0", "--authorized-keys", ak, "--host-key", filepath.Join(dir, "host_key"))
	serve.Env = append(os.Environ(), "MAILOAUTH_KEY=")
	var serveErr bytes.Buffer
	stdout := startPiped(t, serve, &serveErr)
	exited := make(chan error, 1)
	joined := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "join with:") {
				joined <- true
			}
		}
		close(joined)
		exited <- serve.Wait()
	}()
	t.Cleanup(func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second): // a deadline for a hang, not a speed goal
			_ = serve.Process.Kill()
			t.Errorf("mailoauth serve did not stop on SIGTERM")
		}
	})
	select {
	case ok := <-joined:
		if !ok {
			t.Fatalf("mailoauth serve exited before listening: %s", serveErr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("mailoauth serve not listening after 30s: %s", serveErr.String())
	}

	// Not cached yet: minted, cached (a write) and printed.
	r := mailoauth(t, db, "token", "user1@example.test")
	tok := strings.TrimSpace(r.stdout)
	if r.code != 0 || r.stderr != "" || len(tok) < 100 {
		t.Fatalf("token while serve runs: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	imapLogin(t, sb, "user1@example.test", tok)
	// Cached: the same token, from a read-only open.
	r = mailoauth(t, db, "token", "--format", "json", "user1@example.test")
	var js struct {
		AccessToken string `json:"access_token"`
		Cached      bool   `json:"cached"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || r.code != 0 || !js.Cached || js.AccessToken != tok {
		t.Fatalf("cached token while serve runs: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	// A cron job's check, which saves its result.
	if line, code := testOne(t, db, "user2@example.test", "--checks", "token"); code != 0 || !line.OK {
		t.Fatalf("test while serve runs: exit %d %+v", code, line)
	}
	select {
	case err := <-exited:
		t.Fatalf("mailoauth serve exited meanwhile (%v): %s", err, serveErr.String())
	default:
	}
}

func TestBadInputExitsTwoWithOneSentence(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "mailoauth.db")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"type":"service_account","client_email":"x@y"`), 0o600)
	key := filepath.Join(dir, "sa.json")
	if err := os.WriteFile(key, serviceAccountFixture(t), 0o600); err != nil {
		t.Fatal(err)
	}
	web := filepath.Join(dir, "client.json")
	os.WriteFile(web, []byte(`{"web":{"client_id":"1-a.apps.googleusercontent.com","client_secret":"s"}}`), 0o600)
	st, err := store.Open(db, store.Options{}) // a store without a domain
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"key", "inspect", bad}, 2, "truncated"},
		{[]string{"key", "inspect", filepath.Join(dir, "missing.json")}, 3, "cannot read"},
		{[]string{"setup", "--domain", "example.test", "--sender", "admin@example.test", "--key", web}, 2, "OAuth client"},
		{[]string{"setup", "--domain", "example.test", "--sender", "admin@other.test", "--key", bad}, 2, "not in the domain"},
		{[]string{"test", "--checks", "ping"}, 2, "unknown check"},
		{[]string{"setup", "--domain", "gmail.com", "--sender", "me@gmail.com", "--key", key}, 2, "consumer Gmail"},
		{[]string{"test", "--mechanism", "PLAIN"}, 2, "XOAUTH2 or OAUTHBEARER"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"mailbox", "ls"}, 2, "holds no domain yet"},
	}
	for _, c := range cases {
		r := mailoauth(t, db, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("mailoauth %v: exit %d, stderr %q; want exit %d mentioning %q", c.args, r.code, r.stderr, c.code, c.want)
		}
		if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 0 {
			t.Errorf("mailoauth %v: error is %d lines, want one: %q", c.args, n+1, r.stderr)
		}
	}
}

func TestImportRejectsBadRowsByLineAndWritesNothing(t *testing.T) {
	sb := startSandbox(t, 3)
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupStore(t, db, sb.dir, "--key", "--no-verify")
	csvPath := filepath.Join(t.TempDir(), "boxes.csv")
	os.WriteFile(csvPath, []byte("email,display_name,owner_kind,owner_name\nuser1@example.test,A,user,A\nuser2@elsewhere.test,B,user,B\nuser3@example.test,C,robot,C\n"), 0o600)
	r := mailoauth(t, db, "mailbox", "import", csvPath)
	if r.code != 2 || !strings.Contains(r.stderr, "line 3") || !strings.Contains(r.stderr, "line 4") {
		t.Fatalf("bad import: %d %q", r.code, r.stderr)
	}
	r = mailoauth(t, db, "mailbox", "ls", "--json")
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("a failed import left mailboxes behind: %s", r.stdout)
	}
	if r = mailoauth(t, db, "mailbox", "add", "user1@example.test", "--owner", "user:Alice"); r.code != 0 || !strings.HasPrefix(r.stdout, "Assigned") {
		t.Fatalf("add: %s %s", r.stdout, r.stderr)
	}
	if r = mailoauth(t, db, "mailbox", "add", "user1@example.test", "--owner", "workgroup:Support"); r.code != 0 || !strings.HasPrefix(r.stdout, "Updated") {
		t.Fatalf("add of an assigned mailbox should say it updated it: %s %s", r.stdout, r.stderr)
	}
	r = mailoauth(t, db, "mailbox", "export")
	if !strings.Contains(r.stdout, "user1@example.test,user1@example.test,workgroup,Support") {
		t.Fatalf("export: %q", r.stdout)
	}
	r = mailoauth(t, db, "export", "--format", "env")
	if !strings.Contains(r.stdout, "MAILOAUTH_CLIENT_ID=") || strings.Contains(r.stdout, "PRIVATE KEY") {
		t.Fatalf("export env: %q", r.stdout)
	}
	r = mailoauth(t, db, "export", "--include-secrets")
	if !strings.Contains(r.stdout, "PRIVATE KEY") {
		t.Fatalf("export --include-secrets lacks the key")
	}
	var cfg struct {
		IMAP struct {
			Port int `json:"port"`
		} `json:"imap"`
		TokenCommand string `json:"token_command"`
	}
	r = mailoauth(t, db, "export")
	if err := json.Unmarshal([]byte(r.stdout), &cfg); err != nil || cfg.IMAP.Port == 0 {
		t.Fatalf("export: the IMAP port is not a number (%v):\n%s", err, r.stdout)
	}
	if !strings.Contains(cfg.TokenCommand, "--db "+db) {
		t.Fatalf("export: the token command %q does not name the store it came from", cfg.TokenCommand)
	}
}

func TestDoctorNamesEachProblemWithItsFix(t *testing.T) {
	sb := startSandbox(t, 1)
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	setupStore(t, db, sb.dir, "--key")
	r := mailoauth(t, db, "doctor")
	for _, probe := range []string{"clock", "dns", "tls", "token", "imap", "smtp"} {
		if !strings.Contains(r.stdout, probe) {
			t.Errorf("doctor does not report %s:\n%s", probe, r.stdout)
		}
	}
	if r.code != 0 || !strings.Contains(r.stdout, "6 passed, 0 failed") {
		t.Fatalf("doctor on a healthy setup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sb.admin(t, "POST", "/clock", map[string]any{"skew_seconds": -300})
	r = mailoauth(t, db, "doctor")
	if r.code != 1 || !strings.Contains(r.stdout, "[clock_skew]") || !strings.Contains(r.stdout, "300 s ahead") || !strings.Contains(r.stdout, "NTP") {
		t.Fatalf("doctor with a skewed clock: exit %d\n%s", r.code, r.stdout)
	}
	sb.admin(t, "POST", "/clock", map[string]any{"skew_seconds": 0})
	sb.admin(t, "POST", "/users", map[string]any{"email": "admin@example.test", "imap": false})
	r = mailoauth(t, db, "doctor")
	if r.code != 1 || !strings.Contains(r.stdout, "[imap_disabled]") {
		t.Fatalf("doctor with IMAP off: exit %d\n%s", r.code, r.stdout)
	}
}

// serviceAccountFixture is a well-formed service-account key (the sandbox's).
func serviceAccountFixture(t *testing.T) []byte {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Options{Users: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb.ServiceAccountJSON()
}

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
