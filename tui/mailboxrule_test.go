package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// The add form follows the profile's mailbox rule: an OAuth client profile
// takes a partner's mailbox, a service-account profile refuses it with the
// finding that points at the OAuth client path.
func TestAddFormFollowsTheProfilesMailboxRule(t *testing.T) {
	be := withProfile(oauthProfile(t, 5))
	_ = be.PutMailboxes("acme.example", []core.Mailbox{{Email: "administrator@acme.example", OwnerKind: core.OwnerUser}})
	h := startAcme(t, be, 120, 40, "administrator@acme.example")
	h.send(runeKey('a'))
	h.waitFor("Display name", 3*time.Second)
	h.typeText("Someone@Partner.example")
	h.send(enter())
	h.waitFor("someone@partner.example", 3*time.Second)
	if strings.Contains(h.p.screen(), "is not in the domain") {
		t.Fatalf("the OAuth client profile refused a partner's mailbox:\n%s", h.p.screen())
	}
	h.send(enter())
	h.waitFor("Test the mailboxes", 3*time.Second)
	h.final()
	if ms, _ := be.Mailboxes("acme.example"); len(ms) != 2 {
		t.Fatalf("stored mailboxes %v, want administrator@ and someone@partner.example", ms)
	}

	be = newFakeBackend()
	_ = be.SaveProfile(acmeProfile(t, 5))
	h = start(t, newModel(fakeDeps(be, &fakeEngine{}, "acme.example")), 120, 40)
	h.waitFor("administrator@acme.example", 3*time.Second)
	h.send(runeKey('a'))
	h.waitFor("Display name", 3*time.Second)
	h.typeText("someone@partner.example")
	h.send(enter())
	h.waitFor("someone@partner.example is not in the domain acme.example", 3*time.Second)
	h.waitFor("an OAuth client (wizard step 3", 3*time.Second)
	h.final()
	if ms, _ := be.Mailboxes("acme.example"); len(ms) != 0 {
		t.Fatalf("stored mailboxes %v", ms)
	}
}

// The default sender follows the same rule at step 2: a new profile takes an
// outside sender with a note (its credential is chosen at step 3), and step
// 3 then refuses a service-account key for it with core's finding.
func TestOutsideSenderNeedsAnOAuthClient(t *testing.T) {
	be := newFakeBackend()
	h := start(t, newModel(fakeDeps(be, &fakeEngine{}, "")), 80, 24)
	h.waitFor("Add a new domain profile", 3*time.Second)
	h.send(enter())
	h.waitFor("Default sender", 3*time.Second)
	h.typeText("acme.example")
	h.send(tea.KeyPressMsg{Code: tea.KeyTab})
	h.send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	h.typeText("Bob@Partner.example")
	// said plainly at step 2, in core's words: which credential can serve it
	h.waitFor("! bob@partner.example is not in the domain acme.example.", 3*time.Second)
	h.waitFor("Only an OAuth client (per-mailbox consent) can serve it: a", 3*time.Second)
	// the first Enter stops to say it, the second goes on
	h.send(enter())
	h.waitFor("Press Enter again to go on and choose an OAuth client at step 3", 3*time.Second)
	if strings.Contains(h.p.screen(), "How will the product sign in") {
		t.Fatalf("one Enter moved on past the outside sender:\n%s", h.p.screen())
	}
	h.send(enter())
	h.waitFor("How will the product sign in", 3*time.Second)
	if p := storedProfile(be, "acme.example"); p.DefaultSender != "bob@partner.example" {
		t.Fatalf("stored sender %q, want bob@partner.example", p.DefaultSender)
	}
	h.send(runeKey('1'), enter())
	h.waitFor("Service-account key", 3*time.Second)
	h.typeText("testdata/service-account.json")
	h.send(enter())
	h.waitFor("bob@partner.example is not in the domain acme.example", 3*time.Second)
	h.waitFor("switch this profile to an OAuth client", 3*time.Second)
	if strings.Contains(h.p.screen(), "Authorize the scope") {
		t.Fatalf("the service account was accepted:\n%s", h.p.screen())
	}
	h.final()
	if p := storedProfile(be, "acme.example"); len(p.Credential) != 0 {
		t.Fatalf("a service-account key was stored for an outside sender")
	}

	// A profile that already has an OAuth client takes any sender, with no note.
	be = newFakeBackend()
	_ = be.SaveProfile(oauthProfile(t, 2))
	h = start(t, newModel(fakeDeps(be, &fakeEngine{}, "acme.example")), 80, 24)
	// its client is loaded, so it resumes at step 4 (consent): back to step 2
	h.waitFor("Consent screen, then a first token", 3*time.Second)
	h.send(keyCode(tea.KeyEscape))
	h.waitFor("OAuth client", 3*time.Second)
	h.send(keyCode(tea.KeyEscape))
	h.waitFor("How will the product sign in", 3*time.Second)
	h.send(keyCode(tea.KeyEscape))
	h.waitFor("Default sender", 3*time.Second)
	h.send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	h.typeText("someone@gmail.com")
	h.waitFor("someone@gmail.com", 3*time.Second)
	if strings.Contains(h.p.screen(), "choose an OAuth client") {
		t.Fatalf("note shown for an OAuth client profile:\n%s", h.p.screen())
	}
	h.send(enter())
	h.waitFor("OAuth client", 3*time.Second)
	h.final()
	if p := storedProfile(be, "acme.example"); p.DefaultSender != "someone@gmail.com" {
		t.Fatalf("stored sender %q, want someone@gmail.com", p.DefaultSender)
	}
}

func storedProfile(be *fakeBackend, domain string) core.Profile {
	be.mu.Lock()
	defer be.mu.Unlock()
	return be.profiles[domain]
}
