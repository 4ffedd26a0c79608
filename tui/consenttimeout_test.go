package tui

import (
	"strings"
	"testing"
	"time"
)

// When no answer comes from the consent page in time, the wizard shows
// core's finding (the one `mailoauth authorize` prints), its fix naming the
// wizard's key to try again instead of the command.
func TestSandboxConsentTimeout(t *testing.T) {
	sb, st := startOAuthSandbox(t, 1)
	consentWait = 50 * time.Millisecond
	t.Cleanup(func() { consentWait = 0 })
	h := start(t, New(Config{Store: st, Actor: "wizard test", Sandbox: sb}), 120, 40)
	toConsentStep(h)
	h.send(enter()) // generate token; nobody answers
	h.waitFor("No answer from Google's consent page")
	scr := h.p.screen()
	flat := strings.Join(strings.Fields(scr), " ")
	for _, want := range []string{"admin@demo.example within 50ms", "then press g to try again"} {
		if !strings.Contains(flat, want) {
			t.Errorf("the timeout finding lacks %q:\n%s", want, scr)
		}
	}
	if strings.Contains(flat, "mailoauth authorize") {
		t.Errorf("the wizard's timeout fix names the command instead of its key:\n%s", scr)
	}
	h.final()
}
