package tui

// The mailboxes step's CSV import.

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core/mailboxcsv"
)

func (m *mailboxesStep) updateImport(msg tea.Msg) (tea.Cmd, bool) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, m.keys.Global.Esc):
			m.mode, m.importErr = mbList, nil
			m.importPath.Blur()
			return nil, true
		case key.Matches(k, m.keys.Mailboxes.ImportFile):
			m.doImport()
			return nil, true
		case key.Matches(k, m.keys.Global.Interrupt):
			return nil, false
		}
	}
	cmd, _ := m.importPath.update(msg)
	return cmd, true
}

func (m *mailboxesStep) doImport() {
	p := m.importPath.path()
	data, err := m.importPath.read()
	if err != nil {
		m.importErr = err
		return
	}
	ms, err := mailboxcsv.Parse(m.setup.profile.MailboxRule(), bytes.NewReader(data), filepath.Base(p))
	if err != nil {
		m.importErr = err
		return
	}
	m.setup.boxes.putAll(ms)
	m.mode, m.importErr = mbList, nil
	m.importPath.Blur()
	m.clamp()
	m.setStatus(fmt.Sprintf("Imported %d mailboxes from %s (saved when you leave this step).", len(ms), filepath.Base(p)))
}

func (m *mailboxesStep) importErrView(width, height int) string {
	var ie *mailboxcsv.ImportError
	if !asImportError(m.importErr, &ie) {
		return m.errView(m.importErr, width)
	}
	s := m.styles
	out := s.Error.Render(wrap(fmt.Sprintf("✗ %s has %d bad row(s); nothing was imported. Fix them and import again:", ie.File, len(ie.Lines)), width)) + "\n"
	room := max(height-lineCount(out)-1, 1)
	used := 0
	for i, le := range ie.Lines {
		// each bad line wrapped under its number, so the fix stays readable
		lines := strings.Split(wrap(sentence(fmt.Sprint(le.Err)), max(width-12, 10)), "\n")
		if used+len(lines) > room-1 && i < len(ie.Lines) {
			out += s.Muted.Render(fmt.Sprintf("  … and %d more bad lines", len(ie.Lines)-i))
			break
		}
		for j, l := range lines {
			head := strings.Repeat(" ", 12)
			if j == 0 {
				head = padRight(fmt.Sprintf("  line %d:", le.Line), 12)
			}
			out += head + strings.TrimRight(l, " ") + "\n"
		}
		used += len(lines)
	}
	return out
}
