package tui

import (
	"errors"
	"strings"
	"unicode"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/mailboxcsv"
)

// newInput builds a text field in the wizard's look.
func newInput(placeholder string) textinput.Model {
	ti := textinput.New()
	ti.Prompt = ""
	ti.Placeholder = placeholder
	ti.CharLimit = maxFieldChars
	ti.SetVirtualCursor(true)
	return ti
}

// field renders a labelled text field; the focused one is marked.
// The step's SetSize gave ti its width (sizeFields); the view only reads.
func (c *common) field(label string, ti *textinput.Model, focused bool, width int) string {
	s := c.styles
	in := *ti
	in.SetWidth(fieldWidth(width)) // a frame before any SetSize
	mark := "  "
	ls := s.Label
	if focused {
		mark = s.Key.Render("▸ ")
		ls = s.FocusLabel
	}
	// a long label (the paste prompt) wraps rather than being cut
	label = strings.ReplaceAll(wrap(label, max(width-2, 10)), "\n", "\n  ")
	return mark + ls.Render(label) + "\n  " + in.View()
}

func fieldWidth(width int) int { return max(width-4, 8) }

// sizeFields gives text fields the width field shows them at, so that
// their scrolling (in Update) matches the view.
func sizeFields(width int, ins ...*textinput.Model) {
	for _, in := range ins {
		in.SetWidth(fieldWidth(width))
	}
}

// kv renders an aligned label: value line.
func (c *common) kv(label, value string, labelWidth int) string {
	return c.styles.Label.Render(padRight(label, labelWidth)) + " " + c.styles.Value.Render(value)
}

// kvWrap is kv with the value wrapped under itself to fit width (never
// inside an address, path or URL that fits on a line of its own).
func (c *common) kvWrap(label, value string, labelWidth, width int) string {
	vw := max(width-labelWidth-1, 10)
	lines := strings.Split(wrap(value, vw), "\n")
	out := c.kv(label, lines[0], labelWidth)
	for _, l := range lines[1:] {
		out += "\n" + strings.Repeat(" ", labelWidth+1) + c.styles.Value.Render(l)
	}
	return out
}

// copyable renders a value to paste elsewhere: label, the value wrapped
// whole (see wrap) in the code style, and the key that copies it after the
// last line, or under it when it does not fit.
func (c *common) copyable(label, value, hint string, labelWidth, width int) string {
	s := c.styles
	vw := max(width-labelWidth-1, 10)
	lines := strings.Split(wrap(value, vw), "\n")
	pad := strings.Repeat(" ", labelWidth+1)
	out := s.Label.Render(padRight(label, labelWidth)) + " " + s.Code.Render(lines[0])
	for _, l := range lines[1:] {
		out += "\n" + pad + s.Code.Render(l)
	}
	if hint == "" {
		return out
	}
	if last := lines[len(lines)-1]; ansi.StringWidth(last)+2+ansi.StringWidth(hint) <= vw {
		return out + "  " + s.Muted.Render(hint)
	}
	return out + "\n" + pad + s.Muted.Render(hint)
}

