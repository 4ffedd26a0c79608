package tui

import (
	"errors"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// Two wizards on one store (two SSH sessions): the later save of the same
// profile is refused with who changed what, and after the reload it lands
// on top without losing the first one's change.
func TestTwoWizardsNeverLoseEachOthersWrites(t *testing.T) {
	t.Setenv(store.KeyEnv, "")
	st, _ := openTestStore(t, "m.db")
	base := core.Profile{Domain: "example.test", DefaultSender: "admin@example.test", Scopes: []string{core.ScopeMail}}
	if err := st.SaveProfile(base, "cli root@host"); err != nil {
		t.Fatal(err)
	}
	alice := &storeBackend{s: st, actor: "ssh alice (SHA256:aaa)"}
	bob := &storeBackend{s: st, actor: "ssh bob (SHA256:bbb)"}
	pa, _ := alice.ListProfiles()
	pb, _ := bob.ListProfiles()

	pa[0].DefaultSender = "alice@example.test"
	if err := alice.save(pa[0]); err != nil {
		t.Fatal(err)
	}
	pb[0].Scopes = []string{core.ScopeMail, core.ScopeCalendar}
	err := bob.save(pb[0])
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("bob's save over alice's change: %v", err)
	}
	for _, want := range []string{"ssh alice (SHA256:aaa)", "default sender alice@example.test"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("conflict message lacks %q: %v", want, err)
		}
	}
	// reload (what the wizard does), apply again
	pb, _ = bob.ListProfiles()
	pb[0].Scopes = []string{core.ScopeMail, core.ScopeCalendar}
	if err := bob.save(pb[0]); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Profile("example.test")
	if got.DefaultSender != "alice@example.test" || len(got.Scopes) != 2 {
		t.Errorf("a write was lost: %+v", got)
	}
	if a, _ := st.Audit("example.test", 1); len(a) != 1 || a[0].Actor != "ssh bob (SHA256:bbb)" {
		t.Errorf("audit actor: %+v", a)
	}
}

func (b *storeBackend) save(p core.Profile) error {
	_, _, err := b.SyncProfile(p)
	return err
}
