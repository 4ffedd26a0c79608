package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core/proxy"
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

// TestProxyOwnCertificate: with --cert and --key the proxy serves that
// certificate on its TLS listeners and prints its fingerprint; a
// certificate with another pair's key is refused in one sentence.
func TestProxyOwnCertificate(t *testing.T) {
	db := setUpExampleTest(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certPEM, keyPEM, err := proxy.GenerateCertificate("mail-gw.example")
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := proxy.GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, wrongKey := write("cert.pem", certPEM), write("key.pem", keyPEM), write("other.pem", otherKey)
	blk, _ := pem.Decode(certPEM)
	sum := sha256.Sum256(blk.Bytes)
	want := strings.ToUpper(strings.Join(strings.Split(fmt.Sprintf("% x", sum[:]), " "), ":"))

	p := startProxy(t, db, "--cert", certFile, "--key", keyFile)
	if p.fingerprint != want {
		t.Errorf("printed fingerprint %s, want the given certificate's %s", p.fingerprint, want)
	}
	for _, addr := range []string{p.imaps, p.smtps} {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		got := c.ConnectionState().PeerCertificates
		c.Close()
		if len(got) == 0 || !bytes.Equal(got[0].Raw, blk.Bytes) {
			t.Errorf("%s serves another certificate than --cert", addr)
		}
	}

	r := mailoauth(t, db, "proxy", "--imap", "127.0.0.1:0", "--smtp", "", "--cert", certFile, "--key", wrongKey)
	msg := strings.TrimSpace(r.stderr)
	if r.code == 0 || strings.Contains(msg, "\n") || !strings.Contains(msg, certFile) || !strings.Contains(msg, "give a PEM certificate and its matching private key") {
		t.Errorf("--cert with another pair's --key: exit %d, stderr %q; want one sentence naming the file and the fix", r.code, r.stderr)
	}
}
