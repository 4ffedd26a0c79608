//go:build linux

package store

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLockHeldByAnotherProgramIsNamed: a lock held by flock(1) is "another
// process (pid N, flock)", not "another mailoauth".
func TestLockHeldByAnotherProgramIsNamed(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("no flock(1) here")
	}
	t.Setenv(KeyEnv, "")
	path := filepath.Join(t.TempDir(), "mailoauth.db")
	s := openStore(t, path, Options{})
	s.Close()
	cmd := exec.Command("flock", "-x", path, "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	want := "another process (pid " + strconv.Itoa(cmd.Process.Pid) + ", flock)"
	for deadline := time.Now().Add(30 * time.Second); lockHolder(path) != want && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "store is in use by "+want) {
		locks, _ := os.ReadFile("/proc/locks")
		t.Errorf("Open while flock holds the store: %v, want %q\n%s", err, want, locks)
	}
}
