//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProxySIGHUPDuringStart: a SIGHUP (`systemctl reload`) while the proxy
// is still starting does not kill it: it reloads once serving, and serves.
// The start is held at a known point by locking the store, so the signal
// surely comes before the listeners are up.
func TestProxySIGHUPDuringStart(t *testing.T) {
	_, db, users, pw := proxySandboxSetup(t)
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	unlock := func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
	defer unlock()
	p := startProxyThen(t, db, func(p *proxyProcess) {
		waitForOpenFile(t, p, db)
		// The proxy waits for the store (up to its 2 s lock timeout).
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		unlock()
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.log.String(), "reloaded profiles and mailboxes") {
		if time.Now().After(deadline) {
			t.Fatalf("the SIGHUP during the start was not a reload once serving:\n%s", p.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	proxyIMAPSession(t, p, users[0], pw[users[0]])
}

// waitForOpenFile waits until the proxy process has path open.
func waitForOpenFile(t *testing.T, p *proxyProcess, path string) {
	t.Helper()
	want, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	fds := filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "fd")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		select {
		case <-p.exited:
			t.Fatalf("mailoauth proxy exited while starting:\n%s", p.log.String())
		default:
		}
		ents, _ := os.ReadDir(fds)
		for _, e := range ents {
			if l, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && l == want {
				return
			}
		}
	}
	t.Fatalf("mailoauth proxy did not open %s within 30 s:\n%s", path, p.log.String())
}
