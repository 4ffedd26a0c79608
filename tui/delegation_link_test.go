package tui

import (
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// Step 4 shows the Admin console link that fills in the delegation form;
// l copies it exactly, o opens it where a browser exists and copies it
// where none does.
func TestAuthorizeStepDelegationLink(t *testing.T) {
	cred, err := core.ParseCredential(readTestKey(t), core.CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	be := withProfile(acmeProfile(t, 4))
	var opened []string
	deps := fakeDeps(be, &fakeEngine{}, "acme.example")
	deps.openBrowser = func(u string) bool { opened = append(opened, u); return true }
	d := newDriver(t, deps, 80, 24)
	d.mustShow("Link       admin.google.com/ac/owl/…  l copy · o open")

	want := "https://admin.google.com/ac/owl/domainwidedelegation?clientIdToAdd=" + cred.ClientID +
		"&clientScopeToAdd=https%3A%2F%2Fmail.google.com%2F&overwriteClientId=true"
	d.out = nil
	d.press(runeKey('l'))
	if !slices.Contains(d.out, tea.SetClipboard(want)()) {
		t.Fatalf("l copied %v, want %q", d.out, want)
	}
	d.mustShow("Copied the delegation link")
	d.out = nil
	d.press(runeKey('o'))
	if len(opened) != 1 || opened[0] != want || len(d.out) != 0 {
		t.Fatalf("o opened %q and sent %v, want the browser on %q", opened, d.out, want)
	}
	d.mustShow("Opened the delegation link in a browser")

	// The link follows the scopes on the screen.
	d.press(runeKey('1'))
	d.out = nil
	d.press(runeKey('l'))
	if withCal := want[:strings.Index(want, "&overwrite")] + "%2Chttps%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcalendar&overwriteClientId=true"; !slices.Contains(d.out, tea.SetClipboard(withCal)()) {
		t.Fatalf("l with Calendar copied %v, want %q", d.out, withCal)
	}

	// No browser (an SSH session, the sandbox demo): o copies instead.
	deps.openBrowser = nil
	d = newDriver(t, deps, 120, 40)
	if !strings.Contains(flat(d.screen()), "Link https://admin.google.com/ac/owl/domainwidedelegation?clientIdToAdd=") {
		t.Fatalf("a wide screen does not show the whole link:\n%s", d.screen())
	}
	d.out = nil
	d.press(runeKey('o'))
	if !slices.Contains(d.out, tea.SetClipboard(want)()) {
		t.Fatalf("o without a browser copied %v, want %q", d.out, want)
	}
	d.mustShow("No browser here: copied the delegation link")
}

// The delegation finding's fix points at the Link line instead of
// repeating the link on the same screen.
func TestAuthorizeStepFindingPointsAtTheLink(t *testing.T) {
	f := core.NewFinding(core.CodeDelegationNotAuthorized, "Not authorized.",
		"Add it; or open "+core.DelegationLink("123", []string{core.ScopeMail})+", which fills in the form.")
	g := linkShown(f, "123", []string{core.ScopeMail}, defaultKeymap().Authorize.OpenLink)
	if g.Fix != "Add it; or open the Link above (o), which fills in the form." || f.Fix == g.Fix {
		t.Fatalf("fix on step 4: %q (original %q)", g.Fix, f.Fix)
	}
}
