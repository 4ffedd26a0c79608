//go:build unix

package core

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core/coretest"
)

// Each kind of path that is not a key file is refused in one sentence
// naming what it is, before anything is read: /dev/zero used to fill
// memory, a FIFO blocked forever, a 50 MB file was stored as a key.
func TestReadUserFileRefusesWhatIsNotARegularFileOfItsSize(t *testing.T) {
	dir := t.TempDir()
	fifo := coretest.FIFO(t, dir, "fifo")
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, 50<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cases := []struct {
		path string
		env  bool
		want string
	}{
		{"/dev/zero", false, "/dev/zero is a device, not a key file"},
		{fifo, false, "is a named pipe (FIFO)"},
		{dir, false, "is a directory, not a key file"},
		{sock, false, "is a socket, not a key file"},
		{big, false, "big.json is 50 MiB, more than a key file can be (at most 64 KiB)"},
		{filepath.Join(dir, "missing.json"), true, "cannot read the key file"},
	}
	for _, c := range cases {
		data, err := ReadUserFile(context.Background(), c.path, CredentialFile)
		if data != nil {
			t.Errorf("%s: read %d bytes", c.path, len(data))
		}
		oneSentence(t, err, c.want)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Env != c.env {
			t.Errorf("%s: %T %+v, want an InputError with Env %v (exit %d)", c.path, err, err, c.env, map[bool]int{false: 2, true: 3}[c.env])
		}
	}
	// the credential loader goes through it
	if _, _, err := LoadCredentialFile(context.Background(), "/dev/zero", CredentialOptions{}); err == nil || !strings.Contains(err.Error(), "is a device") {
		t.Errorf("LoadCredentialFile(/dev/zero): %v", err)
	}
	// so do the legacy and endpoints loaders
	if _, err := LoadLegacy(context.Background(), fifo); err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Errorf("LoadLegacy(fifo): %v", err)
	}
	if _, err := LoadEndpoints(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "is a directory, not an endpoints file") {
		t.Errorf("LoadEndpoints(dir): %v", err)
	}
}

func TestReadUserFileReadsUpToItsCapAndHonoursTheContext(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "k.json")
	exact := make([]byte, CredentialFile.Max)
	if err := os.WriteFile(p, exact, 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadUserFile(context.Background(), p, CredentialFile); err != nil || len(data) != len(exact) {
		t.Fatalf("a file of exactly the cap: %d bytes, %v", len(data), err)
	}
	if err := os.WriteFile(p, append(exact, 'x'), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadUserFile(context.Background(), p, CredentialFile); err == nil || !strings.Contains(err.Error(), "at most 64 KiB") {
		t.Fatalf("one byte over the cap: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadUserFile(ctx, p, CSVFile); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled read: %v", err)
	}
	// a symlink to a regular file is fine; to a device it is not
	link := filepath.Join(dir, "link")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadUserFile(context.Background(), link, CredentialFile); err == nil || !strings.Contains(err.Error(), "is a device") {
		t.Fatalf("a symlink to /dev/zero: %v", err)
	}
}
