package tui

import (
	"testing"

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
	h.walk(runeKey('a'), "Display name", typed("Someone@Partner.example"), enter(), "someone@partner.example")
	h.mustNotShow("the OAuth client profile refused a partner's mailbox", "is not in the domain")
	h.walk(enter(), "Test the mailboxes")
	h.final()
	if ms, _ := be.Mailboxes("acme.example"); len(ms) != 2 {
		t.Fatalf("stored mailboxes %v, want administrator@ and someone@partner.example", ms)
	}

	be = withProfile(acmeProfile(t, 5))
	h = startAcme(t, be, 120, 40, "administrator@acme.example")
	h.walk(runeKey('a'), "Display name", typed("someone@partner.example"), enter(),
		"someone@partner.example is not in the domain acme.example", "an OAuth client (wizard step 3")
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
	h.walk(toDomainStep(typed("acme.example"), keyCode(tea.KeyTab), ctrlKey('u'), typed("Bob@Partner.example"),
		// said plainly at step 2, in core's words: which credential can serve it
		"! bob@partner.example is not in the domain acme.example.", "Only an OAuth client (per-mailbox consent) can serve it: a",
		// the first Enter stops to say it, the second goes on
		enter(), "Press Enter again to go on and choose an OAuth client at step 3")...)
	h.mustNotShow("one Enter moved on past the outside sender", "How will the product sign in")
	h.walk(enter(), "How will the product sign in")
	if p := storedProfile(be, "acme.example"); p.DefaultSender != "bob@partner.example" {
		t.Fatalf("stored sender %q, want bob@partner.example", p.DefaultSender)
	}
	h.walk(runeKey('1'), enter(), "Service-account key", typed("testdata/service-account.json"), enter(),
		"bob@partner.example is not in the domain acme.example", "switch this profile to an OAuth client")
	h.mustNotShow("the service account was accepted", "Authorize the scope")
	h.final()
	if p := storedProfile(be, "acme.example"); len(p.Credential) != 0 {
		t.Fatalf("a service-account key was stored for an outside sender")
	}

	// A profile that already has an OAuth client takes any sender, with no note.
	be = withProfile(oauthProfile(t, 2))
	// its client is loaded, so it resumes at step 4 (consent): back to step 2
	h = startAcme(t, be, 80, 24, "Consent screen, then a first token")
	h.walk(keyCode(tea.KeyEscape), "OAuth client", keyCode(tea.KeyEscape), "How will the product sign in",
		keyCode(tea.KeyEscape), "Default sender", ctrlKey('u'), typed("someone@gmail.com"), "someone@gmail.com")
	h.mustNotShow("the note for an OAuth client profile", "choose an OAuth client")
	h.walk(enter(), "OAuth client")
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
