package core

import (
	"context"
	"sync/atomic"
	"testing"
)

// deleteCountingCache is a MemoryTokenCache that counts DeleteToken calls
// (each one a store transaction with its own disk sync in the real store).
type deleteCountingCache struct {
	MemoryTokenCache
	deletes atomic.Int32
}

func (c *deleteCountingCache) DeleteToken(mailbox string, scopes []string) error {
	c.deletes.Add(1)
	return c.MemoryTokenCache.DeleteToken(mailbox, scopes)
}

// TestFreshMintsOverTheCacheAndDropsARefusedToken: --fresh mints a new
// token over a usable cached one without a delete transaction of its own;
// when Google refuses the mint, the cached token is dropped, so a later
// run without --fresh does not pass on it.
func TestFreshMintsOverTheCacheAndDropsARefusedToken(t *testing.T) {
	f := newFakeTokenServer(t)
	cache := &deleteCountingCache{}
	p := &TokenProvider{Cred: testCred(f.URL), Cache: cache}
	ctx := context.Background()
	const box = "user1@example.test"
	old, _, err := p.Token(ctx, box)
	if err != nil {
		t.Fatal(err)
	}
	tester := &Tester{Tokens: p, Fresh: true}
	if r := tester.Check(ctx, box, []CheckName{CheckToken}); !r.OK {
		t.Fatalf("fresh check failed: %+v", r.Finding)
	}
	if n := f.mints.Load(); n != 2 {
		t.Fatalf("%d tokens minted, want 2: --fresh must mint over the cached token", n)
	}
	now, ok, _ := cache.LoadToken(box, p.scopes())
	if !ok || now.AccessToken == old.AccessToken {
		t.Fatalf("the cache holds %q, want the fresh token (old %q)", now.AccessToken, old.AccessToken)
	}
	if n := cache.deletes.Load(); n != 0 {
		t.Fatalf("%d DeleteToken calls for a fresh mint that succeeded, want 0 (the save overwrites)", n)
	}

	f.fail(box, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
	if r := tester.Check(ctx, box, []CheckName{CheckToken}); r.OK {
		t.Fatal("fresh check passed though Google refused the mint")
	}
	if _, ok, _ := cache.LoadToken(box, p.scopes()); ok {
		t.Fatal("the cached token survived a refused fresh mint: a run without --fresh would pass on it")
	}
	if r := (&Tester{Tokens: p}).Check(ctx, box, []CheckName{CheckToken}); r.OK {
		t.Fatal("a run without --fresh passed on the token the configuration no longer grants")
	}
}

// TestFreshRetryAfterThrottledMintMintsAgain: when the token endpoint
// throttles a --fresh mint, the mailbox's retry mints a token of this run,
// not the one cached before it.
func TestFreshRetryAfterThrottledMintMintsAgain(t *testing.T) {
	f := newFakeTokenServer(t)
	p := &TokenProvider{Cred: testCred(f.URL)}
	ctx := context.Background()
	const box = "user1@example.test"
	old, _, err := p.Token(ctx, box)
	if err != nil {
		t.Fatal(err)
	}
	f.fail(box, OAuthRateLimitExceeded, DescRateLimitExceeded)
	tester := &Tester{Tokens: p, Fresh: true}
	check := func(ctx context.Context, m string, checks []CheckName, onCheck func(CheckResult)) MailboxResult {
		r := tester.check(ctx, m, checks, onCheck)
		f.mu.Lock()
		delete(f.errFor, box) // throttled once
		f.mu.Unlock()
		return r
	}
	fc := newFakeRunClock()
	res := runAll(ctx, check, []string{box}, RunOptions{Checks: []CheckName{CheckToken}, clock: fc.clock()})
	if r := res[0]; !r.OK || len(r.Notes) != 1 {
		t.Fatalf("result %+v notes %q, want passed after one noted retry", r.Finding, r.Notes)
	}
	if n := f.mints.Load(); n != 2 {
		t.Fatalf("%d tokens minted, want 2: the retry passed on the token cached before the --fresh run", n)
	}
	if now, _, _ := p.cache().LoadToken(box, p.scopes()); now.AccessToken == old.AccessToken {
		t.Fatal("the cache still holds the token from before the --fresh run")
	}
}
