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

// savedLater is c's SaveTokenLater (the store's token cache has it).
func savedLater(t testing.TB, c core.TokenCache) core.TokenSaverLater {
	t.Helper()
	l, ok := c.(core.TokenSaverLater)
	if !ok {
		t.Fatal("the store's token cache does not save tokens later")
	}
	return l
}

// laterToken is the i-th token of the tests of SaveTokenLater.
func laterToken(i int) core.Token {
	return core.Token{Mailbox: fmt.Sprintf("user%d@example.com", i), Scopes: []string{core.ScopeMail},
		AccessToken: fmt.Sprintf("ya29.later-%d", i), Expiry: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
}

// TestTokensSavedLaterShareOneCommit: tokens saved for later wait in the
// batching window (none is in the store yet), a write that is waited for
// ends the window, and all of them go in one transaction; a later write
// that fails (no profile) fails alone, and every wait says its outcome.
func TestTokensSavedLaterShareOneCommit(t *testing.T) {
	t.Parallel()
	s, path := newStore(t)
	mustSaveProfile(t, s, "example.com")
	s.group.window = time.Hour // only the write below ends it
	c := s.TokenCache("example.com")
	const n = 50
	waits := make([]func() error, n)
	for i := range n {
		waits[i] = savedLater(t, c).SaveTokenLater(laterToken(i))
	}
	bad := savedLater(t, s.TokenCache("nowhere.example")).SaveTokenLater(laterToken(n))
	if _, ok, err := c.LoadToken(laterToken(0).Mailbox, []string{core.ScopeMail}); ok || err != nil {
		t.Fatalf("a token saved for later is in the store before its window ended: %v %v", ok, err)
	}
	s.group.mu.Lock()
	commits := s.group.commits
	s.group.mu.Unlock()
	if commits != 0 {
		t.Fatalf("%d commits during the window, want 0", commits)
	}
	if err := c.SaveToken(laterToken(n + 1)); err != nil {
		t.Fatal(err)
	}
	for i, wait := range waits {
		if err := wait(); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		if err := wait(); err != nil { // a second wait says the same
			t.Fatalf("token %d, waited again: %v", i, err)
		}
	}
	if err := bad(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the token without a profile: %v", err)
	}
	s.group.mu.Lock()
	commits = s.group.commits
	s.group.mu.Unlock()
	// All 52 together, then (that group failing on the bad write) each alone.
	if commits != 1 {
		t.Fatalf("%d group commits, want 1 (the window's writes with the one that ended it)", commits)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c2 := openStore(t, path, Options{}).TokenCache("example.com")
	for _, i := range []int{0, n - 1, n + 1} {
		if got, ok, err := c2.LoadToken(laterToken(i).Mailbox, []string{core.ScopeMail}); err != nil || !ok || got.AccessToken != laterToken(i).AccessToken {
			t.Fatalf("token %d after reopening: %+v %v %v", i, got, ok, err)
		}
	}
}

// TestCloseCommitsTokensSavedLater: closing the store during the batching
// window commits the tokens waiting in it, whether or not anyone waits.
func TestCloseCommitsTokensSavedLater(t *testing.T) {
	t.Parallel()
	s, path := newStore(t)
	mustSaveProfile(t, s, "example.com")
	s.group.window = time.Hour
	c := s.TokenCache("example.com")
	wait := savedLater(t, c).SaveTokenLater(laterToken(1))
	savedLater(t, c).SaveTokenLater(laterToken(2)) // never waited for
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a speed goal
		t.Fatal("Close did not end the batching window")
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	c2 := openStore(t, path, Options{}).TokenCache("example.com")
	for _, i := range []int{1, 2} {
		if _, ok, err := c2.LoadToken(laterToken(i).Mailbox, []string{core.ScopeMail}); err != nil || !ok {
			t.Fatalf("token %d saved for later is not in the store after Close: %v %v", i, ok, err)
		}
	}
}

// commitInFlight starts a write on s that stays in its transaction until
// release is called, and returns once that commit is under way.
func commitInFlight(t *testing.T, s *Store) (release func()) {
	t.Helper()
	entered, unblock, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.batch(func(*bolt.Tx) error {
			close(entered)
			<-unblock
			return nil
		})
	}()
	<-entered
	return func() {
		close(unblock)
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// mustReturn fails the test if done yields an error, or nothing for so
// long that the batching window (an hour in these tests) was waited out.
func mustReturn(t *testing.T, done <-chan error, hung string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a speed goal
		t.Fatal(hung)
	}
}

// settle gives a goroutine just started time to block where the test
// means it to. Were it late, the tests below would pass without proving
// anything; they never fail for it.
func settle() { time.Sleep(20 * time.Millisecond) }

// TestWaitDuringCommitEndsWindow: a token saved for later while another
// commit is in flight, and waited for before that commit ends, is
// committed right after it, not when the batching window runs out (a bulk
// run's mailbox holds its slot while it waits).
func TestWaitDuringCommitEndsWindow(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	mustSaveProfile(t, s, "example.com")
	s.group.window = time.Hour // only the wait below may end it
	c := s.TokenCache("example.com")
	release := commitInFlight(t, s)
	wait := savedLater(t, c).SaveTokenLater(laterToken(1))
	waited := make(chan error, 1)
	go func() { waited <- wait() }()
	settle()
	release()
	mustReturn(t, waited, "the wait did not end the batching window that followed the commit in flight")
	if _, ok, err := c.LoadToken(laterToken(1).Mailbox, []string{core.ScopeMail}); err != nil || !ok {
		t.Fatalf("after its wait returned the token is not in the store: %v %v", ok, err)
	}
}

// TestCloseDuringCommitCommitsTokensSavedLater: a token saved for later
// while Close waits for a commit in flight is committed and Close returns
// right after, not when the batching window runs out.
func TestCloseDuringCommitCommitsTokensSavedLater(t *testing.T) {
	t.Parallel()
	s, path := newStore(t)
	mustSaveProfile(t, s, "example.com")
	s.group.window = time.Hour
	c := s.TokenCache("example.com")
	release := commitInFlight(t, s)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	settle()
	savedLater(t, c).SaveTokenLater(laterToken(1)) // never waited for
	release()
	mustReturn(t, closed, "Close did not end the batching window that followed the commit in flight")
	c2 := openStore(t, path, Options{}).TokenCache("example.com")
	if _, ok, err := c2.LoadToken(laterToken(1).Mailbox, []string{core.ScopeMail}); err != nil || !ok {
		t.Fatalf("the token saved for later is not in the store after Close: %v %v", ok, err)
	}
}

// TestTokenSavedLaterAloneCommits: a lone token saved for later is
// committed when its window ends, with nothing else to end it.
func TestTokenSavedLaterAloneCommits(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	mustSaveProfile(t, s, "example.com")
	c := s.TokenCache("example.com")
	if err := savedLater(t, c).SaveTokenLater(laterToken(1))(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.LoadToken(laterToken(1).Mailbox, []string{core.ScopeMail}); err != nil || !ok {
		t.Fatalf("after its wait returned the token is not in the store: %v %v", ok, err)
	}
}

// BenchmarkTokenCacheSave: tokens saved by many mailboxes at once, as a
// bulk run does (group commit: one fsync for all that arrive together).
func BenchmarkTokenCacheSave(b *testing.B) {
	benchTokenSaves(b, func(c core.TokenCache, t core.Token) error { return c.SaveToken(t) })
}

// BenchmarkTokenCacheSaveLater: tokens saved for later by many mailboxes
// at once, each then waited for, as a bulk run does: ns/op is mostly the
// wait shared by the goroutines (not CPU); commits/op says how many tokens
// share a transaction.
func BenchmarkTokenCacheSaveLater(b *testing.B) {
	s := benchTokenSaves(b, func(c core.TokenCache, t core.Token) error { return savedLater(b, c).SaveTokenLater(t)() })
	s.group.mu.Lock()
	b.ReportMetric(float64(s.group.commits)/float64(b.N), "commits/op")
	s.group.mu.Unlock()
}

// benchTokenSaves saves b.N tokens with save from 64 goroutines.
func benchTokenSaves(b *testing.B, save func(core.TokenCache, core.Token) error) *Store {
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
			if err := save(c, core.Token{Mailbox: fmt.Sprintf("user%d@example.com", i), Scopes: []string{core.ScopeMail}, AccessToken: "ya29.x", Expiry: exp}); err != nil {
				b.Fatal(err)
			}
		}
	})
	return s
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
