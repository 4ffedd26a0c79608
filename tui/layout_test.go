package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailoauth/mailoauth/core"
)

// everyStep renders each step of a service-account and an OAuth client
// profile at the size, with and without full help and a status line, and
// calls check with the screen.
func everyStep(t *testing.T, w, h int, check func(t *testing.T, name, scr string)) {
	for _, p := range []core.Profile{acmeProfile(t, 7), oauthProfile(t, 7)} {
		for id := stepProfile; id < numSteps; id++ {
			for _, full := range []bool{false, true} {
				for _, status := range []string{"", "Copied the client ID 104715287395062714451 to the clipboard."} {
					be := newFakeBackend()
					_ = be.SaveProfile(p)
					_ = be.PutMailboxes(p.Domain, []core.Mailbox{{Email: "a@acme.example", OwnerKind: core.OwnerUser}})
					d := newDriver(t, fakeDeps(be, &fakeEngine{}, p.Domain), w, h)
					d.run(d.m.w.goTo(id))
					d.m.w.help.ShowAll = full
					if status != "" {
						d.m.w.setNotice(status)
					}
					name := fmt.Sprintf("%s/%s full=%v status=%v", p.CredentialKind+core.SniffCredentialKind(p.Credential), d.m.w.stepName(id), full, status != "")
					scr := d.screen()
					// content taller than its room is cut only with a sign
					if n := strings.Count(strings.TrimRight(d.m.w.step().View(), "\n"), "\n") + 1; n > contentRows(scr) && !strings.Contains(scr, "↓ more") {
						t.Errorf("%s: %d lines of content, cut without a ↓ more marker:\n%s", name, n, scr)
					}
					check(t, name, scr)
				}
			}
		}
	}
}

// TestEveryScreenFitsAt80x24: at the smallest supported size no help line
// is cut, a status line and the hint line are both shown, and content
// taller than the screen says there is more (issue 9 item 13).
func TestEveryScreenFitsAt80x24(t *testing.T) {
	everyStep(t, 80, 24, func(t *testing.T, name, scr string) {
		lines := strings.Split(scr, "\n")
		if len(lines) > 24 {
			t.Errorf("%s: %d lines on a 24-line terminal", name, len(lines))
		}
		for _, l := range lines {
			if ansi.StringWidth(l) > 80 {
				t.Errorf("%s: a line is wider than 80: %q", name, l)
			}
		}
		last := lines[len(lines)-1]
		if strings.Contains(name, "full=false") && (!strings.Contains(last, "quit") || !strings.Contains(last, "help")) {
			t.Errorf("%s: the last line is not the hint line with help and quit: %q\n%s", name, last, scr)
		}
		if strings.Contains(name, "full=true") && (!strings.Contains(scr, " quit") || !strings.Contains(scr, "toggle help")) {
			t.Errorf("%s: the full help lacks quit or help:\n%s", name, scr)
		}
		if strings.Contains(scr, "…") && helpCut(scr) {
			t.Errorf("%s: the help is cut with …:\n%s", name, scr)
		}
		if strings.Contains(name, "status=true") && !strings.Contains(scr, "Copied the client ID") {
			t.Errorf("%s: the status line is not shown:\n%s", name, scr)
		}
	})
}

// helpCut reports a help line ending in the ellipsis bubbles' help puts
// where a column did not fit.
func helpCut(scr string) bool {
	for _, l := range strings.Split(scr, "\n") {
		if strings.HasSuffix(strings.TrimRight(l, " "), "…") && (strings.Contains(l, " • ") || strings.Contains(l, "  ")) {
			return true
		}
	}
	return false
}

// TestTooSmallTerminalSaysTheSizeItNeeds: below 80x24 the wizard says what
// it needs instead of cutting screens without a sign.
func TestTooSmallTerminalSaysTheSizeItNeeds(t *testing.T) {
	be := withProfile(acmeProfile(t, 4))
	for _, sz := range [][2]int{{60, 20}, {79, 24}, {80, 23}} {
		d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), sz[0], sz[1])
		want := fmt.Sprintf("mailoauth needs at least 80x24; this terminal is %dx%d", sz[0], sz[1])
		if scr := d.screen(); !strings.Contains(strings.Join(strings.Fields(scr), " "), want) {
			t.Errorf("at %dx%d the screen does not say %q:\n%s", sz[0], sz[1], want, scr)
		}
	}
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	d.mustNotShow("needs at least")
}

// contentRows counts the rows of the content column: the lines between
// the header and the footer that carry the sidebar's border.
func contentRows(scr string) int {
	n := 0
	for _, l := range strings.Split(scr, "\n") {
		if strings.Contains(l, "│") {
			n++
		}
	}
	return n
}

// TestTallScreenScrollsWithMarkers: a screen taller than the terminal
// shows "↓ more", pgdn shows the rest under "↑ more", pgup goes back.
func TestTallScreenScrollsWithMarkers(t *testing.T) {
	be := withProfile(acmeProfile(t, 4))
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	d.mustShow("Authorize the scope")
	d.press(runeKey('?')) // full help and a status line take rows from the content
	d.m.w.setStatus("Copied the client ID 104715287395062714451 to the clipboard; paste it in the Admin console's Add new form, " +
		"then paste the scopes (s) beside it and click Authorize.")
	d.mustShow("↓ more (pgdn)")
	content := strings.Split(strings.TrimRight(ansi.Strip(d.m.w.step().View()), "\n"), "\n")
	lastLine := strings.TrimSpace(content[len(content)-1])
	d.mustNotShow(lastLine)
	for range 5 {
		d.press(keyCode(tea.KeyPgDown))
	}
	d.mustShow("↑ more (pgup)")
	d.mustShow(lastLine)
	d.mustNotShow("↓ more")
	for range 5 {
		d.press(keyCode(tea.KeyPgUp))
	}
	d.mustShow("↓ more (pgdn)")
	d.mustNotShow("↑ more")
	d.mustShow("Authorize the scope")
}
