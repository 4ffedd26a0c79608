package tui

import (
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core/sandbox"
)

// TestSandboxWalkthrough drives the whole demo by key presses: Enter through
// every step, with a at the authorize step, and checks what was stored.
func TestSandboxWalkthrough(t *testing.T) {
	sb := startSandbox(t, sandbox.Options{Domain: "demo.example", Users: 3})
	st, _ := openTestStore(t, "w.db")

	h := start(t, New(Config{Store: st, Actor: "wizard test", Sandbox: sb}), 80, 24)
	toAuthorizeStep(h)
	h.walk(enter(), "Fix:") // verify: not yet authorized
	if !strings.Contains(h.p.screen(), "a authorize in sandbox Admin console") {
		t.Errorf("help line lacks the sandbox key:\n%s", h.p.screen())
	}
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

// TestSandboxResume is a second `wizard --sandbox` run against the same
// store: the sandbox is new (new ports, never saw the stored key), the
// complete profile opens on its summary and re-tests green.
func TestSandboxResume(t *testing.T) {
	st, _ := openTestStore(t, "r.db")
	first, err := sandbox.Start(sandbox.Options{Domain: "demo.example", Users: 2, Delegate: true})
	if err != nil {
		t.Fatal(err)
	}
	p := sandboxProfile(first, first.ServiceAccountJSON())
	p.WizardStep = int(numSteps)
	ms := saveSandboxSetup(t, st, first, p, "test")
	first.Close()

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sb := startSandbox(t, sandbox.Options{Domain: "demo.example", Users: 2, Key: key})
	h := start(t, New(Config{Store: st, Actor: "wizard test", Sandbox: sb}), 80, 24)
	// finished in the wizard but never tested: it opens on its summary
	h.waitFor("demo.example  (resumes at step 7 of 7, Summary)")
	h.send(enter())
	h.waitFor("demo.example is configured")
	if scr := h.p.screen(); !strings.Contains(scr, "r re-test") || !strings.Contains(scr, "2-5 edit step") {
		t.Fatalf("summary lacks re-test and edit step:\n%s", scr)
	}
	h.send(runeKey('r'))
	waitRunDone(h, itoa(len(ms))+" passed, 0 failed")
	h.final()
}
