package tui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core/sandbox"
)

var screenshotDir = flag.String("screenshots", "", "write the colour frame (.ansi) of every wizard step of the sandbox walk-through to this directory; make screenshots turns them into PNG with freeze")

// colourFrame is the model's frame with its colours (dark background).
func colourFrame(m model) string { return m.w.render() }

// TestScreenshots walks the sandbox demo at 100x30 and saves every step's
// frame; `make screenshots` runs it.
func TestScreenshots(t *testing.T) {
	if *screenshotDir == "" {
		t.Skip("pass -screenshots DIR to write the screenshots")
	}
	sb, st, _ := sandboxWithStore(t, sandbox.Options{Domain: "yourcompany.example", Users: 5})
	m := New(Config{Store: st, Actor: "screenshots", Sandbox: sb}).(model)
	defer m.w.cleanup()
	m.w.styles = NewStyles(true, false)
	m.w.help.Styles = m.w.styles.Help
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	run := func(cmd tea.Cmd) {
		// run commands synchronously, following batches, skipping timers
		var exec func(tea.Cmd, int)
		exec = func(c tea.Cmd, depth int) {
			if c == nil || depth > 10000 {
				return
			}
			done := make(chan tea.Msg, 1)
			go func() { done <- c() }()
			var msg tea.Msg
			select {
			case msg = <-done:
			case <-time.After(30 * time.Second):
				return
			}
			switch msg := msg.(type) {
			case tea.BatchMsg:
				for _, c := range msg {
					exec(c, depth+1)
				}
				return
			case nil, historyTickMsg:
				return // the test step's history re-read is a timer too
			default:
				// follow only the wizard's own results (no blink or spinner timers)
				if !strings.HasPrefix(fmt.Sprintf("%T", msg), "tui.") {
					return
				}
				_, next := m.Update(msg)
				exec(next, depth+1)
			}
		}
		exec(cmd, 0)
	}
	send := func(k tea.KeyPressMsg) {
		_, cmd := m.Update(k)
		run(cmd)
	}
	run(m.w.start())
	if err := os.MkdirAll(*screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := func(name string) {
		if err := os.WriteFile(filepath.Join(*screenshotDir, name+".ansi"), []byte(colourFrame(m)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shot("1-profile")
	send(enter())
	shot("2-domain")
	send(enter())
	send(enter()) // the service account, the first choice
	shot("3-credentials")
	send(enter())
	send(enter())
	shot("4-authorize-failure")
	send(runeKey('a'))
	shot("4-authorize-verified")
	send(enter())
	shot("5-mailboxes")
	send(enter())
	send(enter())
	shot("6-test")
	send(enter())
	shot("7-summary")

	// The OAuth client branch, as served over SSH (paste-back), so every
	// step runs to its end here; a second profile in a fresh store.
	st2, _ := openTestStore(t, "o.db")
	m = New(Config{Store: st2, Actor: "screenshots", Sandbox: sb, Remote: true}).(model)
	defer m.w.cleanup()
	m.w.styles = NewStyles(true, false)
	m.w.help.Styles = m.w.styles.Help
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	run(m.w.start())
	send(enter())              // new profile
	send(enter())              // domain
	send(keyCode(tea.KeyDown)) // the OAuth client
	send(enter())              // its form, with the sandbox's client JSON
	shot("3-credentials-oauth")
	send(enter())
	shot("4-consent-checklist")
	send(enter()) // generate token: the consent URL and the paste field
	shot("4-consent-paste")
	send(tea.KeyPressMsg{Code: 'a', Mod: tea.ModCtrl}) // the sandbox answers and pastes
	shot("4-consent-token")
	send(enter())
	shot("5-mailboxes-consent")
}
