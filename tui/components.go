package tui

import (
	"errors"
	"strings"
	"unicode"

	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailoauth/mailoauth/core"
)

// newInput builds a text field in the wizard's look.
func newInput(placeholder string) textinput.Model {
	ti := textinput.New()
	ti.Prompt = ""
	ti.Placeholder = placeholder
	ti.SetVirtualCursor(true)
	return ti
}

// field renders a labelled text field; the focused one is marked.
func (w *wizard) field(label string, ti *textinput.Model, focused bool, width int) string {
	s := w.styles
	ti.SetWidth(max(width-4, 8))
	mark := "  "
	ls := s.Label
	if focused {
		mark = s.Key.Render("▸ ")
		ls = s.FocusLabel
	}
	return mark + ls.Render(label) + "\n  " + ti.View()
}

// kv renders an aligned label: value line.
func (w *wizard) kv(label, value string, labelWidth int) string {
	return w.styles.Label.Render(padRight(label, labelWidth)) + " " + w.styles.Value.Render(value)
}

// kvWrap is kv with the value wrapped under itself to fit width.
func (w *wizard) kvWrap(label, value string, labelWidth, width int) string {
	vw := max(width-labelWidth-1, 10)
	lines := strings.Split(lipgloss.NewStyle().Width(vw).Render(value), "\n")
	out := w.kv(label, strings.TrimRight(lines[0], " "), labelWidth)
	for _, l := range lines[1:] {
		out += "\n" + strings.Repeat(" ", labelWidth+1) + w.styles.Value.Render(strings.TrimRight(l, " "))
	}
	return out
}

func padRight(s string, n int) string {
	if d := n - lipgloss.Width(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}

// wrap word-wraps plain text to width.
func wrap(s string, width int) string {
	if width < 10 {
		width = 10
	}
	return lipgloss.NewStyle().Width(width).Render(s)
}

// errView renders an error as core explains it: the finding's summary and
// fix, or the input error's sentence.
func (w *wizard) errView(err error, width int) string {
	if err == nil {
		return ""
	}
	if f := core.FindingOf(err); f != nil {
		return w.findingView(f, width)
	}
	var ie *core.InputError
	if errors.As(err, &ie) {
		return w.styles.Error.Render(wrap("✗ "+sentence(ie.Msg), width))
	}
	return w.styles.Error.Render(wrap("✗ "+sentence(err.Error()), width))
}

// sentence makes an error message a sentence: capital first letter, final
// period (core's input errors are worded to follow "error:").
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	// an address, path or file name keeps its case
	if first := strings.Fields(s)[0]; !strings.ContainsAny(first, "@/.") {
		r := []rune(s)
		r[0] = unicode.ToUpper(r[0])
		s = string(r)
	}
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// findingView renders a finding: what is wrong, then the fix.
func (w *wizard) findingView(f *core.Finding, width int) string {
	if f == nil {
		return ""
	}
	s := w.styles
	out := s.Error.Render(wrap("✗ "+f.Summary, width))
	if f.Fix != "" {
		out += "\n" + s.Text.Render(wrap("Fix: "+f.Fix, width))
	}
	return out
}

// title renders a step's heading and intro.
func (w *wizard) title(head, intro string, width int) string {
	out := w.styles.Heading.Render(head)
	if intro != "" {
		out += "\n" + w.styles.Muted.Render(wrap(intro, width))
	}
	return out
}

// truncate cuts s to n columns with an ellipsis.
func truncate(s string, n int) string {
	return ansi.Truncate(s, n, "…")
}

func asImportError(err error, target **core.ImportError) bool {
	return errors.As(err, target)
}

// progressBar draws a bar of width columns filled to pct (0..1).
func (w *wizard) progressBar(pct float64, width int) string {
	pct = max(0, min(pct, 1))
	full := int(pct*float64(width) + 0.5)
	return w.styles.Key.Render(strings.Repeat("█", full)) + w.styles.Muted.Render(strings.Repeat("░", width-full))
}
