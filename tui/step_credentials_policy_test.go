package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// Step 3 says in one line how to recognise key creation blocked by an
// organization policy; f2 shows the whole of core's text (how to recognise
// it, the exact fix, the OAuth client path needing no key) within 80x24,
// and f2 again goes back to the key.
func TestCredentialsStepKeyPolicyPage(t *testing.T) {
	be := withoutCredential(t)
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	d.press(enter()) // service account, the first choice
	d.mustShow("Service-account key")
	if !strings.Contains(flat(d.screen()), core.KeyPolicyHint+" f2 shows what to do.") {
		t.Fatalf("step 3 lacks the policy line:\n%s", d.screen())
	}
	f2 := tea.KeyPressMsg{Code: tea.KeyF2}
	d.press(f2)
	scr := d.screen()
	if n := len(strings.Split(scr, "\n")); n > 24 {
		t.Fatalf("the policy page is %d lines high at 80x24", n)
	}
	for _, p := range append([]string{"Key creation blocked by an organization policy", "f2/enter back to the key"}, core.KeyPolicyHelp...) {
		if !strings.Contains(flat(scr), p) {
			t.Fatalf("the policy page at 80x24 does not show %q whole:\n%s", p, scr)
		}
	}
	for _, must := range []string{core.KeyCreationPolicy, core.KeyCreationPolicyManaged, "Organization Policy Administrator",
		"Manage policy > Override parent's policy > Enforcement Off (Not enforced)", "only for the project", "needs no key"} {
		if !strings.Contains(flat(scr), must) {
			t.Fatalf("the policy page lacks %q:\n%s", must, scr)
		}
	}
	d.press(runeKey('x')) // typing does nothing on the page
	d.press(f2)
	d.mustShow("Key file (tab completes")
	d.mustShow("/path/to/service-account.json") // the field's placeholder: still empty
}
