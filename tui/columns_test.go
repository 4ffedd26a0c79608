package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// A typical long address (32 characters) is shown whole at 80x24 in the
// mailboxes table and in the test step's results, and no line of either is
// drawn past the edge, at 80 columns or on a narrow terminal.
func TestLongAddressesFitAt80Columns(t *testing.T) {
	const long = "helpdesk.escalation@acme.example" // 32 characters
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		be := withProfile(acmeProfile(t, 5))
		_ = be.PutMailboxes("acme.example", []core.Mailbox{
			{Email: "administrator@acme.example", OwnerKind: core.OwnerUser},
			{Email: long, DisplayName: "Helpdesk escalation", OwnerKind: core.OwnerWorkgroup, OwnerName: "Helpdesk"},
		})
		h := start(t, newModel(fakeDeps(be, &fakeEngine{authorized: true}, "acme.example")), sz[0], sz[1])
		fits := func(what string) {
			t.Helper()
			for _, l := range strings.Split(h.p.screen(), "\n") {
				if w := ansiWidth(l); w > sz[0] {
					t.Fatalf("%s at %dx%d: a line is %d wide:\n%s", what, sz[0], sz[1], w, h.p.screen())
				}
			}
		}
		h.waitFor(long + " ")
		fits("mailboxes")
		h.send(enter())
		h.waitFor("Test the mailboxes")
		h.send(enter()) // run
		h.waitFor("2 passed, 0 failed")
		if sz[0] == 80 {
			h.waitUntil(long+" with its checks", func(s string) bool {
				for _, l := range strings.Split(s, "\n") {
					if strings.Contains(l, "✓ "+long+" ") && strings.Count(l, "ok") == 4 {
						return true
					}
				}
				return false
			})
			h.send(tea.KeyPressMsg{Code: '?', Text: "?"})
			h.waitFor("RT (round-trip) check")
		}
		fits("test results")
		h.final()
	}
}
