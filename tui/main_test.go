package tui

import (
	"fmt"
	"os"
	"testing"
)

// TestMain keeps the sandbox files that wizards write (the sandbox's
// private key among them) in one directory removed when the tests end:
// most tests build a wizard and drop it without its cleanup, which left a
// mailoauth-sandbox-* directory in the system's temporary directory per
// wizard, hundreds per run.
func TestMain(m *testing.M) {
	root, err := os.MkdirTemp("", "mailoauth-tui-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sandboxFilesDir = func() (string, error) { return os.MkdirTemp(root, "mailoauth-sandbox-") }
	code := m.Run()
	os.RemoveAll(root)
	os.Exit(code)
}
