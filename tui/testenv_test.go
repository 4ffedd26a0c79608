package tui

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core/sandbox"
	"github.com/mailoauth/mailoauth/store"
)

// startSandbox starts a sandbox for one test; it closes when the test ends.
func startSandbox(t testing.TB, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

// openTestStore opens a new store named name in a temporary directory for
// one test and returns it with its path; it closes when the test ends.
func openTestStore(t testing.TB, name string) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, path
}

// waitRunDone waits until the test step reports want with nothing left to go.
func waitRunDone(h *harness, want string) {
	h.waitUntil(want, func(s string) bool { return strings.Contains(s, want) && !strings.Contains(s, "to go") }, 60*time.Second)
}
