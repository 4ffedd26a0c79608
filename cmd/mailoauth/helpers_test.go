package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mailoauth/mailoauth/store"
)

// neomuttBatch ends every test neomuttrc: NeoMutt quits without asking,
// keeps no copy and caches nothing, so it runs unattended.
const neomuttBatch = `set quit = yes
set wait_key = no
set copy = no
set header_cache = ""
set message_cachedir = ""
`

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
