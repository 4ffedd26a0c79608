package tui

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core/sandbox"
	"github.com/mailoauth/mailoauth/store"
)

// TestSandboxWalkthrough drives the whole demo by key presses: Enter through
// every step, with a at the authorize step, and checks what was stored.
func TestSandboxWalkthrough(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Options{Domain: "demo.example", Users: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	st, err := store.Open(filepath.Join(t.TempDir(), "w.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	h := start(t, New(Config{Store: st, Actor: "wizard test", Sandbox: sb}), 80, 24)
	h.waitFor("Add a new domain profile", 3*time.Second)
	h.send(enter()) // profile: new
	h.waitFor("Default sender", 3*time.Second)
	h.send(enter()) // domain
	h.waitFor("Fingerprint", 3*time.Second)
	h.send(enter()) // credentials
	h.waitFor("Authorize the scope", 3*time.Second)
	h.send(enter()) // verify: not yet authorized
	h.waitFor("Fix:", 15*time.Second)
	if !strings.Contains(h.p.screen(), "a authorize in sandbox Admin console") {
		t.Errorf("help line lacks the sandbox key:\n%s", h.p.screen())
	}
	h.send(runeKey('a')) // the sandbox's Admin console
	h.waitFor("Verified", 15*time.Second)
	h.send(enter())
	h.waitFor("Assign mailboxes", 3*time.Second)
	h.send(enter())
	h.waitFor("Test the mailboxes", 3*time.Second)
	h.send(enter()) // run
	n := len(sb.Users())
	want := itoa(n) + " passed, 0 failed"
	h.waitUntil(want, func(s string) bool { return strings.Contains(s, want) && !strings.Contains(s, "to go") }, 60*time.Second)
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
