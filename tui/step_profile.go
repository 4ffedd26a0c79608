package tui

import (
	"fmt"
	"sort"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// profileStep chooses an existing domain profile or starts a new one.
type profileStep struct {
	profiles []core.Profile
	cursor   int
	err      error
}

var (
	keyUp   = b([]string{"up", "k"}, "↑/k", "up")
	keyDown = b([]string{"down", "j"}, "↓/j", "down")
)

func (p *profileStep) enter(w *wizard) tea.Cmd {
	p.profiles, p.err = w.backend.ListProfiles()
	sort.Slice(p.profiles, func(i, j int) bool { return p.profiles[i].Domain < p.profiles[j].Domain })
	if p.cursor > len(p.profiles) {
		p.cursor = 0
	}
	return nil
}

func (p *profileStep) update(w *wizard, msg tea.Msg) (tea.Cmd, bool) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, false
	}
	n := len(p.profiles) + 1
	switch {
	case key.Matches(k, keyUp):
		p.cursor = (p.cursor + n - 1) % n
	case key.Matches(k, keyDown):
		p.cursor = (p.cursor + 1) % n
	case key.Matches(k, w.gkeys.Next):
		if p.cursor < len(p.profiles) {
			return w.openProfile(p.profiles[p.cursor]), true
		}
		w.newProfile()
		return w.goTo(stepDomain), true
	default:
		return nil, false
	}
	return nil, true
}

func (p *profileStep) view(w *wizard, width, height int) string {
	s := w.styles
	out := w.title("Choose a domain profile",
		"Each Google Workspace domain is one profile. Pick one to resume or re-test it, or add a new domain.", width) + "\n\n"
	if p.err != nil {
		out += w.errView(p.err, width) + "\n\n"
	}
	for i, pr := range p.profiles {
		state := fmt.Sprintf("step %d of %d", max(pr.WizardStep, 2), numSteps)
		if pr.WizardStep >= int(numSteps) {
			state = "complete"
		}
		line := fmt.Sprintf("%s  %s", pr.Domain, s.Muted.Render("("+state+")"))
		out += w.cursorLine(i == p.cursor, line) + "\n"
	}
	add := "+ Add a new domain profile"
	if w.sandbox != nil {
		add += s.Muted.Render(" (sandbox: " + w.sandbox.Domain + ")")
	}
	out += w.cursorLine(p.cursor == len(p.profiles), add) + "\n"
	if len(p.profiles) == 0 {
		out += "\n" + s.Muted.Render(wrap("No profile yet: press Enter to set up your first domain.", width))
	}
	return out
}

func (w *wizard) cursorLine(on bool, text string) string {
	if on {
		return w.styles.Selected.Render("› ") + text
	}
	return "  " + text
}

func (p *profileStep) keys(w *wizard) stepKeys {
	return keyMap(w.gkeys, []key.Binding{keyUp, keyDown}, nil, true, false, false)
}
func (p *profileStep) dirty() bool  { return false }
func (p *profileStep) typing() bool { return false }
func (p *profileStep) busy() bool   { return false }
func (p *profileStep) cancel()      {}
