package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

func bigList(n int) []core.Mailbox {
	ms := make([]core.Mailbox, n)
	for i := range ms {
		k := core.OwnerKinds[i%len(core.OwnerKinds)]
		ms[i] = core.Mailbox{Email: fmt.Sprintf("user%06d@acme.example", i), DisplayName: fmt.Sprintf("User %06d", i),
			OwnerKind: k, OwnerName: fmt.Sprintf("%s %d", k, i%977)}
	}
	return ms
}

// bigModel is a wizard on the mailboxes step holding n assignments.
func bigModel(tb testing.TB, n int) model {
	be := newFakeBackend()
	_ = be.SaveProfile(acmeProfile(tb, 5))
	_ = be.PutMailboxes("acme.example", bigList(n))
	m := newModel(fakeDeps(be, &fakeEngine{}, "acme.example"))
	m.Init()
	m.w.start()
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if m.w.cur != stepMailboxes {
		tb.Fatalf("on step %d", m.w.cur)
	}
	return m
}

func press(m model, msgs ...tea.KeyPressMsg) {
	for _, k := range msgs {
		m.Update(k)
	}
}

// TestMailboxes100k: with 100,000 entries the filter, paging and the frame
// still work. How fast is BenchmarkMailboxesFilterKeystroke's and
// BenchmarkMailboxesScrollRender's to say: a time limit here would fail
// under -race on a busy machine.
func TestMailboxes100k(t *testing.T) {
	m := bigModel(t, 100_000)
	_ = m.View()
	press(m, runeKey('/'))
	for _, r := range "user0999" {
		press(m, runeKey(r))
		_ = m.View()
	}
	if got := len(m.w.setup.boxes.filtered); got != 100 {
		t.Fatalf("filter user0999 matched %d, want 100", got)
	}
	press(m, enter())
	for range 50 {
		press(m, keyCode(tea.KeyPgDown))
		_ = m.View()
	}
	frame := m.View().Content
	if n := strings.Count(frame, "\n") + 1; n > 24 {
		t.Fatalf("frame has %d lines", n)
	}
}

func BenchmarkMailboxesFilterKeystroke(b *testing.B) {
	m := bigModel(b, 100_000)
	press(m, runeKey('/'))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		press(m, runeKey('7'))
		_ = m.View()
		press(m, tea.KeyPressMsg{Code: tea.KeyBackspace})
		_ = m.View()
	}
}

func BenchmarkMailboxesScrollRender(b *testing.B) {
	m := bigModel(b, 100_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		press(m, keyCode(tea.KeyDown))
		_ = m.View()
	}
}

// TestResizeNeverOverflows renders every step at several sizes and checks
// that no line is wider than the terminal and no frame taller.
func TestResizeNeverOverflows(t *testing.T) {
	m := bigModel(t, 1000)
	for _, id := range []stepID{stepProfile, stepDomain, stepCredentials, stepAuthorize, stepMailboxes, stepTest, stepSummary} {
		m.w.goTo(id)
		for _, sz := range [][2]int{{80, 24}, {120, 40}, {60, 20}, {40, 12}, {200, 60}} {
			m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			frame := m.View().Content
			lines := strings.Split(frame, "\n")
			if len(lines) > sz[1] {
				t.Errorf("step %d at %dx%d: %d lines", id, sz[0], sz[1], len(lines))
			}
			for _, l := range lines {
				if w := ansiWidth(l); w > sz[0] {
					t.Errorf("step %d at %dx%d: line %d wide: %q", id, sz[0], sz[1], w, l)
					break
				}
			}
		}
	}
}
