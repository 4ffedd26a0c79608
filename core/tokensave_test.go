package core_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// saveFailsCache is a token cache whose store cannot be written.
type saveFailsCache struct{ core.MemoryTokenCache }

func (*saveFailsCache) SaveToken(core.Token) error {
	return errors.New("write /srv/mailoauth/mailoauth.db: no space left on device")
}

// TestTokenNotCachedIsNoted: a token that was minted and works but could
// not be saved does not fail the check, and the result says so and what to
// do; the next check mints again, as the note says.
func TestTokenNotCachedIsNoted(t *testing.T) {
	e := newEnv(t, 1, true)
	tester, err := core.NewTester(e.profile, &saveFailsCache{})
	if err != nil {
		t.Fatal(err)
	}
	minted := e.sb.TokensMinted()
	r := tester.Check(context.Background(), e.user(1), []core.CheckName{core.CheckToken, core.CheckIMAP})
	if !r.OK {
		t.Fatalf("a token the store could not keep failed the check: %+v", r.Finding)
	}
	if len(r.Notes) != 1 || !strings.HasPrefix(r.Notes[0], core.NoteTokenNotCached) ||
		!strings.Contains(r.Notes[0], "no space left on device") || !strings.Contains(r.Notes[0], "disk space") {
		t.Fatalf("notes %q, want one saying the token was not cached, why and what to do", r.Notes)
	}
	if strings.Count(r.Notes[0], ". ") > 0 {
		t.Fatalf("note %q is more than one sentence", r.Notes[0])
	}
	r = tester.Check(context.Background(), e.user(1), []core.CheckName{core.CheckToken})
	if !r.OK || len(r.Notes) != 1 {
		t.Fatalf("second check: %+v notes %q", r.Finding, r.Notes)
	}
	if got := e.sb.TokensMinted() - minted; got != 2 {
		t.Fatalf("%d tokens minted for two checks with a store that keeps none, want 2", got)
	}
	// a store that works: no note
	r = e.check(t, e.user(1), core.CheckToken)
	if !r.OK || len(r.Notes) != 0 {
		t.Fatalf("with a working store: %+v notes %q", r.Finding, r.Notes)
	}
}

// laterCache saves tokens for later (core.TokenSaverLater): each wait is
// counted and fails with err.
type laterCache struct {
	core.MemoryTokenCache
	err    error
	waited atomic.Int32
}

func (c *laterCache) SaveTokenLater(t core.Token) func() error {
	if c.err == nil {
		_ = c.SaveToken(t)
	}
	return func() error { c.waited.Add(1); return c.err }
}

// TestTokenSavedLaterIsWaitedFor: a check whose cache saves tokens later
// waits for the save before its result is returned, and a save that
// failed is noted as one that failed at once would be.
func TestTokenSavedLaterIsWaitedFor(t *testing.T) {
	e := newEnv(t, 1, true)
	for _, saveErr := range []error{nil, errors.New("write /srv/mailoauth/mailoauth.db: no space left on device")} {
		cache := &laterCache{err: saveErr}
		tester, err := core.NewTester(e.profile, cache)
		if err != nil {
			t.Fatal(err)
		}
		r := tester.Check(context.Background(), e.user(1), []core.CheckName{core.CheckToken, core.CheckIMAP})
		if !r.OK {
			t.Fatalf("save error %v: %+v", saveErr, r.Finding)
		}
		if got := cache.waited.Load(); got != 1 {
			t.Fatalf("save error %v: the save was waited for %d times before the result, want 1", saveErr, got)
		}
		noted := len(r.Notes) == 1 && strings.HasPrefix(r.Notes[0], core.NoteTokenNotCached) && strings.Contains(r.Notes[0], "no space left on device")
		if saveErr == nil && len(r.Notes) != 0 || saveErr != nil && !noted {
			t.Fatalf("save error %v: notes %q", saveErr, r.Notes)
		}
	}
}
