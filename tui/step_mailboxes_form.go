package tui

// The mailboxes step's add/edit form.

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// mailboxForm is the add/edit form of the mailboxes step; its fields are
// named by mailboxField.
type mailboxForm struct {
	email, name, owner textinput.Model
	kind               int // the owner kind, in core.OwnerKinds
	focus              mailboxField
}

// mailboxField names the mailbox form's fields, in their order on screen.
type mailboxField int

const (
	mbEmail mailboxField = iota
	mbName
	mbKind // the owner kind: chosen with its keys, no text input
	mbOwner
	mbFields
)

func newMailboxForm() mailboxForm {
	return mailboxForm{email: newInput("name@yourcompany.example"), name: newInput("(defaults to the address)"), owner: newInput("e.g. Sales queue")}
}

func (f *mailboxForm) inputs() []*textinput.Model {
	return []*textinput.Model{mbEmail: &f.email, mbName: &f.name, mbKind: nil, mbOwner: &f.owner}
}

func (f *mailboxForm) focusField() tea.Cmd {
	return focusOnly(f.inputs(), f.focus)
}

// focusedEmpty reports an empty focused text field (or the owner kind,
// which has none).
func (f *mailboxForm) focusedEmpty() bool {
	in := f.inputs()[f.focus]
	return in == nil || in.Value() == ""
}

func (m *mailboxesStep) openForm(mb core.Mailbox, editing string) tea.Cmd {
	m.mode, m.editing, m.err = mbForm, editing, nil
	f := &m.form
	f.email.SetValue(mb.Email)
	f.name.SetValue(core.SafeText(mb.DisplayName)) // stored before names were checked
	if mb.DisplayName == mb.Email {
		f.name.SetValue("")
	}
	f.owner.SetValue(core.SafeText(mb.OwnerName))
	f.kind = 0
	for i, k := range core.OwnerKinds {
		if k == mb.OwnerKind {
			f.kind = i
		}
	}
	f.focus = mbEmail
	return f.focusField()
}

func (m *mailboxesStep) updateForm(msg tea.Msg) (tea.Cmd, bool) {
	f := &m.form
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, m.keys.Global.Esc):
			m.mode, m.err = mbList, nil
			return nil, true
		case key.Matches(k, m.keys.Form.Next, m.keys.Form.Down):
			f.focus = wrapAround(f.focus, 1, mbFields)
			return f.focusField(), true
		case key.Matches(k, m.keys.Form.Prev, m.keys.Form.Up):
			f.focus = wrapAround(f.focus, -1, mbFields)
			return f.focusField(), true
		case key.Matches(k, m.keys.Mailboxes.FormSave):
			mb := core.Mailbox{Email: f.email.Value(), DisplayName: f.name.Value(),
				OwnerKind: core.OwnerKinds[f.kind], OwnerName: f.owner.Value()}
			if err := m.setup.profile.MailboxRule().Mailbox(&mb); err != nil {
				m.err = err
				return nil, true
			}
			if _, exists := m.setup.boxes.pos[mb.Email]; exists && mb.Email != m.editing {
				m.err = core.Inputf("%s is already assigned; edit that entry instead", mb.Email)
				return nil, true
			}
			m.saveForm(mb)
			if m.editing != "" && m.editing != mb.Email && m.setup.selected[m.editing] {
				delete(m.setup.selected, m.editing)
				m.setup.selected[mb.Email] = true
			}
			m.mode, m.err = mbList, nil
			for i, idx := range m.setup.boxes.filtered {
				if m.setup.boxes.items[idx].Email == mb.Email {
					m.cursor = i
				}
			}
			m.clamp()
			return nil, true
		case key.Matches(k, m.keys.Global.Interrupt):
			return nil, false
		}
		if f.focus == mbKind {
			switch {
			case key.Matches(k, m.keys.Mailboxes.KindPrev):
				f.kind = wrapAround(f.kind, -1, len(core.OwnerKinds))
			case key.Matches(k, m.keys.Mailboxes.KindNext):
				f.kind = wrapAround(f.kind, 1, len(core.OwnerKinds))
			}
			return nil, true
		}
	}
	in := f.inputs()[f.focus]
	if in == nil {
		return nil, false
	}
	var cmd tea.Cmd
	*in, cmd = in.Update(msg)
	return cmd, true
}

func (m *mailboxesStep) formView(width int) string {
	s := m.styles
	title := "Add a mailbox"
	if m.editing != "" {
		title = "Edit " + m.editing
	}
	out := s.Heading.Render(title) + "\n"
	f := &m.form
	out += m.field("E-mail address", &f.email, f.focus == mbEmail, width) + "\n"
	out += m.field("Display name", &f.name, f.focus == mbName, width) + "\n"
	var kinds []string
	for i, k := range core.OwnerKinds {
		if i == f.kind {
			kinds = append(kinds, s.Selected.Render("("+string(k)+")"))
		} else {
			kinds = append(kinds, s.Muted.Render(" "+string(k)+" "))
		}
	}
	mark, ls := "  ", s.Label
	if f.focus == mbKind {
		mark, ls = s.Key.Render("▸ "), s.FocusLabel
	}
	out += mark + ls.Render("Owner kind ("+keyName(m.keys.Mailboxes.KindPrev)+"/"+keyName(m.keys.Mailboxes.KindNext)+")") + "\n  " + strings.Join(kinds, " ") + "\n"
	out += m.field("Owner name", &f.owner, f.focus == mbOwner, width) + "\n"
	if m.err != nil {
		out += m.errView(m.err, width)
	}
	return out
}
