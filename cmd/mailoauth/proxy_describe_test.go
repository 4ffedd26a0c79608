package main

import (
	"path/filepath"
	"strings"
	"testing"
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
	// Without the refusal the proxy would serve until mailoauth's deadline.
	r := mailoauth(t, db, "--profile", "example.test", "proxy", "--imap", "127.0.0.1:0", "--smtp", "127.0.0.1:0")
	if r.code != 2 || !strings.Contains(r.stderr, "leave out --profile") {
		t.Errorf("proxy --profile: exit %d, stderr %q; want exit 2 saying to leave out --profile", r.code, r.stderr)
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
	setupStore(t, db, dir, "--key", "--no-verify")
	return db
}
