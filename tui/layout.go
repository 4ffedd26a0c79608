package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailoauth/mailoauth/core"
)

// The smallest terminal the wizard lays its screens out for; below it the
// wizard says what it needs rather than cut screens without a sign.
const minWidth, minHeight = 80, 24

// tooSmall is the whole screen on a terminal below minWidth x minHeight.
func (w *wizard) tooSmall(W, H int) string {
	msg := fmt.Sprintf("mailoauth needs at least %dx%d; this terminal is %dx%d. Enlarge the window (or zoom out); %s.", minWidth, minHeight, W, H, hint(w.keys.Global.Quit, "quits"))
	return lipgloss.Place(W, H, lipgloss.Center, lipgloss.Center, w.styles.Warn.Render(wrap(msg, max(W-2, 10))))
}

// footer is the status line and the help, width columns wide.
func (w *wizard) footer(W int) string {
	s := w.styles
	var keys help.KeyMap = w.step()
	if w.upgradeIntro {
		keys = w.upgradeIntroKeys()
	}
	helpView := w.helpView(keys)
	if w.confirmQuit {
		helpView = w.sizedHelp().ShortHelpView([]key.Binding{w.keys.Global.Yes, w.keys.Global.No})
	}
	if w.status == "" {
		return helpView
	}
	st := s.Muted
	if w.statusErr {
		st = s.Error
	}
	return st.Render(statusLines(core.SafeLines(w.status), W)) + "\n" + helpView
}

// maxStatusLines is how many lines a long status message (a refused save
// naming who changed what) may take before it is cut.
const maxStatusLines = 3

// statusLines wraps the status message to the width, so the end of a long
// sentence (what changed, what to do) is seen rather than cut at the edge.
func statusLines(msg string, width int) string {
	lines := strings.Split(wrap(msg, width), "\n")
	if len(lines) > maxStatusLines {
		lines = lines[:maxStatusLines]
		lines[maxStatusLines-1] = ansi.Truncate(strings.TrimRight(lines[maxStatusLines-1], " ")+" …", width, "…")
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// helpView is the help for keys: the short line, or with full help (?) its
// columns side by side while they fit the width and on further rows when
// they do not, so no column is cut to "…".
func (w *wizard) helpView(keys help.KeyMap) string {
	h := w.sizedHelp()
	if !h.ShowAll {
		return h.ShortHelpView(keys.ShortHelp())
	}
	sep := h.Styles.FullSeparator.Inline(true).Render(h.FullSeparator)
	var rows []string
	var row []string
	rowW := 0
	for _, group := range keys.FullHelp() {
		col := h.FullHelpView([][]key.Binding{group})
		cw := lipgloss.Width(col)
		if len(row) > 0 && rowW+lipgloss.Width(sep)+cw > w.width {
			rows = append(rows, lipgloss.JoinHorizontal(lipgloss.Top, row...))
			row, rowW = nil, 0
		}
		if len(row) > 0 {
			row, rowW = append(row, sep), rowW+lipgloss.Width(sep)
		}
		row, rowW = append(row, col), rowW+cw
	}
	if len(row) > 0 {
		rows = append(rows, lipgloss.JoinHorizontal(lipgloss.Top, row...))
	}
	return strings.Join(rows, "\n")
}

// sizedHelp is the help model at the screen's width: a copy, as the view
// changes no state.
func (w *wizard) sizedHelp() help.Model {
	h := w.help
	h.SetWidth(max(w.width, 20))
	return h
}

// moreAbove and moreBelow are the markers of a screen (or a part of one)
// taller than its room, with the key that scrolls it: up, or down to the
// n lines below.
func moreAbove(up key.Binding) string { return "↑ more (" + keyName(up) + ")" }

func moreBelow(down key.Binding, n int) string {
	return fmt.Sprintf("↓ more (%s): %d more line(s)", keyName(down), n)
}

// viewportPage is what the wizard shows of a viewport whose content and
// size were set in Update or SetSize: all of the content when it fits,
// else the page at the viewport's offset and below it a marker naming the
// key that scrolls on, down while there is more below, else up. The
// summary and the test step's details show their viewports with it. The
// page is cut from the content rather than taken from the viewport's
// View, which pads each line to its width and so would change the
// screen's lines.
func viewportPage(vp viewport.Model, down, up key.Binding, muted lipgloss.Style) string {
	total, off, height := vp.TotalLineCount(), vp.YOffset(), vp.Height()
	if total <= height {
		return vp.GetContent()
	}
	lines := strings.Split(vp.GetContent(), "\n")
	lines = lines[min(off, total):min(off+height, total)]
	more := moreAbove(up)
	if below := total - off - height; below > 0 {
		more = moreBelow(down, below)
	}
	return strings.Join(append(lines, muted.Render(more)), "\n")
}

// scrollKey scrolls a screen taller than the terminal by a page, for the
// keys its step left unhandled. w.scroll counts pages from the top, or
// back from the end (negative) on a screen shown from its end.
func (w *wizard) scrollKey(k tea.KeyPressMsg) bool {
	switch {
	case key.Matches(k, w.keys.Screen.MoreDown):
		w.scroll++
	case key.Matches(k, w.keys.Screen.MoreUp):
		w.scroll--
	default:
		return false
	}
	if w.fromEnd() {
		w.scroll = min(w.scroll, 0)
	} else {
		w.scroll = max(w.scroll, 0)
	}
	return true
}

// endFirst is implemented by a step whose screen, when too tall, is best
// shown from its end: a text field being answered, with its error, below
// long instructions.
type endFirst interface{ showEnd() bool }

func (w *wizard) fromEnd() bool {
	e, ok := w.step().(endFirst)
	return ok && !w.upgradeIntro && e.showEnd()
}

// scrolled shows a step's content within height lines: all of it when it
// fits, else a page at the scroll position with "↓ more" / "↑ more"
// markers, so nothing is cut without a sign. It reads w.scroll and never
// changes it (the view changes no state): a page past either end shows
// that end.
func (w *wizard) scrolled(content string, height int) string {
	lines := strings.Split(strings.TrimRight(content, "\n"), "\n")
	if len(lines) <= height || height < 3 {
		return content
	}
	muted := w.styles.Muted
	up := muted.Render(moreAbove(w.keys.Screen.MoreUp))
	down := func(n int) string { return muted.Render(moreBelow(w.keys.Screen.MoreDown, n)) }
	page := height - 2
	last := (len(lines) - (height - 1) + page - 1) / page // the page showing the end
	p := w.scroll
	if w.fromEnd() {
		p += last
	}
	p = min(max(p, 0), last)
	var out []string
	switch off := p * page; {
	case p == 0:
		out = append(append(out, lines[:height-1]...), down(len(lines)-(height-1)))
	case p == last:
		out = append(append(out, up), lines[len(lines)-(height-1):]...)
	default:
		out = append(append(append(out, up), lines[off:off+page]...), down(len(lines)-off-page))
	}
	return strings.Join(out, "\n")
}
