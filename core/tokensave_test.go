package core_test

import (
	"context"
	"errors"
	"strings"
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
