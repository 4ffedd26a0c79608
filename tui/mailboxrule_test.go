package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// The add form follows the profile's mailbox rule: an OAuth client profile
// takes a partner's mailbox, a service-account profile refuses it with the
// finding that points at the OAuth client path.
func TestAddFormFollowsTheProfilesMailboxRule(t *testing.T) {
	be := newFakeBackend()
	_ = be.SaveProfile(oauthProfile(t, 5))
	_ = be.PutMailboxes("acme.example", []core.Mailbox{{Email: "administrator@acme.example", OwnerKind: core.OwnerUser}})
	h := start(t, newModel(fakeDeps(be, &fakeEngine{}, "acme.example")), 120, 40)
	h.waitFor("administrator@acme.example", 3*time.Second)
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
