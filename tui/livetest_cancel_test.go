package tui

import (
	"context"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// A test run cancelled in the wizard (Ctrl-C while it runs, as over
// `mailoauth serve`) leaves every mailbox's saved result as it was: the
// mailboxes it stopped are "not run (cancelled)", not failed, on the
// screen and in the store (issue 12 item 1).
func TestCancelledTestRunKeepsSavedResults(t *testing.T) {
	sb, st, _ := sandboxWithStore(t, sandbox.Options{Domain: "demo.example", Users: 3, Delegate: true, Dir: t.TempDir()})
	p := sandboxProfile(sb, sb.ServiceAccountJSON())
	p.WizardStep = int(numSteps)
	saveSandboxSetup(t, st, sb, p, "test")
	tester, err := core.NewTesterWith(&p, st.TokenCache("demo.example"), nil)
	if err != nil {
		t.Fatal(err)
	}
	boxes, _ := st.Mailboxes("demo.example")
	targets := core.TestTargets(&p, boxes, true, nil)
	for _, r := range core.RunAll(context.Background(), tester, targets, core.RunOptions{Checks: core.AllChecks}) {
		if !r.OK {
			t.Fatalf("first run: %s %v", r.Mailbox, r.Finding)
		}
		if err := st.SaveResults("demo.example", []core.MailboxResult{r}); err != nil {
			t.Fatal(err)
		}
	}
	// Every server reply now comes 400 ms late: a re-test of all four
	// checks takes seconds a mailbox, and Ctrl-C lands while all run.
	sb.SetFaults(sandbox.Faults{RTTMS: 400})

	h := start(t, New(Config{Store: st, Actor: "wizard test", Sandbox: sb}), 100, 30)
	h.waitFor("demo.example  (complete)")
	h.send(enter())
	h.waitFor("demo.example is configured")
	h.send(runeKey('r'))
	h.waitFor("to go")
	h.send(ctrlKey('c'))
	h.waitFor("not run (cancelled)")
	h.mustShow("the cancelled run's tally", " 0 failed")
	h.mustNotShow("the cancelled run's rows", "✗")
	res, err := st.Results("demo.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range targets {
		if r, ok := res[m]; !ok || !r.OK {
			t.Fatalf("%s: saved result after the cancelled run ok=%v finding %+v; want its earlier pass kept", m, r.OK, r.Finding)
		}
	}
	h.final()
}
