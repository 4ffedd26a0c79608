package tui

// The mailboxes step's add/edit form.

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

func (m *mailboxesStep) openForm(mb core.Mailbox, editing string) tea.Cmd {
	m.mode, m.editing, m.err = mbForm, editing, nil
	m.form[0].SetValue(mb.Email)
	m.form[1].SetValue(core.SafeText(mb.DisplayName)) // stored before names were checked
	if mb.DisplayName == mb.Email {
		m.form[1].SetValue("")
	}
	m.form[2].SetValue(core.SafeText(mb.OwnerName))
	m.formKind = 0
	for i, k := range core.OwnerKinds {
		if k == mb.OwnerKind {
			m.formKind = i
		}
	}
	m.formFocus = 0
	return m.focusForm()
}

func (m *mailboxesStep) focusForm() tea.Cmd {
	var cmd tea.Cmd
	for i := range m.form {
		if i == m.formFocus {
			cmd = m.form[i].Focus()
		} else {
			m.form[i].Blur()
		}
	}
	return cmd
}

// form fields: 0 email, 1 display name, 2 owner kind, 3 owner name
func (m *mailboxesStep) updateForm(msg tea.Msg) (tea.Cmd, bool) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, km.Global.Esc):
			m.mode, m.err = mbList, nil
			return nil, true
		case key.Matches(k, km.Form.Next, km.Form.Down):
			m.formFocus = (m.formFocus + 1) % 4
			return m.focusFormIdx(), true
		case key.Matches(k, km.Form.Prev, km.Form.Up):
			m.formFocus = (m.formFocus + 3) % 4
			return m.focusFormIdx(), true
		case key.Matches(k, km.Mailboxes.FormSave):
			mb := core.Mailbox{Email: m.form[0].Value(), DisplayName: m.form[1].Value(),
				OwnerKind: core.OwnerKinds[m.formKind], OwnerName: m.form[2].Value()}
			if err := m.profile.MailboxRule().Mailbox(&mb); err != nil {
				m.err = err
				return nil, true
			}
			if _, exists := m.boxes.pos[mb.Email]; exists && mb.Email != m.editing {
				m.err = core.Inputf("%s is already assigned; edit that entry instead", mb.Email)
				return nil, true
			}
			m.saveForm(mb)
			if m.editing != "" && m.editing != mb.Email && m.selected[m.editing] {
				delete(m.selected, m.editing)
				m.selected[mb.Email] = true
			}
			m.mode, m.err = mbList, nil
			for i, idx := range m.boxes.filtered {
				if m.boxes.items[idx].Email == mb.Email {
					m.cursor = i
				}
			}
			m.clamp()
			return nil, true
		case key.Matches(k, km.Global.Interrupt):
			return nil, false
		}
		if m.formFocus == 2 {
			switch {
			case key.Matches(k, km.Mailboxes.KindPrev):
				m.formKind = (m.formKind + len(core.OwnerKinds) - 1) % len(core.OwnerKinds)
			case key.Matches(k, km.Mailboxes.KindNext):
				m.formKind = (m.formKind + 1) % len(core.OwnerKinds)
			}
			return nil, true
		}
	}
	idx := m.formFocus
	if idx == 3 {
		idx = 2
	}
	if m.formFocus == 2 {
		return nil, false
	}
	var cmd tea.Cmd
	m.form[idx], cmd = m.form[idx].Update(msg)
	return cmd, true
}

func (m *mailboxesStep) focusFormIdx() tea.Cmd {
	for i := range m.form {
		m.form[i].Blur()
	}
	switch m.formFocus {
	case 0, 1:
		return m.form[m.formFocus].Focus()
	case 3:
		return m.form[2].Focus()
	}
	return nil
}

func (m *mailboxesStep) formView(width int) string {
	s := m.styles
	title := "Add a mailbox"
	if m.editing != "" {
		title = "Edit " + m.editing
	}
	out := s.Heading.Render(title) + "\n"
	out += m.field("E-mail address", &m.form[0], m.formFocus == 0, width) + "\n"
	out += m.field("Display name", &m.form[1], m.formFocus == 1, width) + "\n"
	var kinds []string
	for i, k := range core.OwnerKinds {
		if i == m.formKind {
			kinds = append(kinds, s.Selected.Render("("+string(k)+")"))
		} else {
			kinds = append(kinds, s.Muted.Render(" "+string(k)+" "))
		}
	}
	mark, ls := "  ", s.Label
	if m.formFocus == 2 {
		mark, ls = s.Key.Render("▸ "), s.FocusLabel
	}
	out += mark + ls.Render("Owner kind ("+keyName(km.Mailboxes.KindPrev)+"/"+keyName(km.Mailboxes.KindNext)+")") + "\n  " + strings.Join(kinds, " ") + "\n"
	out += m.field("Owner name", &m.form[2], m.formFocus == 3, width) + "\n"
	if m.err != nil {
		out += m.errView(m.err, width)
	}
	return out
}
