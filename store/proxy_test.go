package store

import (
	"bytes"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store/storetest"
)

// TestProxyRecords: a proxy password hash is kept per mailbox and goes with
// the mailbox; the certificate's key is sealed (not in the file in clear);
// logins are audited without secrets.
func TestProxyRecords(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "example.test")
	if err := s.SetProxyPassword("example.test", "user1@example.test", "$argon2id$x", "test"); err == nil {
		t.Fatal("a proxy password for a mailbox that is not assigned was kept")
	}
	mustPutMailbox(t, s, "example.test", core.Mailbox{Email: "user1@example.test"})
	if err := s.SetProxyPassword("example.test", "User1@example.test", "$argon2id$x", "test"); err != nil {
		t.Fatal(err)
	}
	if h, ok, err := s.ProxyPasswordHash("example.test", "user1@example.test"); err != nil || !ok || h != "$argon2id$x" {
		t.Fatalf("hash: %q %v %v", h, ok, err)
	}
	// AddProxyPassword never replaces a password a product may be using
	if added, err := s.AddProxyPassword("example.test", "user1@example.test", "$argon2id$y", "test"); err != nil || added {
		t.Fatalf("AddProxyPassword over an existing password: added %v, err %v", added, err)
	}
	if h, _, _ := s.ProxyPasswordHash("example.test", "user1@example.test"); h != "$argon2id$x" {
		t.Fatalf("AddProxyPassword replaced the existing hash with %q", h)
	}
	keyPEM := []byte("-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n")
	if err := s.SaveProxyCertificate([]byte("CERT"), keyPEM, "test"); err != nil {
		t.Fatal(err)
	}
	c, k, ok, err := s.ProxyCertificate()
	if err != nil || !ok || string(c) != "CERT" || !bytes.Equal(k, keyPEM) {
		t.Fatalf("certificate: %q %q %v %v", c, k, ok, err)
	}
	if err := s.AuditProxyLogin(ProxyLogin{Mailbox: "user1@example.test", Client: "127.0.0.1", Protocol: "imap", Reason: "wrong password"}); err != nil {
		t.Fatal(err)
	}
	entries, _ := s.Audit("example.test", 1)
	if len(entries) != 1 || entries[0].Action != "proxy.login" || entries[0].Detail != "imap user1@example.test from 127.0.0.1: refused (wrong password)" {
		t.Fatalf("audit: %+v", entries)
	}
	if err := s.DeleteMailbox("example.test", "user1@example.test", "test"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ProxyPasswordHash("example.test", "user1@example.test"); ok {
		t.Fatal("the proxy password outlived its mailbox")
	}
	mustPutMailbox(t, s, "example.test", core.Mailbox{Email: "user1@example.test"})
	if added, err := s.AddProxyPassword("example.test", "user1@example.test", "$argon2id$z", "test"); err != nil || !added {
		t.Fatalf("AddProxyPassword for a mailbox without one: added %v, err %v", added, err)
	}
	if h, _, _ := s.ProxyPasswordHash("example.test", "user1@example.test"); h != "$argon2id$z" {
		t.Fatalf("AddProxyPassword kept %q", h)
	}
	s.Close()
	storetest.NoneInFile(t, s.Path(), "secret-key-material") // the proxy's private key
}
