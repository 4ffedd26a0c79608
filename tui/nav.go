package tui

import (
	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// Steps move the wizard by message, as soft-serve's pages do: a step asks
// for the next step or another one, and the root (wizard.update) moves.

// nextStepMsg asks to save the profile with its resume point past from
// and to go on to the step after it.
type nextStepMsg struct{ from stepID }

// goToStepMsg asks to make id the current step and then, when set, to
// hand it then.
type goToStepMsg struct {
	id   stepID
	then tea.Msg
}

// openProfileMsg asks to open a stored profile where its state says to
// resume it.
type openProfileMsg struct {
	p     core.Profile
	state core.ProfileState
}

// newProfileMsg asks to start a new profile at the domain step.
type newProfileMsg struct{}

func openProfile(p core.Profile, st core.ProfileState) tea.Cmd {
	return func() tea.Msg { return openProfileMsg{p, st} }
}

func nextStep(from stepID) tea.Cmd { return func() tea.Msg { return nextStepMsg{from} } }

func goToStep(id stepID) tea.Cmd { return goToStepThen(id, nil) }

func goToStepThen(id stepID, then tea.Msg) tea.Cmd {
	return func() tea.Msg { return goToStepMsg{id, then} }
}

// navigate handles the navigation messages; ok reports one.
func (w *wizard) navigate(msg tea.Msg) (cmd tea.Cmd, ok bool) {
	switch msg := msg.(type) {
	case nextStepMsg:
		return w.advance(msg.from), true
	case openProfileMsg:
		return w.resumeProfile(msg.p, msg.state), true
	case newProfileMsg:
		w.newProfile()
		return w.goTo(stepDomain), true
	case saveProfileMsg:
		if note, err := w.saveProfile(); err == nil && note != "" {
			w.setStatus(note)
		}
		return nil, true
	case goToStepMsg:
		cmd := w.goTo(msg.id)
		if msg.then == nil {
			return cmd, true
		}
		then, _ := w.step().Update(msg.then)
		return tea.Batch(cmd, then), true
	}
	return nil, false
}

// component is one screen of the wizard, written as soft-serve writes its
// components: it embeds *common (styles, keymap, engine, store, size; the
// setup gathered so far behind its setup pointer), handles its messages in
// Update, renders in View within the size SetSize gave it, is
// its own help.KeyMap and moves the wizard by message (nextStep, goToStep).
type component interface {
	help.KeyMap
	// Init is called each time the step becomes the current one.
	Init() tea.Cmd
	// Update handles a message; handled reports whether a key was consumed.
	Update(msg tea.Msg) (cmd tea.Cmd, handled bool)
	View() string
	SetSize(width, height int)
	dirty() bool
	typing() bool
	busy() bool
	cancel()
}

// room is the size a component was given by SetSize.
type room struct{ roomW, roomH int }

func (r *room) setRoom(width, height int) { r.roomW, r.roomH = width, height }
