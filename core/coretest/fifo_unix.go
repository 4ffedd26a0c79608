//go:build unix

package coretest

import (
	"path/filepath"
	"syscall"
	"testing"
)

// FIFO makes a named pipe called name in dir and returns its path; where
// the system has none it skips the test.
func FIFO(t testing.TB, dir, name string) string {
	t.Helper()
	fifo := filepath.Join(dir, name)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	return fifo
}
