package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core/coretest"
)

// inputProfileDB is a store with the profile example.test (a service
// account, not verified: nothing here talks to a server).
func inputProfileDB(t *testing.T) (db, dir string) {
	t.Helper()
	dir = t.TempDir()
	db = filepath.Join(dir, "mailoauth.db")
	key := filepath.Join(dir, "sa.json")
	if err := os.WriteFile(key, serviceAccountFixture(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := mailoauth(t, db, "setup", "--domain", "example.test", "--sender", "admin@example.test", "--key", key, "--no-verify"); r.code != 0 {
		t.Fatalf("setup: %s %s", r.stdout, r.stderr)
	}
	return db, dir
}

// oneLine fails unless r exited with code and printed one line on stderr
// that mentions every want and holds no control character.
func oneLine(t *testing.T, what string, r cliResult, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: exit %d, want %d; stderr %q", what, r.code, code, r.stderr)
	}
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 0 || r.stderr == "" {
		t.Errorf("%s: stderr is %d lines, want one: %q", what, n+1, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("%s: stderr %q does not mention %q", what, r.stderr, w)
		}
	}
	for _, c := range r.stderr + r.stdout {
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			t.Errorf("%s: output holds the control character %q: %q", what, c, r.stderr+r.stdout)
			break
		}
	}
}

// Issue 15 item 1: these three files crashed `mailbox import` with a panic.
func TestImportStrayQuoteIsOneSentenceNotACrash(t *testing.T) {
	db, dir := inputProfileDB(t)
	for name, c := range map[string]struct{ rows, want string }{
		"bq.csv":   {"a\"b@example.test,x,user,y\n", "bq.csv line 2: has a quote"},
		"open.csv": {"\"user@x,a,user,y\n", "open.csv line 2: opens a quoted field"},
		"ax.csv":   {"\"a\"x,a,user,y\n", "ax.csv line 2: has text after the closing quote"},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("email,display_name,owner_kind,owner_name\n"+c.rows), 0o600); err != nil {
			t.Fatal(err)
		}
		r := mailoauth(t, db, "mailbox", "import", p) // a panic fails inside mailoauth()
		oneLine(t, "import "+name, r, 2, c.want, "nothing was imported")
	}
	if r := mailoauth(t, db, "mailbox", "ls", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("a failed import left mailboxes behind: %s", r.stdout)
	}
}

// Issue 15 item 2: `key inspect /dev/zero` grew to out-of-memory, a FIFO
// blocked forever (ignoring SIGTERM), a 50 MB file was taken as a key. Each
// is now one sentence and exit 2, at once.
func TestKeyInspectRefusesDevicesPipesDirectoriesAndHugeFiles(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "mailoauth.db")
	fifo := coretest.FIFO(t, dir, "key.fifo")
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, 50<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{"/dev/zero", "/dev/zero is a device, not a key file"},
		{fifo, "key.fifo is a named pipe (FIFO)"},
		{dir, "is a directory, not a key file"},
		{big, "big.json is 50 MiB, more than a key file can be (at most 64 KiB)"},
	} {
		r := mailoauth(t, db, "key", "inspect", c.path) // the 2-minute guard ends a hang
		oneLine(t, "key inspect "+c.path, r, 2, c.want)
	}
	// setup --key and mailbox import go through the same reader
	r := mailoauth(t, db, "setup", "--domain", "example.test", "--sender", "admin@example.test", "--key", "/dev/zero", "--no-verify")
	oneLine(t, "setup --key /dev/zero", r, 2, "is a device")
	db2, _ := inputProfileDB(t)
	r = mailoauth(t, db2, "mailbox", "import", fifo)
	oneLine(t, "mailbox import FIFO", r, 2, "is a named pipe (FIFO), which would wait for a writer, not a CSV file")
}

