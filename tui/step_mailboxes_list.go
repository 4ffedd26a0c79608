package tui

// The mailboxes step's list: its filter, its fitting and its table.

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/mailboxcsv"
)

func (m *mailboxesStep) clamp() { m.clampTo(len(m.setup.boxes.filtered)) }

// SetSize fits the fields to the width and the list to the rows the view
// leaves it.
func (m *mailboxesStep) SetSize(width, height int) {
	m.setRoom(width, height)
	sizeFields(width, &m.filter, &m.importPath.Model, &m.form.email, &m.form.name, &m.form.owner)
	if m.flow != nil {
		sizeFields(width, &m.flow.input)
	}
	if m.listShown() && m.setup.boxes != nil {
		m.scrollList = m.fitted(len(m.setup.boxes.filtered), height-lineCount(m.listHead(width))-1)
	}
}

// listShown reports whether the view shows the list (not a form, import
// or consent).
func (m *mailboxesStep) listShown() bool {
	return m.mode == mbList || m.mode == mbFilter || m.mode == mbConfirmDelete
}

func (m *mailboxesStep) updateFilter(msg tea.Msg) (tea.Cmd, bool) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, m.keys.Mailboxes.FilterDone, m.keys.Form.Down, m.keys.Form.Next):
			m.mode = mbList
			m.filter.Blur()
			return nil, true
		case key.Matches(k, m.keys.Mailboxes.FilterClear):
			m.mode = mbList
			m.filter.Blur()
			m.filter.SetValue("")
			m.setup.boxes.setQuery("")
			m.clamp()
			return nil, true
		case key.Matches(k, m.keys.Global.Interrupt):
			return nil, false
		}
	}
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	m.setup.boxes.setQuery(m.filter.Value())
	m.cursor, m.offset = 0, 0
	m.clamp()
	return cmd, true
}

func (m *mailboxesStep) View() string {
	width, height := m.roomW, m.roomH
	if m.setup.boxes == nil {
		return ""
	}
	out := m.counts(width)
	s := m.styles
	switch m.mode {
	case mbConsent:
		out += "\n" + s.Heading.Render("Consent of "+m.flow.mailbox) + "\n"
		out += m.flow.view(m.common, width)
		if m.flow.phase == cfDone {
			out += "\n\n" + s.Muted.Render(wrap(keyTitle(m.keys.Mailboxes.BackToList)+" returns to the list (on the next mailbox without consent); "+hint(m.keys.Mailboxes.ConsentAgain, "tries again")+".", width))
		}
		return out
	case mbForm:
		return out + "\n" + m.formView(width)
	case mbImport:
		out += "\n" + m.field("Import a CSV file", &m.importPath.Model, true, width) + "\n"
		out += s.Muted.Render(wrap("Header line: "+strings.Join(mailboxcsv.Header, ","), width)) + "\n\n"
		if m.importErr != nil {
			out += m.importErrView(width, height-lineCount(out)-1)
		} else {
			out += s.Muted.Render(wrap("Every row is validated; if any row is bad, nothing is imported and each bad line is listed.", width))
		}
		return out
	}
	out = m.listHead(width)
	// the table gets what is left, as SetSize fitted the list to it
	rows := height - lineCount(out) - 1
	return out + m.table(m.fitted(len(m.setup.boxes.filtered), rows), width, rows)
}

// counts is the title and the line of counts above every mode's content.
func (m *mailboxesStep) counts(width int) string {
	s := m.styles
	l := m.setup.boxes
	out := m.title("Assign mailboxes", "", width) + "\n"
	kinds := []string{}
	for _, k := range core.OwnerKinds {
		if c := l.counts[k]; c > 0 {
			kinds = append(kinds, fmt.Sprintf("%d %s", c, k))
		}
	}
	counts := fmt.Sprintf("%d mailboxes", len(l.items))
	if len(l.items) == 1 {
		counts = "1 mailbox"
	}
	if len(kinds) > 0 {
		counts += " (" + strings.Join(kinds, ", ") + ")"
	}
	if l.query != "" {
		counts += fmt.Sprintf(" · %d match", len(l.filtered))
	}
	if n := len(m.setup.selected); n > 0 {
		counts += fmt.Sprintf(" · %d selected", n)
	}
	if m.oauth {
		n := 0
		for _, e := range l.emails() {
			if m.consents[e].Consented {
				n++
			}
		}
		counts += fmt.Sprintf(" · %d of %d consented", n, len(l.items))
	}
	if l.dirty() {
		counts += " · unsaved"
	}
	return out + s.Muted.Render(wrap(counts, width)) + "\n"
}

