package sshserver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mailoauth/mailoauth/core/coretest"
	"github.com/mailoauth/mailoauth/store"
)

// firstScreen is a string of the wizard's first step (the profile list).
const firstScreen = "Choose a domain profile"

type testServer struct {
	srv      *Server
	addr     string
	keysFile string
	hostKey  gossh.PublicKey
	store    *store.Store
}

func newKey(t *testing.T) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeKeys(t *testing.T, path string, keys ...gossh.Signer) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("# administrators\n")
	for _, k := range keys {
		b.Write(gossh.MarshalAuthorizedKey(k.PublicKey()))
	}
	// rename over the file, like an editor or config management would
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// logLines collects the server's log lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func startServer(t *testing.T, cfg Config, keys ...gossh.Signer) *testServer {
	t.Helper()
	t.Setenv(store.KeyEnv, "")
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "mailoauth.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg.Store = st
	cfg.AuthorizedKeys = filepath.Join(dir, "authorized_keys")
	writeKeys(t, cfg.AuthorizedKeys, keys...)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	data, err := os.ReadFile(srv.HostKeyPath())
	if err != nil {
		t.Fatal(err)
	}
	hk, err := gossh.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{srv: srv, addr: ln.Addr().String(), keysFile: cfg.AuthorizedKeys, hostKey: hk.PublicKey(), store: st}
}

func (ts *testServer) dial(user string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	return gossh.Dial("tcp", ts.addr, &gossh.ClientConfig{User: user, Auth: auth,
		HostKeyCallback: gossh.FixedHostKey(ts.hostKey), Timeout: 10 * time.Second})
}

// login connects as user with key; the connection closes when the test
// ends.
func (ts *testServer) login(t *testing.T, user string, key gossh.Signer) *gossh.Client {
	t.Helper()
	c, err := ts.dial(user, gossh.PublicKeys(key))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// term is a client session with a PTY whose screen output is collected.
type term struct {
	sess *gossh.Session
	in   io.WriteCloser
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
	// mirror, when set, gets a copy of the output (a terminal emulator)
	mirror io.Writer
}

func (tm *term) text() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return ansi.Strip(tm.out.String())
}

// waitFor waits until the screen output holds s; it fails after 20 s so a
// broken server does not hang the test.
func (tm *term) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(tm.text(), s) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the session never showed %q; it showed:\n%s", s, tm.text())
}

// waitEnd waits until the server closed the session.
func (tm *term) waitEnd(t *testing.T) {
	t.Helper()
	select {
	case <-tm.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the session was not closed; it showed:\n%s", tm.text())
	}
}

type lockedWriter struct{ tm *term }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.tm.mu.Lock()
	defer w.tm.mu.Unlock()
	if w.tm.mirror != nil {
		_, _ = w.tm.mirror.Write(p)
	}
	return w.tm.out.Write(p)
}

