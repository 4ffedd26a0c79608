package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

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

// TestPruneProxyLogins: proxy logins older than the age bound go, and
// beyond the count bound the oldest go; recent ones and every other entry
// (a profile change, however old) stay; deleting in several transactions
// loses nothing it should keep.
func TestPruneProxyLogins(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "example.test")
	now := time.Now().UTC()
	put := func(at time.Time, action, detail string) {
		t.Helper()
		err := s.update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(auditBucket))
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			raw, err := json.Marshal(AuditEntry{Time: at, Domain: "example.test", Actor: "test", Action: action, Detail: detail})
			if err != nil {
				return err
			}
			return b.Put(binary.BigEndian.AppendUint64(nil, seq), raw)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	old := now.Add(-ProxyLoginMaxAge - time.Hour)
	put(old, "profile.save", "an old change")
	for i := range 3 {
		put(old.Add(time.Duration(i)*time.Minute), proxyLoginAction, fmt.Sprintf("old login %d", i))
	}
	for i := range 5 {
		put(now.Add(time.Duration(i-5)*time.Minute), proxyLoginAction, fmt.Sprintf("recent login %d", i))
	}
	details := func() []string {
		t.Helper()
		entries, err := s.Audit("example.test", 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			if e.Action == proxyLoginAction || e.Detail == "an old change" {
				out = append(out, e.Detail)
			}
		}
		return out
	}

	n, err := s.PruneProxyLogins(now)
	want := []string{"recent login 4", "recent login 3", "recent login 2", "recent login 1", "recent login 0", "an old change"}
	if got := details(); err != nil || n != 3 || !slices.Equal(got, want) {
		t.Fatalf("pruned by age: %d deleted (%v), left %q, want 3 deleted, left %q", n, err, got, want)
	}
	n, err = s.pruneProxyLogins(now.Add(-ProxyLoginMaxAge), 2, 2)
	want = []string{"recent login 4", "recent login 3", "an old change"}
	if got := details(); err != nil || n != 3 || !slices.Equal(got, want) {
		t.Fatalf("pruned to 2 entries, 2 a transaction: %d deleted (%v), left %q, want 3 deleted, left %q", n, err, got, want)
	}
	if n, err := s.PruneProxyLogins(now); err != nil || n != 0 {
		t.Fatalf("nothing left to prune: %d deleted, %v", n, err)
	}
}
