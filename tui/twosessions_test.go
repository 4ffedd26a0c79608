package tui

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// Two administrators (two SSH sessions: two wizards on the server's one
// store) open the same profile. A changes the default sender on the domain
// step; B, who loaded the profile before, then saves a scope change on the
// authorize step: B is told in one sentence who changed what and when, and
// after B applies the change again both changes are in the store.
func TestTwoSessionsConflictThroughTheScreens(t *testing.T) {
	st, _ := openTestStore(t, "two.db")
	base := core.Profile{Domain: "example.test", DefaultSender: "admin@example.test", Scopes: []string{core.ScopeMail},
		WizardStep: int(numSteps)}
	if err := st.SaveProfile(base, "cli root@host"); err != nil {
		t.Fatal(err)
	}
	const alice, bob = "ssh alice (SHA256:aliceKeyFp)", "ssh bob (SHA256:bobKeyFp)"
	a := start(t, New(Config{Store: st, Actor: alice, Profile: "example.test", Remote: true}), 120, 40)
	b := start(t, New(Config{Store: st, Actor: bob, Profile: "example.test", Remote: true}), 120, 40)
	a.waitFor("example.test is configured")
	b.waitFor("example.test is configured")

	// A: step 2, a new default sender.
	a.send(runeKey('2'))
	a.waitFor("Default sender")
	for range len("admin@example.test") {
		a.send(keyCode(tea.KeyBackspace))
	}
	a.typeText("alice@example.test")
	a.waitFor("alice@example.test")
	a.send(enter())
	a.waitUntil("A's save", func(string) bool {
		p, err := st.Profile("example.test")
		return err == nil && p.DefaultSender == "alice@example.test"
	})

	// B: step 4, Calendar on, continue: refused, told why.
	b.send(runeKey('4'))
	b.waitFor("Authorize the scope")
	b.send(runeKey('1'))
	b.waitFor("[x] 1 Calendar")
	b.send(runeKey('n'))
	b.waitFor("Not saved")
	scr := b.p.screen()
	msg := statusSentence(scr)
	for _, want := range []string{alice, "default sender alice@example.test", "apply yours again"} {
		if !strings.Contains(msg, want) {
			t.Errorf("B's message lacks %q: %q\n%s", want, msg, scr)
		}
	}
	if !regexp.MustCompile(`\b\d{2}:\d{2}:\d{2}\b`).MatchString(msg) {
		t.Errorf("B's message does not say when: %q", msg)
	}
	if n := len(regexp.MustCompile(`[.!?](\s|$)`).FindAllString(msg, -1)); n != 1 {
		t.Errorf("B's message is %d sentences, want one: %q", n, msg)
	}
	if p, _ := st.Profile("example.test"); p.DefaultSender != "alice@example.test" || slices.Contains(p.Scopes, core.ScopeCalendar) {
		t.Fatalf("after the refused save: %+v", p)
	}

	// B applies the change again on top of A's.
	b.send(runeKey('1'))
	b.waitFor("[x] 1 Calendar")
	b.send(runeKey('n'))
	b.waitUntil("B's save", func(string) bool {
		p, err := st.Profile("example.test")
		return err == nil && slices.Contains(p.Scopes, core.ScopeCalendar)
	})
	a.final()
	b.final()

	p, err := st.Profile("example.test")
	if err != nil {
		t.Fatal(err)
	}
	if p.DefaultSender != "alice@example.test" || !slices.Contains(p.Scopes, core.ScopeCalendar) {
		t.Errorf("a change was lost: sender %s, scopes %v", p.DefaultSender, p.Scopes)
	}
	audit, err := st.Audit("example.test", 0)
	if err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, e := range audit {
		if e.Action == "profile.save" {
			who = append(who, e.Actor)
		}
	}
	if len(who) < 3 || who[0] != bob || who[1] != alice {
		t.Errorf("audit of the saves, newest first: %v", who)
	}
}

// statusSentence is the status message at the bottom of a screen, from
// "Not saved" to its end, its wrapped lines joined.
func statusSentence(scr string) string {
	i := strings.Index(scr, "Not saved")
	if i < 0 {
		return ""
	}
	var parts []string
	for _, l := range strings.Split(scr[i:], "\n") {
		// the sidebar's column, if the message sits beside it
		if j := strings.Index(l, "│"); j >= 0 {
			l = l[j+len("│"):]
		}
		l = strings.TrimSpace(l)
		if l == "" || strings.Contains(l, "• ") {
			break
		}
		parts = append(parts, l)
	}
	return strings.Join(parts, " ")
}

// Two wizards on one store (two SSH sessions): the later save of the same
// profile is refused with who changed what, and after the reload it lands
// on top without losing the first one's change.
func TestTwoWizardsNeverLoseEachOthersWrites(t *testing.T) {
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
