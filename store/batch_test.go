package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

// TestBatchedTokenWritesNeverLost: tokens saved while another write is
// being committed are committed together in one more transaction, every
// SaveToken that returned nil is in the store after it is closed and
// opened again, and a write that fails fails alone.
func TestBatchedTokenWritesNeverLost(t *testing.T) {
	t.Parallel()
	s, path := newStore(t)
	mustSaveProfile(t, s, "example.com")
	c := s.TokenCache("example.com")
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	tok := func(i int) core.Token {
		return core.Token{Mailbox: fmt.Sprintf("user%d@example.com", i), Scopes: []string{core.ScopeMail},
			AccessToken: fmt.Sprintf("ya29.token-%d", i), Expiry: exp}
	}

	// A write in progress holds the others back, so they gather.
	hold, held := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.batch(func(tx *bolt.Tx) error { close(held); <-hold; return nil })
	}()
	<-held
	const n = 50
	errs := make([]error, n+1)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); errs[i] = c.SaveToken(tok(i)) }(i)
	}
	// One write that fails: no profile for its domain.
	wg.Add(1)
	go func() { defer wg.Done(); errs[n] = s.TokenCache("nowhere.example").SaveToken(tok(n)) }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) { // hang guard
		s.group.mu.Lock()
		queued := len(s.group.pending)
		s.group.mu.Unlock()
		if queued == n+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d writes queued behind the held one", queued)
		}
	}
	close(hold)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("SaveToken %d: %v", i, errs[i])
		}
	}
	if !errors.Is(errs[n], ErrNotFound) {
		t.Fatalf("the write without a profile: %v", errs[n])
	}
	s.group.mu.Lock()
	commits := s.group.commits
	s.group.mu.Unlock()
	// The held write, the 51 gathered ones together, then (that group
	// failing on the bad write) each of the 51 alone.
	if commits != 2 {
		t.Fatalf("%d group commits, want 2 (the held write, then all the gathered ones)", commits)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, path, Options{})
	c2 := s2.TokenCache("example.com")
	for i := 0; i < n; i++ {
		got, ok, err := c2.LoadToken(tok(i).Mailbox, []string{core.ScopeMail})
		if err != nil || !ok || got.AccessToken != tok(i).AccessToken {
			t.Fatalf("token %d after reopening: %+v %v %v", i, got, ok, err)
		}
	}
}

// BenchmarkTokenCacheSave: tokens saved by many mailboxes at once, as a
// bulk run does (group commit: one fsync for all that arrive together).
func BenchmarkTokenCacheSave(b *testing.B) {
	s, _ := newStore(b)
	mustSaveProfile(b, s, "example.com")
	c := s.TokenCache("example.com")
	exp := time.Now().Add(time.Hour)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if err := c.SaveToken(core.Token{Mailbox: fmt.Sprintf("user%d@example.com", i), Scopes: []string{core.ScopeMail}, AccessToken: "ya29.x", Expiry: exp}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTokenCacheLoad: a cached token looked up and unsealed.
func BenchmarkTokenCacheLoad(b *testing.B) {
	s, _ := newStore(b)
	mustSaveProfile(b, s, "example.com")
	c := s.TokenCache("example.com")
	if err := c.SaveToken(core.Token{Mailbox: "user1@example.com", Scopes: []string{core.ScopeMail}, AccessToken: "ya29.x", Expiry: time.Now().Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok, err := c.LoadToken("user1@example.com", []string{core.ScopeMail}); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
