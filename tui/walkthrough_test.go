package tui

import (
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core/sandbox"
)

// TestSandboxWalkthrough drives the whole demo by key presses: Enter through
// every step, with a at the authorize step, and checks what was stored.
func TestSandboxWalkthrough(t *testing.T) {
	sb, st, _ := sandboxWithStore(t, sandbox.Options{Domain: "demo.example", Users: 3})

	h := start(t, New(Config{Store: st, Actor: "wizard test", Sandbox: sb}), 80, 24)
	toAuthorizeStep(h)
	h.walk(enter(), "Fix:") // verify: not yet authorized
	h.mustShow("the help line's sandbox key", "a authorize in sandbox Admin console")
	// a: the sandbox's Admin console; the last enter runs the test
	h.walk(runeKey('a'), "Verified", enter(), "Assign mailboxes", enter(), "Test the mailboxes", enter())
	n := len(sb.Users())
	want := itoa(n) + " passed, 0 failed"
	waitRunDone(h, want)
	frame := h.final()
	if !strings.Contains(frame, want) {
		t.Fatalf("final frame lacks %q:\n%s", want, frame)
	}

	p, err := st.Profile("demo.example")
	if err != nil {
		t.Fatal(err)
	}
	if p.DefaultSender != "admin@demo.example" || len(p.Credential) == 0 || p.WizardStep < int(stepTest)+1 {
		t.Fatalf("stored profile: sender %q, %d key bytes, step %d", p.DefaultSender, len(p.Credential), p.WizardStep)
	}
	ms, err := st.Mailboxes("demo.example")
	if err != nil || len(ms) != n {
		t.Fatalf("stored %d mailboxes (%v), want %d", len(ms), err, n)
	}
	rs, err := st.Results("demo.example")
	if err != nil || len(rs) != n {
		t.Fatalf("stored %d results (%v), want %d", len(rs), err, n)
	}
	for _, r := range rs {
		if !r.OK {
			t.Errorf("%s failed: %v", r.Mailbox, r.Finding)
		}
	}
}