func padRight(s string, n int) string {
	if d := n - lipgloss.Width(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}

// wrap word-wraps plain text to width. It breaks only at spaces, so a
// command, address, path or URL that is copied off the screen stays whole;
// only a token wider than the line is broken, at a point where a path or
// URL can be rejoined (see breakToken). Lines carry no trailing spaces.
func wrap(s string, width int) string {
	if width < 10 {
		width = 10
	}
	s = core.SafeLines(s) // a value may come from a file, a server or the store
	var out []string
	for _, para := range strings.Split(s, "\n") {
		out = append(out, wrapLine(para, width)...)
	}
	return strings.Join(out, "\n")
}

// wrapLine wraps one paragraph; its leading indentation is kept.
func wrapLine(s string, width int) []string {
	trimmed := strings.TrimLeft(s, " ")
	lead := s[:len(s)-len(trimmed)]
	words := strings.Fields(trimmed)
	if len(words) == 0 {
		return []string{strings.TrimRight(s, " ")}
	}
	var lines []string
	cur := lead
	curW := ansi.StringWidth(lead)
	empty := true
	for _, wd := range words {
		ww := ansi.StringWidth(wd)
		switch {
		case !empty && curW+1+ww <= width:
			cur += " " + wd
			curW += 1 + ww
			continue
		case empty && curW+ww <= width:
			cur += wd
			curW += ww
			empty = false
			continue
		}
		if !empty {
			lines = append(lines, cur)
			cur, curW = "", 0
		}
		// the word starts a line; a word wider than the line is broken
		for ansi.StringWidth(wd) > width-curW {
			head, tail := breakToken(wd, width-curW)
			lines = append(lines, cur+head)
			cur, curW, wd = "", 0, tail
		}
		cur += wd
		curW += ansi.StringWidth(wd)
		empty = false
	}
	return append(lines, cur)
}

// breakPoints are where an over-long token is broken, best first: a list
// separator (scopes), then a path or query boundary, then a dot, dash or
// similar. The character stays at the end of the line.
var breakPoints = []string{",", "/?&=#", ".-_@:;+"}

// breakToken splits a token wider than width into a head of at most width
// columns ending at the best break point, and the rest; a token with no
// break point is cut at width.
func breakToken(tok string, width int) (head, tail string) {
	width = max(width, 1)
	runes := []rune(tok)
	// the longest prefix that fits
	fit, w := 0, 0
	for fit < len(runes) {
		rw := ansi.StringWidth(string(runes[fit]))
		if w+rw > width {
			break
		}
		w += rw
		fit++
	}
	fit = max(fit, 1)
	for n, set := range breakPoints {
		// a list is broken at any of its separators; elsewhere a break
		// that leaves a very short line is worse than the next choice
		least := fit / 3
		if n == 0 {
			least = 0
		}
		for i := fit; i > least && i > 0; i-- {
			if strings.ContainsRune(set, runes[i-1]) {
				return string(runes[:i]), string(runes[i:])
			}
		}
	}
	return string(runes[:fit]), string(runes[fit:])
}

// errView renders an error as core explains it: the finding's summary and
// fix, or the input error's sentence.
func (c *common) errView(err error, width int) string {
	if err == nil {
		return ""
	}
	if f := core.FindingOf(err); f != nil {
		return c.findingView(f, width)
	}
	var ie *core.InputError
	if errors.As(err, &ie) {
		return c.styles.Error.Render(wrap("✗ "+sentence(ie.Msg), width))
	}
	return c.styles.Error.Render(wrap("✗ "+sentence(err.Error()), width))
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

// findingView renders a finding: what is wrong, then the fix. A fix that
// sends to the mailbox step's consent gets that key from the keymap, as
// core's text names none (it is the command line's too).
func (c *common) findingView(f *core.Finding, width int) string {
	if f == nil {
		return ""
	}
	s := c.styles
	out := s.Error.Render(wrap("✗ "+f.Summary, width))
	if f.Fix != "" {
		fix := strings.Replace(f.Fix, core.ConsentInWizard, core.ConsentInWizard+" ("+keyName(c.keys.Mailboxes.Consent)+")", 1)
		out += "\n" + s.Text.Render(wrap("Fix: "+fix, width))
	}
	return out
}

// title renders a step's heading and intro.
func (c *common) title(head, intro string, width int) string {
	out := c.styles.Heading.Render(wrap(head, width))
	if intro != "" {
		out += "\n" + c.styles.Muted.Render(wrap(intro, width))
	}
	return out
}

// truncate cuts s to n columns with an ellipsis.
func truncate(s string, n int) string {
	return ansi.Truncate(s, n, "…")
}

func asImportError(err error, target **mailboxcsv.ImportError) bool {
	return errors.As(err, target)
}

// A form names its fields with a type of its own (mailboxField: mbEmail,
// mbName, …; domainField, keyField, oauthField), in their order on screen;
// inputs() lists each field's text input by that name. Every form moves
// its focus with focusOnly and wrapAround.

// focusOnly focuses inputs[focus] with the cursor at its end and blurs the
// others; a nil input is a field that is no text input (the mailbox form's
// owner kind). It returns the focused field's cursor command.
func focusOnly[F ~int](inputs []*textinput.Model, focus F) tea.Cmd {
	var cmd tea.Cmd
	for i, in := range inputs {
		switch {
		case in == nil:
		case F(i) == focus:
			in.CursorEnd()
			cmd = in.Focus()
		default:
			in.Blur()
		}
	}
	return cmd
}

// wrapAround moves i by delta among n places, wrapping around at either end:
// tab past a form's last field comes back to its first.
func wrapAround[F ~int](i F, delta int, n F) F {
	return F(((int(i)+delta)%int(n) + int(n)) % int(n))
}
