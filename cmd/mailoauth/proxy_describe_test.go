package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProxyServingLineCounts: the proxy's start and reload lines count
// like the other commands ("2 profile(s) in ..."), never "1 profiles".
func TestProxyServingLineCounts(t *testing.T) {
	d := &proxyDirectory{domains: map[string]string{"user1@example.test": "example.test"}, profiles: 1}
	if got, want := d.describe(), "1 mailbox(es) of 1 profile(s)"; got != want {
		t.Errorf("the proxy says it is serving %q, want %q", got, want)
	}
}

// TestProxyRefusesProfile: the proxy serves every profile's mailboxes, so
// a --profile would be silently ignored; it is refused as watch refuses it.
func TestProxyRefusesProfile(t *testing.T) {
	db := setUpExampleTest(t)
	// a hang guard: without the refusal the proxy would serve until stopped
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--db", db, "--profile", "example.test", "proxy", "--imap", "127.0.0.1:0", "--smtp", "127.0.0.1:0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "leave out --profile") {
		t.Errorf("proxy --profile: %v, stderr %q; want exit 2 saying to leave out --profile", err, stderr.String())
	}
}

// TestProxyListenAddressIsOneSentence: --imap nonsense names the flag and a
// value to use instead of Go's "listen tcp: address nonsense: missing port".
func TestProxyListenAddressIsOneSentence(t *testing.T) {
	db := setUpExampleTest(t)
	r := mailoauth(t, db, "proxy", "--imap", "nonsense", "--smtp", "")
	if r.code != 2 || strings.TrimSpace(r.stderr) != "mailoauth: --imap nonsense is not HOST:PORT; use e.g. 127.0.0.1:1993" {
		t.Errorf("proxy --imap nonsense: exit %d, stderr %q", r.code, r.stderr)
	}
}

// setUpExampleTest is a store with the profile example.test of a sandbox
// (not verified).
func setUpExampleTest(t *testing.T) (db string) {
	t.Helper()
	dir := delegatedSandbox(t, 1)
	db = filepath.Join(t.TempDir(), "mailoauth.db")
	if r := mailoauth(t, db, "setup", "--domain", "example.test", "--sender", "admin@example.test", "--no-verify",
		"--key", filepath.Join(dir, "service-account.json"), "--endpoints", filepath.Join(dir, "endpoints.json")); r.code != 0 {
		t.Fatalf("setup: exit %d %s", r.code, r.stderr)
	}
	return db
}
