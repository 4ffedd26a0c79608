package sshserver

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mailoauth/mailoauth/core"
)

// screen is what a real terminal shows of a session: the session's output
// is played into a tmux pane of the same size (tmux is the terminal
// emulator) and read back with capture-pane.
type screen struct {
	t      *testing.T
	socket string
}

// attachScreen replays tm's output into an 80x24 tmux pane.
func attachScreen(t *testing.T, tm *term, name string) *screen {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed; it plays the terminal here")
	}
	// the file the session's output is mirrored to, which the pane plays
	f, err := os.CreateTemp(t.TempDir(), name+"-*.raw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	sc := &screen{t: t, socket: fmt.Sprintf("mailoauth-%s-%d", name, time.Now().UnixNano())}
	cmd := fmt.Sprintf("stty raw -echo; exec tail -c +1 -f %s", f.Name())
	if out, err := exec.Command("tmux", "-L", sc.socket, "-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "24", "sh", "-c", cmd).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", sc.socket, "kill-server").Run() })
	tm.mu.Lock()
	_, _ = f.Write(tm.out.Bytes())
	tm.mirror = f
	tm.mu.Unlock()
	return sc
}

func (sc *screen) text() string {
	out, err := exec.Command("tmux", "-L", sc.socket, "capture-pane", "-p").Output()
	if err != nil {
		sc.t.Fatalf("capture-pane: %v", err)
	}
	return string(out)
}

// waitFor waits until the screen shows s (30 s hang guard).
func (sc *screen) waitFor(s string) string {
	sc.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		scr := sc.text()
		if strings.Contains(scr, s) {
			return scr
		}
		if time.Now().After(deadline) {
			sc.t.Fatalf("the screen never showed %q; it shows:\n%s", s, scr)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func (tm *term) keys(t *testing.T, s string) {
	t.Helper()
	if _, err := tm.in.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

const down = "\x1b[B"

// Two administrators edit one profile's mailboxes over two real SSH
// sessions of one server (issue 9 item 4). A deletes user5 and saves; B,
// who loaded the list before, deletes user4 and saves. B must be told the
// truth (its delete is saved, on top of A's change), and from then on see
// what the store holds: neither user4 nor user5, on the test step too.
func TestTwoSSHSessionsDeleteMailboxesOfOneProfile(t *testing.T) {
	admin := newKey(t)
	ts := startServer(t, Config{Profile: "example.test"}, admin)
	key, err := os.ReadFile("../testdata/service-account.json")
	if err != nil {
		t.Fatal(err)
	}
	p := core.Profile{Domain: "example.test", DefaultSender: "admin@example.test", Credential: key,
		Scopes: []string{core.ScopeMail}, WizardStep: 5} // resumes on the mailboxes step
	if err := ts.store.SaveProfile(p, "cli root@host"); err != nil {
		t.Fatal(err)
	}
	var ms []core.Mailbox
	for i := 1; i <= 5; i++ {
		ms = append(ms, core.Mailbox{Email: fmt.Sprintf("user%d@example.test", i), OwnerKind: core.OwnerUser})
	}
	if err := ts.store.PutMailboxes("example.test", ms, "cli root@host"); err != nil {
		t.Fatal(err)
	}
	open := func(user string) (*term, *screen) {
		c, err := ts.dial(user, gossh.PublicKeys(admin))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		tm := openTerm(t, c, true)
		return tm, attachScreen(t, tm, user)
	}
	a, sa := open("alice")
	b, sb := open("bob")
	sa.waitFor("user5@example.test")
	sb.waitFor("user5@example.test")

	// A: user5 deleted and saved.
	a.keys(t, strings.Repeat(down, 4)+"d")
	sa.waitFor("Delete user5@example.test?")
	a.keys(t, "y")
	sa.waitFor("Deleted user5@example.test")
	a.keys(t, "\r")
	sa.waitFor("Test the mailboxes")
	waitStore(t, func() bool { ok, _ := ts.store.HasMailbox("example.test", "user5@example.test"); return !ok })

	// B, on the list it loaded before: user4 deleted and saved.
	b.keys(t, strings.Repeat(down, 3)+"d")
	sb.waitFor("Delete user4@example.test?")
	b.keys(t, "y")
	sb.waitFor("Deleted user4@example.test")
	b.keys(t, "\r")
	scr := sb.waitFor("Test the mailboxes")

	stored, err := ts.store.Mailboxes("example.test")
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, m := range stored {
		emails = append(emails, m.Email)
	}
	if strings.Join(emails, " ") != "user1@example.test user2@example.test user3@example.test" {
		t.Fatalf("the store holds %v, want user1-3 (both deletes saved)", emails)
	}
	flat := strings.Join(strings.Fields(scr), " ")
	for _, bad := range []string{"Not saved", "no change"} {
		if strings.Contains(flat, bad) {
			t.Errorf("B is told %q although its delete was saved:\n%s", bad, scr)
		}
	}
	for _, want := range []string{"Saved; the profile was also changed by ssh alice", "reloaded from the store"} {
		if !strings.Contains(flat, want) {
			t.Errorf("B's message lacks %q:\n%s", want, scr)
		}
	}
	// B's test step tests what the store holds: the sender and user1-3.
	if !strings.Contains(flat, "● all (4)") {
		t.Errorf("B's test step does not count the stored mailboxes:\n%s", scr)
	}
	for _, gone := range []string{"user4@example.test", "user5@example.test"} {
		if strings.Contains(scr, gone) {
			t.Errorf("B's test step still shows %s:\n%s", gone, scr)
		}
	}
	// and B's mailbox list is the store's
	b.keys(t, "\x1b")
	scr = sb.waitFor("Assign mailboxes")
	time.Sleep(100 * time.Millisecond) // let the frame finish
	scr = sb.text()
	for _, e := range emails {
		if !strings.Contains(scr, e) {
			t.Errorf("B's list lacks %s, which the store holds:\n%s", e, scr)
		}
	}
	for _, gone := range []string{"user4@example.test", "user5@example.test"} {
		if strings.Contains(scr, gone) {
			t.Errorf("B's list shows %s, which the store no longer holds:\n%s", gone, scr)
		}
	}
}

func waitStore(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("the store never got the change")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