// Issue 15 item 5: a 1 MB display name made `mailbox ls` write 1 GB. Long
// names are refused naming the field, its limit and the line; 100,000
// mailboxes with long but legal names list in output proportional to them.
func TestLongNamesAreRefusedAndLsStaysProportional(t *testing.T) {
	db, dir := inputProfileDB(t)
	huge := filepath.Join(dir, "huge.csv")
	if err := os.WriteFile(huge, []byte("email,display_name,owner_kind,owner_name\nuser1@example.test,"+strings.Repeat("x", 1<<20)+",user,a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	oneLine(t, "import of a 1 MB name", mailoauth(t, db, "mailbox", "import", huge), 2,
		"huge.csv line 2: the display name is 1048576 characters long, over the limit of 200")
	oneLine(t, "add with a 100 KB name", mailoauth(t, db, "mailbox", "add", "user1@example.test", "--name", strings.Repeat("y", 100_000)), 2,
		"the display name is 100000 characters long, over the limit of 200")

	const n = 100_000
	var b strings.Builder
	b.WriteString("email,display_name,owner_kind,owner_name\n")
	long := strings.Repeat("n", 190)
	for i := range n {
		fmt.Fprintf(&b, "user%d@example.test,%s%d,user,%s%d\n", i, long, i, long, i)
	}
	fmt.Fprintf(&b, "%s@example.test,short,user,short\n", strings.Repeat("a", 240)) // a 253-character address
	many := filepath.Join(dir, "many.csv")
	if err := os.WriteFile(many, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := mailoauth(t, db, "mailbox", "import", many); r.code != 0 {
		t.Fatalf("import of %d long-named mailboxes: %s", n, r.stderr)
	}
	r := mailoauth(t, db, "mailbox", "ls")
	if r.code != 0 {
		t.Fatalf("ls: %s", r.stderr)
	}
	// Each row: the address (at most 48 columns of padding), two names cut
	// to 32 columns, the last test: well under 200 bytes.
	if max := (n + 3) * 200; len(r.stdout) > max {
		t.Fatalf("ls of %d mailboxes wrote %d bytes, more than %d", n+1, len(r.stdout), max)
	}
	if !strings.Contains(r.stdout, strings.Repeat("a", 240)+"@example.test") || !strings.Contains(r.stdout, "…") {
		t.Fatalf("ls does not show the long address whole or the long names cut")
	}
}

// Issue 15 item 7: an ESC sequence in a key's client_email or NUL and ESC
// in a CSV display name were printed as they were.
func TestEscapesInFilesNeverReachTheTerminalRaw(t *testing.T) {
	db, dir := inputProfileDB(t)
	var key map[string]any
	if err := json.Unmarshal(serviceAccountFixture(t), &key); err != nil {
		t.Fatal(err)
	}
	key["client_email"] = "mailer\x1b[2J\x1b]0;pwned\x07@p.iam.gserviceaccount.com"
	evil, _ := json.Marshal(key)
	kp := filepath.Join(dir, "evil.json")
	if err := os.WriteFile(kp, evil, 0o600); err != nil {
		t.Fatal(err)
	}
	oneLine(t, "key inspect", mailoauth(t, db, "key", "inspect", kp), 2, `holds a control character (\x1b)`)
	oneLine(t, "key inspect --json", mailoauth(t, db, "key", "inspect", "--json", kp), 2)
	csvPath := filepath.Join(dir, "evil.csv")
	if err := os.WriteFile(csvPath, []byte("email,display_name,owner_kind,owner_name\nuser1@example.test,Ann\x00\x1b[31mRed,user,x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	oneLine(t, "import", mailoauth(t, db, "mailbox", "import", csvPath), 2, `evil.csv line 2: the display name "Ann\x00\x1b[31mRed" holds a control character (\x00)`)
	// a path with control characters is shown escaped too
	oneLine(t, "missing file", mailoauth(t, db, "key", "inspect", filepath.Join(dir, "no\x1b[2Jpe.json")), 3, `no\x1b[2Jpe.json`)
}

// Issue 15 item 10: the messages say what the file is and what is expected.
func TestMisleadingMessagesSayWhatWasFound(t *testing.T) {
	db, dir := inputProfileDB(t)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	oneLine(t, "[1,2,3]", mailoauth(t, db, "key", "inspect", write("list.json", "[1,2,3]")), 2,
		"mailoauth: the file is JSON, but a list, not a key file", "}); load the .json file Google downloaded") // one sentence, not two
	r := mailoauth(t, db, "key", "inspect", write("web.json", `{"web":"oops"}`))
	oneLine(t, `{"web":"oops"}`, r, 2, `"web" section is not what Google writes: it is a string, not an object`)
	if strings.Contains(r.stderr, "Go ") || strings.Contains(r.stderr, "struct") {
		t.Errorf("a Go type in %q", r.stderr)
	}
	rows := "email,display_name,owner_kind,owner_name\nuser1@example.test,One,user,Alice\n"
	oneLine(t, "semicolons", mailoauth(t, db, "mailbox", "import", write("semi.csv", strings.ReplaceAll(rows, ",", ";"))), 2,
		"semi.csv separates its columns with semicolons (;); save it as comma-separated UTF-8 with the header email,display_name,owner_kind,owner_name")
	u16 := []byte{0xff, 0xfe}
	for _, c := range rows {
		u16 = append(u16, byte(c), 0)
	}
	oneLine(t, "UTF-16", mailoauth(t, db, "mailbox", "import", write("u16.csv", string(u16))), 2,
		"u16.csv is encoded as UTF-16", "comma-separated UTF-8 with the header email,display_name,owner_kind,owner_name")
}

// upgrade's legacy import has the same limits: a 1 MB name is refused
// naming the mailbox, the field and the limit; a FIFO is not waited on.
func TestUpgradeLegacyFileIsBounded(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "mailoauth.db")
	legacy := filepath.Join(dir, "legacy.json")
	body := `{"domain":"example.test","mailboxes":[{"email":"a@example.test","display_name":"` + strings.Repeat("x", 1<<20) + `","password":"p"}]}`
	if err := os.WriteFile(legacy, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mailoauth(t, db, "upgrade", "--yes", "--legacy", legacy, "--key", filepath.Join(dir, "sa.json"))
	if r.code != 2 || !strings.Contains(r.stderr, "mailbox 1: the display name is 1048576 characters long, over the limit of 200") || len(r.stderr) > 2000 {
		t.Fatalf("upgrade with a 1 MB name: exit %d, %d bytes: %.300q", r.code, len(r.stderr), r.stderr)
	}
	fifo := coretest.FIFO(t, dir, "legacy.fifo")
	oneLine(t, "upgrade --legacy FIFO", mailoauth(t, db, "upgrade", "--yes", "--legacy", fifo, "--key", filepath.Join(dir, "sa.json")), 2,
		"legacy.fifo is a named pipe (FIFO), which would wait for a writer, not a legacy configuration")
}