func openTerm(t *testing.T, c *gossh.Client, pty bool) *term {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	tm := &term{sess: sess, done: make(chan error, 1)}
	sess.Stdout, sess.Stderr = lockedWriter{tm}, lockedWriter{tm}
	if tm.in, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if pty {
		if err := sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	go func() { tm.done <- sess.Wait() }()
	return tm
}

func TestListedKeyGetsTheWizard(t *testing.T) {
	admin := newKey(t)
	ts := startServer(t, Config{}, admin)
	tm := openTerm(t, ts.login(t, "alice", admin), true) // a listed key gets in
	tm.waitFor(t, firstScreen)

	// A change made over SSH is audited with the user and key fingerprint.
	// Keys are handled in order, so a step's keys go in one write; each
	// step is waited for on the screen before the next.
	if _, err := tm.in.Write([]byte("\r")); err != nil {
		t.Fatal(err)
	}
	tm.waitFor(t, "Default sender")
	if _, err := tm.in.Write([]byte("example.test\t\r")); err != nil { // the sender is prefilled
		t.Fatal(err)
	}
	tm.waitFor(t, "How will the product sign in to Gmail?")
	want := "ssh alice (" + gossh.FingerprintSHA256(admin.PublicKey()) + ")"
	deadline := time.Now().Add(20 * time.Second)
	for {
		a, _ := ts.store.Audit("example.test", 1)
		if len(a) == 1 {
			if a[0].Actor != want || a[0].Action != "profile.save" {
				t.Errorf("audit entry %+v, want actor %q", a[0], want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the profile saved over SSH never reached the audit log; the screen:\n%s", tm.text())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOnlyListedPublicKeysGetIn(t *testing.T) {
	admin, stranger := newKey(t), newKey(t)
	ts := startServer(t, Config{}, admin)
	if c, err := ts.dial("alice", gossh.PublicKeys(stranger)); err == nil {
		c.Close()
		t.Error("an unlisted key was let in")
	}
	if c, err := ts.dial("alice", gossh.Password("secret")); err == nil {
		c.Close()
		t.Error("a password was accepted")
	}
	ki := gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return []string{"secret"}, nil })
	if c, err := ts.dial("alice", ki); err == nil {
		c.Close()
		t.Error("keyboard-interactive was accepted")
	}
}

func TestRemovingAKeyRefusesTheNextSession(t *testing.T) {
	alice, bob := newKey(t), newKey(t)
	ts := startServer(t, Config{}, alice, bob)
	c, err := ts.dial("alice", gossh.PublicKeys(alice))
	if err != nil {
		t.Fatalf("alice before removal: %v", err)
	}
	c.Close()
	writeKeys(t, ts.keysFile, bob)
	if c, err := ts.dial("alice", gossh.PublicKeys(alice)); err == nil {
		c.Close()
		t.Fatal("a key removed from the file still gets in")
	}
	c, err = ts.dial("bob", gossh.PublicKeys(bob))
	if err != nil {
		t.Fatalf("a key still listed was refused: %v", err)
	}
	c.Close()
	// and adding it back lets it in again, without a restart
	writeKeys(t, ts.keysFile, alice, bob)
	if c, err = ts.dial("alice", gossh.PublicKeys(alice)); err != nil {
		t.Fatalf("a key added back is refused: %v", err)
	}
	c.Close()
}

func TestTwoSessionsEachHaveTheirOwnWizard(t *testing.T) {
	admin := newKey(t)
	ts := startServer(t, Config{}, admin)
	var terms []*term
	for _, user := range []string{"alice", "bob"} {
		c := ts.login(t, user, admin)
		terms = append(terms, openTerm(t, c, true))
	}
	for _, tm := range terms {
		tm.waitFor(t, firstScreen)
	}
	// alice moves on to the domain step; bob's wizard stays where it is
	if _, err := terms[0].in.Write([]byte("\r")); err != nil {
		t.Fatal(err)
	}
	terms[0].waitFor(t, "Default sender")
	// bob opens the full help: once his screen shows it, his wizard has
	// handled input after alice's step changed, and must still be his own.
	if _, err := terms[1].in.Write([]byte("?")); err != nil {
		t.Fatal(err)
	}
	terms[1].waitFor(t, "toggle help")
	if strings.Contains(terms[1].text(), "Default sender") {
		t.Errorf("bob's session shows alice's step:\n%s", terms[1].text())
	}
}

func TestIdleSessionIsClosed(t *testing.T) {
	admin := newKey(t)
	clock := coretest.NewClock(time.Now()) // the idle timeout's clock: it moves only when told
	ts := startServer(t, Config{IdleTimeout: 400 * time.Millisecond, now: clock.Now}, admin)
	c := ts.login(t, "alice", admin)
	tm := openTerm(t, c, true)
	// However slow the first screen, the session is not idle until the
	// clock says so.
	tm.waitFor(t, firstScreen)
	clock.Advance(400 * time.Millisecond)
	tm.waitEnd(t)
	if !strings.Contains(tm.text(), "session closed: no input for 400ms") {
		t.Errorf("the idle session was closed without saying why:\n%s", tm.text())
	}
}

func TestSessionWithoutTerminalIsExplainedAndClosed(t *testing.T) {
	admin := newKey(t)
	ts := startServer(t, Config{}, admin)
	c := ts.login(t, "alice", admin)
	tm := openTerm(t, c, false)
	tm.waitEnd(t)
	out := strings.TrimSpace(tm.text())
	if !strings.Contains(out, "needs a terminal") || strings.Count(out, "\n") != 0 {
		t.Errorf("no-PTY session got %q, want one line saying a terminal is needed", out)
	}
}

func TestSessionsBeyondTheLimitAreRefused(t *testing.T) {
	admin := newKey(t)
	ts := startServer(t, Config{MaxSessions: 1}, admin)
	c1 := ts.login(t, "alice", admin)
	openTerm(t, c1, true).waitFor(t, firstScreen)
	c2 := ts.login(t, "bob", admin)
	tm := openTerm(t, c2, true)
	tm.waitEnd(t)
	if !strings.Contains(tm.text(), "already has 1 sessions open") {
		t.Errorf("the session over the limit got:\n%s", tm.text())
	}
}

func TestShutdownTellsSessionsAndCloses(t *testing.T) {
	admin := newKey(t)
	ts := startServer(t, Config{DrainGrace: 300 * time.Millisecond}, admin)
	c := ts.login(t, "alice", admin)
	tm := openTerm(t, c, true)
	tm.waitFor(t, firstScreen)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	tm.waitEnd(t)
	out := tm.text()
	if !strings.Contains(out, "The server is shutting down") || !strings.Contains(out, "session closed: the server is shutting down") {
		t.Errorf("the session was not told about the shutdown:\n%s", out)
	}
	if c, err := ts.dial("bob", gossh.PublicKeys(admin)); err == nil {
		c.Close()
		t.Error("a connection was accepted after shutdown")
	}
}

func TestHostKeyGeneratedOnceAndReused(t *testing.T) {
	t.Setenv(store.KeyEnv, "")
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "m.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys := filepath.Join(dir, "authorized_keys")
	writeKeys(t, keys, newKey(t))
	s1, err := New(Config{Store: st, AuthorizedKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, HostKeyName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("host key beside the store: %v %v", fi, err)
	}
	s2, err := New(Config{Store: st, AuthorizedKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if s1.HostKeyFingerprint() != s2.HostKeyFingerprint() || !strings.HasPrefix(s1.HostKeyFingerprint(), "SHA256:") {
		t.Errorf("host key not reused: %s then %s", s1.HostKeyFingerprint(), s2.HostKeyFingerprint())
	}
	if err := os.Chmod(filepath.Join(dir, HostKeyName), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Store: st, AuthorizedKeys: keys}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a host key readable by others was used: %v", err)
	}
}

// admissionGate holds every admitted session before its wizard starts
// until opened, and reports each one it holds.
type admissionGate struct {
	held chan struct{}
	open chan struct{}
}

func newGate() *admissionGate {
	return &admissionGate{held: make(chan struct{}, 16), open: make(chan struct{})}
}

func (g *admissionGate) admitted() { g.held <- struct{}{}; <-g.open }

func (g *admissionGate) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-g.held:
	case <-time.After(20 * time.Second):
		t.Fatal("no session was admitted")
	}
}

func TestSessionsAdmittedTogetherStayWithinTheLimit(t *testing.T) {
	admin := newKey(t)
	gate := newGate()
	ts := startServer(t, Config{MaxSessions: 1, admitted: gate.admitted}, admin)
	c1 := ts.login(t, "alice", admin)
	alice := openTerm(t, c1, true)
	// alice is admitted but her wizard has not started: her slot counts
	gate.waitHeld(t)
	c2 := ts.login(t, "bob", admin)
	bob := openTerm(t, c2, true)
	bob.waitEnd(t)
	if !strings.Contains(bob.text(), "already has 1 sessions open") || strings.Contains(bob.text(), firstScreen) {
		t.Errorf("a second session was let in beside one being admitted (--max-sessions 1):\n%s", bob.text())
	}
	close(gate.open)
	alice.waitFor(t, firstScreen)
}

func TestShutdownRefusesASessionStillBeingAdmitted(t *testing.T) {
	admin := newKey(t)
	gate := newGate()
	ts := startServer(t, Config{DrainGrace: 100 * time.Millisecond, admitted: gate.admitted}, admin)
	c := ts.login(t, "alice", admin)
	tm := openTerm(t, c, true)
	gate.waitHeld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- ts.srv.Shutdown(ctx) }()
	for !ts.srv.isDraining() {
		select {
		case err := <-shut:
			t.Fatalf("Shutdown returned (%v) without waiting for the session being admitted", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	close(gate.open)
	tm.waitEnd(t)
	if out := tm.text(); !strings.Contains(out, "the server is shutting down") || strings.Contains(out, firstScreen) {
		t.Errorf("a session admitted as the server shut down was not refused with the reason:\n%s", out)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v; want every session closed before its deadline", err)
	}
}

func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

func TestEverySessionEndFreesItsSlotOnce(t *testing.T) {
	admin := newKey(t)
	ts := startServer(t, Config{MaxSessions: 1}, admin)
	c := ts.login(t, "alice", admin)
	// refused for want of a terminal, after taking the slot
	openTerm(t, c, false).waitEnd(t)
	// quits the wizard
	tm := openTerm(t, c, true)
	tm.waitFor(t, firstScreen)
	if _, err := tm.in.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	tm.waitEnd(t)
	// the one slot is free again, and freeing it twice crashed nothing
	tm = openTerm(t, c, true)
	tm.waitFor(t, firstScreen)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	tm.waitEnd(t)
}
