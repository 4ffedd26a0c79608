package sshserver

import (
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// noticeMsg shows a line over the wizard's header (e.g. the shutdown
// warning) without touching the wizard.
type noticeMsg string

// closeMsg ends the session with a reason the user is told.
type closeMsg string

// idleTickMsg checks for an idle session.
type idleTickMsg time.Time

// sessionModel wraps a session's wizard with what only the server knows:
// the idle timeout, the shutdown notice and the reason a session closed.
type sessionModel struct {
	inner     tea.Model
	idle      time.Duration
	now       func() time.Time // the server's clock (time.Now but in tests)
	lastInput time.Time
	notice    string

	mu  sync.Mutex
	why string
}

func (m *sessionModel) tick() tea.Cmd {
	every := min(max(m.idle/10, 50*time.Millisecond), 30*time.Second)
	return tea.Tick(every, func(t time.Time) tea.Msg { return idleTickMsg(t) })
}

func (m *sessionModel) Init() tea.Cmd {
	return tea.Batch(m.inner.Init(), m.tick())
}

func (m *sessionModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case idleTickMsg:
		if m.now().Sub(m.lastInput) >= m.idle {
			m.setReason("no input for " + m.idle.String())
			return m, tea.Quit
		}
		return m, m.tick()
	case noticeMsg:
		m.notice = string(msg)
		return m, nil
	case closeMsg:
		m.setReason(string(msg))
		return m, tea.Quit
	case tea.KeyPressMsg, tea.KeyReleaseMsg, tea.MouseMsg, tea.PasteMsg:
		m.lastInput = m.now()
	}
	var cmd tea.Cmd
	m.inner, cmd = m.inner.Update(msg)
	return m, cmd
}

// View is the wizard's, with the notice in place of its first line.
func (m *sessionModel) View() tea.View {
	v := m.inner.View()
	if m.notice != "" {
		first, rest, _ := strings.Cut(v.Content, "\n")
		width := max(ansi.StringWidth(first), 20)
		v.Content = "\x1b[1;7m" + ansi.Truncate(m.notice, width, "…") + "\x1b[0m" + "\n" + rest
	}
	return v
}

func (m *sessionModel) setReason(why string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.why == "" {
		m.why = why
	}
}

// reason is why the server closed the session, "" when the user quit.
func (m *sessionModel) reason() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.why
}
