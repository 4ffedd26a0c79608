package tui

import (
	"testing"

	tea "charm.land/bubbletea/v2"
)

// A component step moves the wizard only by message: Enter on the domain
// step leaves the current step as it is and asks for the next one, which
// the root then shows.
func TestComponentStepsNavigateByMessage(t *testing.T) {
	be := newFakeBackend()
	p := acmeProfile(t, 2)
	p.Credential = nil
	_ = be.SaveProfile(p)
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	d.run(d.m.w.goTo(stepDomain))
	_, cmd := d.m.Update(enter())
	if d.m.w.cur != stepDomain {
		t.Fatalf("Enter moved the wizard to step %d itself", d.m.w.cur+1)
	}
	if cmd == nil {
		t.Fatal("Enter on the domain step asked for nothing")
	}
	msg := cmd()
	if m, ok := msg.(nextStepMsg); !ok || m.from != stepDomain {
		t.Fatalf("Enter asked %#v, want nextStepMsg{from: stepDomain}", msg)
	}
	d.run(func() tea.Msg { return msg })
	if d.m.w.cur != stepCredentials {
		t.Fatalf("after the message the wizard is on step %d, want 3", d.m.w.cur+1)
	}
	d.mustShow("How will the product sign in")
}

// r on the summary goes to the test step and runs the checks there, by
// one message to the root (the summary holds no reference to the test
// step).
func TestSummaryRetestRunsOnTheTestStep(t *testing.T) {
	be := withProfile(acmeProfile(t, 7))
	eng := &fakeEngine{authorized: true}
	d := newDriver(t, fakeDeps(be, eng, "acme.example"), 80, 24)
	d.mustShow("is configured")
	d.press(runeKey('r'))
	if d.m.w.cur != stepTest {
		t.Fatalf("r left the wizard on step %d, want 6", d.m.w.cur+1)
	}
	if runs, mbs, _ := eng.last(); runs != 1 || len(mbs) == 0 {
		t.Fatalf("r ran %d runs of %v, want one run", runs, mbs)
	}
	d.mustShow("1 passed, 0 failed")
}
