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
		Help:   key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Cancel: key.NewBinding(key.WithKeys("esc", "ctrl+c"), key.WithHelp("esc", "cancel")),
		Yes:    key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:     key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n", "no")),
	}
}

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

// keyMap builds the help for a screen from its own bindings and the globals.
func keyMap(g globalKeys, own []key.Binding, withNext, withBack, textField bool) stepKeys {
	var short []key.Binding
	if withNext {
		short = append(short, g.Next)
	}
	short = append(short, own...)
	if withBack {
		short = append(short, g.Back)
	}
	quit := g.Quit
	if textField {
		quit = b([]string{"ctrl+c"}, "ctrl+c", "quit")
	}
	short = append(short, g.Help, quit)
	nav := []key.Binding{}
	if withNext {
		nav = append(nav, g.Next)
	}
	if withBack {
		nav = append(nav, g.Back)
	}
	if textField {
		nav = append(nav, g.Field)
	}
	nav = append(nav, g.Help, quit)
	full := [][]key.Binding{}
	if len(own) > 0 {
		// columns of at most 5 bindings
		for i := 0; i < len(own); i += 5 {
			end := min(i+5, len(own))
			full = append(full, own[i:end])
		}
	}
	full = append(full, nav)
	return stepKeys{short: short, full: full}
}
