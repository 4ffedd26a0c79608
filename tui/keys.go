package tui

import (
	"charm.land/bubbles/v2/key"
)

// globalKeys are the bindings every screen shares.
type globalKeys struct {
	Next   key.Binding
	Back   key.Binding
	Field  key.Binding
	Help   key.Binding
	Quit   key.Binding
	Cancel key.Binding
	Yes    key.Binding
	No     key.Binding
}

func newGlobalKeys() globalKeys {
	return globalKeys{
		Next:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "continue")),
		Back:   key.NewBinding(key.WithKeys("esc", "shift+tab"), key.WithHelp("esc", "back")),
		Field:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next field")),
		Help:   key.NewBinding(key.WithKeys("?", "f1"), key.WithHelp("?", "help")),
		Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Cancel: key.NewBinding(key.WithKeys("esc", "ctrl+c"), key.WithHelp("esc", "cancel")),
		Yes:    key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:     key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n", "no")),
	}
}

// Step 4's delegation link (delegation_link.go).
var (
	keyCopyLink = b([]string{"l"}, "l", "copy delegation link")
	keyOpenLink = b([]string{"o"}, "o", "open delegation link")
)

// Step 3's page about key creation blocked by an organization policy
// (step_credentials_policy.go); a function key, as the step has text fields.
var keyPolicy = b([]string{"f2"}, "f2", "key creation blocked?")

// The summary's page for products that only know passwords
// (summary_proxy.go): open it, and make the selected mailbox's proxy
// password (shown once).
var (
	keyProxy         = b([]string{"x"}, "x", "proxy (password-only products)")
	keyProxyPassword = b([]string{"p"}, "p", "make proxy password")
	keyProxyClose    = b([]string{"x", "esc"}, "x/esc", "back to summary")
)

// b is a short way to build a binding with help.
func b(keys []string, k, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
}

// stepKeys implements help.KeyMap for the current screen: its own bindings
// first, then the global ones.
type stepKeys struct {
	short []key.Binding
	full  [][]key.Binding
}

func (k stepKeys) ShortHelp() []key.Binding  { return k.short }
func (k stepKeys) FullHelp() [][]key.Binding { return k.full }

// hasKey reports whether one of bs is bound to k.
func hasKey(bs []key.Binding, k string) bool {
	for _, b := range bs {
		for _, bk := range b.Keys() {
			if bk == k {
				return true
			}
		}
	}
	return false
}

// helpWidth is the width the short help must fit in: the narrowest
// terminal the wizard supports.
const helpWidth = 80

// keyMap builds the help for a screen. The short help line holds next,
// the screen's most important bindings (short), back, help and quit, and
// must fit in 80 columns; full help (? or F1) lists short and more too.
// In a text field ? is a character, so help is F1 and quit is ctrl+c.
func keyMap(g globalKeys, short, more []key.Binding, withNext, withBack, textField bool) stepKeys {
	quit, hlp := g.Quit, b([]string{"?", "f1"}, "?", "help")
	if textField {
		quit = b([]string{"ctrl+c"}, "ctrl+c", "quit")
		hlp = b([]string{"f1"}, "f1", "help")
	}
	var line []key.Binding
	if withNext {
		line = append(line, g.Next)
	}
	line = append(line, short...)
	if withBack {
		line = append(line, g.Back)
	}
	line = append(line, hlp, quit)

	nav := []key.Binding{}
	if withNext {
		nav = append(nav, g.Next)
	}
	if withBack {
		nav = append(nav, g.Back)
	}
	if textField && !hasKey(append(short, more...), "tab") {
		nav = append(nav, g.Field)
	}
	helpFull := b([]string{"?", "f1"}, "?/f1", "toggle help")
	if textField {
		helpFull = b([]string{"f1"}, "f1", "toggle help (? when the field is empty)")
	}
	nav = append(nav, helpFull, quit)
	own := append(append([]key.Binding{}, short...), more...)
	full := [][]key.Binding{}
	// columns of at most 5 bindings
	for i := 0; i < len(own); i += 5 {
		end := min(i+5, len(own))
		full = append(full, own[i:end])
	}
	full = append(full, nav)
	return stepKeys{short: line, full: full}
}
