package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// The root view: header, the steps' sidebar, the current step's content
// and the footer (status line and help), within the terminal's size.

func (m model) View() tea.View {
	v := tea.NewView(m.w.render())
	v.AltScreen = true
	v.WindowTitle = "mailoauth wizard"
	return v
}

const sidebarWidth = 20

// render draws the whole screen, never past width x height.
func (w *wizard) render() string {
	W, H := max(w.width, 20), max(w.height, 6)
	if w.width < minWidth || w.height < minHeight {
		return w.tooSmall(W, H)
	}
	s := w.styles

	// header
	title := s.Title.Render("mailoauth") + s.Muted.Render(" · Gmail OAuth 2.0 setup")
	right := ""
	if w.sandbox != nil {
		right = s.Badge.Render("SANDBOX")
	}
	if badge := w.upgradeBadge(); badge != "" {
		right = strings.TrimSpace(badge + " " + right)
	}
	if w.setup.profile.Domain != "" && w.cur != stepProfile {
		right = s.Muted.Render(w.setup.profile.Domain) + " " + right
	}
	header := title
	if gap := W - lipgloss.Width(title) - lipgloss.Width(right); gap >= 1 {
		header = title + strings.Repeat(" ", gap) + right
	}

	footer := w.footer(W)
	bodyH := max(H-2-lipgloss.Height(footer), 1)

	side := w.renderSteps(bodyH)
	content := w.renderContent(W-sidebarWidth-2, bodyH)
	body := lipgloss.JoinHorizontal(lipgloss.Top,
		s.Sidebar.Width(sidebarWidth).Height(bodyH).MaxHeight(bodyH).Render(side),
		" ", content)
	out := header + "\n" + clip(body, W, bodyH+1) + "\n" + footer
	return clip(out, W, H)
}

// contentSize is the room render gives the current step's content.
func (w *wizard) contentSize() (width, height int) {
	W, H := max(w.width, 20), max(w.height, 6)
	return W - sidebarWidth - 2, max(H-2-lipgloss.Height(w.footer(W)), 1)
}

// fit lets the current step fit itself to the room it has now.
func (w *wizard) fit() {
	if w.width < minWidth || w.height < minHeight || w.upgradeIntro || w.confirmQuit {
		return
	}
	w.step().SetSize(w.contentSize())
}

func (w *wizard) renderContent(width, height int) string {
	if w.confirmQuit {
		d := w.styles.Dialog.Render(w.styles.Warn.Render("Quit with unsaved changes?") + "\n\n" +
			"The edits on this step are not saved yet.\n" +
			"Finished steps are kept.\n\n" +
			w.styles.Key.Render(keyName(w.keys.Global.Yes)) + " quit   " + w.styles.Key.Render(keyName(w.keys.Global.No)) + " stay")
		return lipgloss.Place(width, height, lipgloss.Center, lipgloss.Center, d)
	}
	if w.upgradeIntro {
		return clip(w.scrolled(w.upgradeIntroView(width), height), width, height)
	}
	return clip(w.scrolled(w.step().View(), height), width, height)
}

func (w *wizard) renderSteps(height int) string {
	s := w.styles
	var b strings.Builder
	b.WriteString(s.Heading.Render("Steps") + "\n")
	for i := range numSteps {
		name := fmt.Sprintf("%d %s", i+1, w.stepName(i))
		var line string
		switch {
		case i == w.cur:
			line = s.StepCurrent.Render("● " + name)
		case w.stepDone(i):
			line = s.StepDone.Render("✓ " + name)
		default:
			line = s.StepTodo.Render("○ " + name)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// stepDone reports whether a step was finished for the current profile.
func (w *wizard) stepDone(i stepID) bool {
	if i == stepProfile {
		return w.cur > stepProfile
	}
	if w.upgrade && (i == stepDomain || (i == stepMailboxes && !w.setup.isOAuthClient())) {
		return true // the legacy setup covers them (not the consents)
	}
	return w.setup.profile.WizardStep > int(i)+1
}

// clip cuts s to at most width columns and height lines.
func clip(s string, width, height int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > height {
		lines = lines[:height]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > width {
			lines[i] = ansi.Truncate(l, width, "")
		}
	}
	return strings.Join(lines, "\n")
}
