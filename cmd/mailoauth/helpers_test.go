package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/store"
)

// writeTemp writes content to a file called name in a new temporary
// directory (mode 0600) and returns its path.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// storeEnv is the environment of the README's recipes: mailoauth first on
// $PATH, the store in $MAILOAUTH_DB (its key beside it), home as $HOME, and
// a plain terminal.
func storeEnv(db, home string) []string {
	return append(os.Environ(), "MAILOAUTH_KEY=", "MAILOAUTH_DB="+db, "HOME="+home,
		"PATH="+filepath.Dir(binary)+":"+os.Getenv("PATH"), "TERM=vt100", "LANG=C.UTF-8")
}

// runProgram runs a program (a mail program, curl, Python) with the
// environment (nil: this process's) and standard input given, for two
// minutes at most, and returns its combined output.
func runProgram(env []string, stdin, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// messageText is a short message from the user to the user.
func messageText(user, subject string) string {
	return fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.%s>\r\n\r\nHello from a mail program.\r\n",
		user, user, subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), user)
}

// writeMessage writes messageText to a file and returns its path.
func writeMessage(t *testing.T, user, subject string) string {
	t.Helper()
	return writeTemp(t, "msg.eml", messageText(user, subject))
}

// adminState decodes the sandbox's GET /admin/state into v.
func (s *sandboxProcess) adminState(t *testing.T, v any) {
	t.Helper()
	resp, err := http.Get(s.endpoints.AdminURL + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("/admin/state: %v", err)
	}
}

// port is the port of a host:port address.
func port(hostport string) string { _, p, _ := strings.Cut(hostport, ":"); return p }

// startPiped starts cmd with its standard error going to stderr and
// returns its standard output to read from.
func startPiped(t *testing.T, cmd *exec.Cmd, stderr io.Writer) io.ReadCloser {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return stdout
}

// lockedBuffer collects a process's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// openReadOnly opens the store at db read-only with the key beside it (not
// one from the environment); the caller closes it.
func openReadOnly(t *testing.T, db string) *store.Store {
	t.Helper()
	t.Setenv(store.KeyEnv, "")
	st, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("the store %s does not open: %v", db, err)
	}
	return st
}
