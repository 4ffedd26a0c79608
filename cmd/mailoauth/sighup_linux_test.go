//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core/coretest"
	"github.com/mailoauth/mailoauth/store"
)

// TestProxySIGHUPDuringStart: a SIGHUP (`systemctl reload`) while the proxy
// is still starting does not kill it: it reloads once serving, and serves.
// The start is held at a known point by locking the store, so the signal
// surely comes before the listeners are up.
func TestProxySIGHUPDuringStart(t *testing.T) {
	_, db, users, pw := proxySandboxSetup(t)
	unlock := holdStoreLock(t, db)
	p := startProxyThen(t, db, func(p *proxyProcess) {
		reloadWhileStarting(t, p.cmd, p.exited, p.log, db, unlock)
	})
	waitForLog(t, p.exited, p.log, "proxy: reloaded profiles and mailboxes")
	proxyIMAPSession(t, p, users[0], pw[users[0]])
}

// TestWatchSIGHUPDuringStart: `mailoauth watch` is not killed by a SIGHUP
// while it starts (waiting for the store): it re-reads the profiles once
// watching, and goes on watching.
func TestWatchSIGHUPDuringStart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	st, err := store.Open(db, store.Options{}) // no profile: nothing slow to check
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	unlock := holdStoreLock(t, db)
	cmd := exec.Command(binary, "--db", db, "watch", "--interval", "1s", "--metrics", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=")
	log := &coretest.Buffer{}
	out := startPiped(t, cmd, log)
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(hang):
			_ = cmd.Process.Kill()
			t.Errorf("watch did not exit on SIGTERM")
		}
	})
	go func() { _, _ = io.Copy(io.Discard, out) }()
	reloadWhileStarting(t, cmd, exited, log, db, unlock)
	waitForLog(t, exited, log, "reloaded the profiles")
	select {
	case <-exited:
		t.Fatalf("watch exited after the reload:\n%s", log.String())
	case <-time.After(1500 * time.Millisecond): // a round's length and more
	}
	if strings.Contains(log.String(), "level=ERROR") {
		t.Errorf("watch logged an error:\n%s", log.String())
	}
}

// holdStoreLock takes the store's lock as another process in a transaction
// would, so a mailoauth starting on it waits there; unlock lets it go (it
// also does when the test ends).
func holdStoreLock(t *testing.T, db string) (unlock func()) {
	t.Helper()
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	unlock = func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
	t.Cleanup(func() { unlock(); f.Close() })
	return unlock
}

// reloadWhileStarting sends SIGHUP to cmd once it waits for the store held
// by holdStoreLock (within its 1.5 s lock wait), then lets the store go.
func reloadWhileStarting(t *testing.T, cmd *exec.Cmd, exited <-chan struct{}, log fmt.Stringer, db string, unlock func()) {
	t.Helper()
	waitForOpenFile(t, cmd, exited, log, db)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	unlock()
}

// waitForLog waits until log holds line; the limit is a hang guard.
func waitForLog(t *testing.T, exited <-chan struct{}, log fmt.Stringer, line string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(log.String(), line); time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("mailoauth exited instead of reloading once running (a SIGHUP during its start ends it):\n%s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SIGHUP during the start was not a reload once running (no %q):\n%s", line, log.String())
		}
	}
}

// waitForOpenFile waits until the process of cmd has path open.
func waitForOpenFile(t *testing.T, cmd *exec.Cmd, exited <-chan struct{}, log fmt.Stringer, path string) {
	t.Helper()
	want, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	fds := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "fd")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("mailoauth exited while starting:\n%s", log.String())
		default:
		}
		ents, _ := os.ReadDir(fds)
		for _, e := range ents {
			if l, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && l == want {
				return
			}
		}
	}
	t.Fatalf("mailoauth did not open %s within 30 s:\n%s", path, log.String())
}
