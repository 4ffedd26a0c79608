package tui

import (
	"fmt"
	"sort"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// profileStep chooses an existing domain profile or starts a new one; d
// deletes the one under the cursor after a y/n.
type profileStep struct {
	*common
	room
	profiles []core.Profile
	// states is each profile's real state (the store's, whoever did the
	// work), by domain
	states   map[string]core.ProfileState
	cursor   int
	err      error
	deleting string // domain waiting for the y/n of a delete
}

func newProfileStep(c *common) *profileStep { return &profileStep{common: c} }

func (p *profileStep) Init() tea.Cmd {
	p.deleting = ""
	p.load()
	return nil
}

func (p *profileStep) load() {
	p.profiles, p.err = p.backend.ListProfiles()
	sort.Slice(p.profiles, func(i, j int) bool { return p.profiles[i].Domain < p.profiles[j].Domain })
	p.states = map[string]core.ProfileState{}
	if p.err == nil {
		var sts []core.ProfileState
		sts, p.err = p.backend.ProfileStates()
		for _, s := range sts {
			p.states[s.Domain] = s
		}
	}
	if p.cursor > len(p.profiles) {
		p.cursor = 0
	}
}

func (p *profileStep) Update(msg tea.Msg) (tea.Cmd, bool) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, false
	}
	if p.deleting != "" {
		return p.confirmDelete(k)
	}
	n := len(p.profiles) + 1
	switch {
	case key.Matches(k, p.keys.List.Up):
		p.cursor = (p.cursor + n - 1) % n
	case key.Matches(k, p.keys.List.Down):
		p.cursor = (p.cursor + 1) % n
	case key.Matches(k, p.keys.Profile.Delete) && p.cursor < len(p.profiles):
		p.deleting = p.profiles[p.cursor].Domain
		p.setStatus("")
	case key.Matches(k, p.keys.Global.Next):
		if p.cursor < len(p.profiles) {
			pr := p.profiles[p.cursor]
			return openProfile(pr, p.states[pr.Domain]), true
		}
		return func() tea.Msg { return newProfileMsg{} }, true
	default:
		return nil, false
	}
	return nil, true
}

// confirmDelete deletes the profile on y, after the store's backup.
func (p *profileStep) confirmDelete(k tea.KeyPressMsg) (tea.Cmd, bool) {
	switch {
	case key.Matches(k, p.keys.Profile.Yes):
		domain := p.deleting
		p.deleting = ""
		bak, err := p.backend.DeleteProfile(domain)
		if err != nil {
			p.setErr("Not deleted: " + sentence(err.Error()))
		} else {
			p.setStatus(fmt.Sprintf("Deleted profile %s with its mailboxes, tokens and results; the store before it is in %s.", domain, bak))
		}
		p.load()
	case key.Matches(k, p.keys.Profile.No):
		p.deleting = ""
	case key.Matches(k, p.keys.Global.Interrupt):
		return nil, false
	}
	return nil, true
}

func (p *profileStep) View() string {
	width := p.roomW
	s := p.styles
	out := p.title("Choose a domain profile",
		"Each Google Workspace domain is one profile. Pick one to resume or re-test it, or add a new domain.", width) + "\n\n"
	if p.err != nil {
		out += p.errView(p.err, width) + "\n\n"
	}
	for i, pr := range p.profiles {
		st, ok := p.states[pr.Domain]
		line := pr.Domain
		if ok {
			line += "  " + s.Muted.Render("("+resumeText(pr, st)+")")
		}
		out += p.cursorLine(i == p.cursor, line) + "\n"
		if ok {
			out += s.Muted.Render(indent(wrap(st.Summary("2006-01-02 15:04"), width-4), 4)) + "\n"
		}
	}
	add := "+ Add a new domain profile"
	if p.sandbox != nil {
		add += s.Muted.Render(" (sandbox: " + p.sandbox.Domain + ")")
	}
	out += p.cursorLine(p.cursor == len(p.profiles), add) + "\n"
	if p.deleting != "" {
		n := p.states[p.deleting].Mailboxes
		out += "\n" + s.Warn.Render(wrap(fmt.Sprintf("Delete profile %s with its %d mailbox(es), their tokens and results? A backup of the store is written first. %s, %s.", p.deleting, n, hint(p.keys.Profile.Yes, "deletes"), hint(p.keys.Profile.No, "keeps it")), width)) + "\n"
	}
	if len(p.profiles) == 0 {
		out += "\n" + s.Muted.Render(wrap("No profile yet: press "+keyTitle(p.keys.Global.Next)+" to set up your first domain.", width))
	}
	return out
}

func (c *common) cursorLine(on bool, text string) string {
	if on {
		return c.styles.Selected.Render("› ") + text
	}
	return "  " + text
}

func (p *profileStep) SetSize(width, height int) { p.setRoom(width, height) }

func (p *profileStep) ShortHelp() []key.Binding  { return p.helpKeyMap().short }
func (p *profileStep) FullHelp() [][]key.Binding { return p.helpKeyMap().full }

func (p *profileStep) helpKeyMap() stepKeys {
	if p.deleting != "" {
		return stepKeys{short: []key.Binding{p.keys.Profile.Yes, p.keys.Profile.No}, full: [][]key.Binding{{p.keys.Profile.Yes, p.keys.Profile.No}}}
	}
	// Only keys that do something here: with no profile there is nothing
	// to move through or delete, and the "add one" row cannot be deleted.
	var short []key.Binding
	if len(p.profiles) > 0 {
		short = []key.Binding{p.keys.List.Up, p.keys.List.Down}
	}
	if p.cursor < len(p.profiles) {
		short = append(short, p.keys.Profile.Delete)
	}
	return p.keyMap(short, nil, true, false, false)
}
func (p *profileStep) dirty() bool  { return false }
func (p *profileStep) typing() bool { return false }
func (p *profileStep) busy() bool   { return false }
func (p *profileStep) cancel()      {}