// listHead is what the list mode shows above the table.
func (m *mailboxesStep) listHead(width int) string {
	s := m.styles
	l := m.setup.boxes
	out := m.counts(width)
	if m.upgrade && m.oauth {
		// the upgrade assistant comes here only for the consents
		out += s.Text.Render(wrap("Upgrade: each mailbox keeps its password until its owner consents ("+keyName(m.keys.Mailboxes.Consent)+") and its test ("+keyTitle(m.keys.Test.RunChecks)+") passes; then it switches to OAuth and the password is erased.", width)) + "\n"
	}
	if m.mode == mbFilter || l.query != "" {
		out += m.field("Filter", &m.filter, m.mode == mbFilter, width) + "\n"
	}
	if m.loadErr != nil {
		out += m.errView(m.loadErr, width) + "\n"
	}
	if m.err != nil {
		out += m.errView(m.err, width) + "\n"
	}
	if m.mode == mbConfirmDelete {
		out += m.styles.Warn.Render(wrap("Delete "+m.deleting+"? "+hint(m.keys.Mailboxes.DeleteYes, "deletes")+", "+hint(m.keys.Mailboxes.DeleteNo, "keeps it")+".", width)) + "\n"
	}
	return out
}

func lineCount(s string) int { return strings.Count(s, "\n") }

// table renders only the visible window sl of the filtered list.
func (m *mailboxesStep) table(sl scrollList, width, rows int) string {
	s := m.styles
	l := m.setup.boxes
	kindW := 9
	consentW := 0
	if m.oauth {
		consentW = 10
	}
	// The address gets its room first: typical ones (up to ~32
	// characters) whole at 80 columns. The display name and the owner name
	// share what is left, the owner name only once both fit, and neither
	// when there is too little (the edit form shows both).
	const emailWant = 33
	avail := max(width-4-1-kindW-consentW, 12) // marks, the space before OWNER
	emailW := min(max(avail*45/100, emailWant), avail)
	left := avail - emailW // for " DISPLAY NAME" and " OWNER NAME"
	nameW, ownerW := 0, 0
	switch {
	case left >= 2*11:
		nameW = left/2 - 1
		ownerW = left - nameW - 2
	case left >= 9:
		nameW = left - 1
	default:
		emailW += left
	}
	cell := func(v string, n int) string {
		v = core.SafeText(v) // names come from CSV files and the store
		if ansi.StringWidth(v) > n {
			v = truncate(v, n)
		}
		return padRight(v, n)
	}
	ownerCell := func(v string) string {
		if ownerW == 0 {
			return ""
		}
		return " " + cell(v, ownerW)
	}
	nameCell := func(v string) string {
		if nameW == 0 {
			return ""
		}
		return " " + cell(v, nameW)
	}
	consentCell := func(e string) string {
		if !m.oauth {
			return ""
		}
		return " " + cell(m.consents[e].Summary("Jan 02"), consentW-1)
	}
	var b strings.Builder
	nameHead := "DISPLAY NAME"
	if nameW < len(nameHead) {
		nameHead = "NAME"
	}
	head := "    " + cell("E-MAIL", emailW) + nameCell(nameHead) + " " + cell("OWNER", kindW) + ownerCell("OWNER NAME")
	if m.oauth {
		head += " " + cell("CONSENT", consentW-1)
	}
	b.WriteString(s.Label.Render(head) + "\n")
	if len(l.filtered) == 0 {
		if l.query != "" {
			b.WriteString(s.Muted.Render("    No mailbox matches the filter."))
		} else {
			b.WriteString(s.Muted.Render("    No mailbox yet: " + hint(m.keys.Mailboxes.Add, "adds one") + ", " + hint(m.keys.Mailboxes.Import, "imports a CSV file") + "."))
		}
		return b.String()
	}
	end := min(sl.offset+rows-1, len(l.filtered))
	for i := sl.offset; i < end; i++ {
		mb := l.items[l.filtered[i]]
		mark := "  "
		if m.setup.selected[mb.Email] {
			mark = "◆ "
		}
		name := mb.DisplayName
		if name == mb.Email {
			name = "(address)"
		}
		line := mark + cell(mb.Email, emailW) + nameCell(name) + " " + cell(string(mb.OwnerKind), kindW) + ownerCell(mb.OwnerName) + consentCell(mb.Email)
		// the marker shows the row without colour (NO_COLOR)
		cur := "  "
		if i == sl.cursor {
			line = s.Selected.Render(line)
			cur = s.Selected.Render("›") + " "
		}
		line = cur + line
		b.WriteString(line)
		if i < end-1 {
			b.WriteString("\n")
		}
	}
	return b.String()
}
