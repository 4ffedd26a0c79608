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

// Single keys: the wizard's own handling of a key that a global binding
// groups with others (ctrl+c interrupts a running step before it quits;
// esc cancels a running step before it goes back), and the keys that move
// between a form's fields.
var (
	keyInterrupt = b([]string{"ctrl+c"}, "ctrl+c", "quit")
	keyEsc       = b([]string{"esc"}, "esc", "cancel")
	keyF1        = b([]string{"f1"}, "f1", "help")
	keyQuestion  = b([]string{"?"}, "?", "help")
	keyQ         = b([]string{"q"}, "q", "quit")
	keyTab       = b([]string{"tab"}, "tab", "next field")
	keyShiftTab  = b([]string{"shift+tab"}, "shift+tab", "back")
	keyFieldUp   = b([]string{"up"}, "↑", "previous field")
	keyFieldDown = b([]string{"down"}, "↓", "next field")
)

// The help line's own entries (keyMap): help and quit as a text field has
// them, and the full help's toggle.
var (
	keyHelp          = b([]string{"?", "f1"}, "?", "help")
	keyHelpToggle    = b([]string{"?", "f1"}, "?/f1", "toggle help")
	keyHelpToggleF1  = b([]string{"f1"}, "f1", "toggle help (? when the field is empty)")
	keyChoose        = b([]string{"up", "down"}, "↑/↓", "choose")
	keyChooseNumber  = b([]string{"1", "2"}, "1/2", "choose")
	keyCompleteField = b([]string{"tab"}, "tab", "complete / next field")
	keyBackToChoice  = b([]string{"esc"}, "esc", "back to the choice of credential")
)

// What enter does on a step until it is done, and the steps' grouped
// entries of the short help line.
var (
	keyVerifyEnter   = b([]string{"enter"}, "enter", "verify")
	keyGenerateEnter = b([]string{"enter"}, "enter", "generate token")
	keyRunChecks     = b([]string{"enter"}, "enter", "run checks")
	keySettings      = b([]string{"u", "p"}, "u/p", "settings")
)

// The mailboxes step's filter, form, import, delete and consent modes.
var (
	keyFilterDone   = b([]string{"enter"}, "enter", "done")
	keyFilterClear  = b([]string{"esc"}, "esc", "clear")
	keyFormSave     = b([]string{"enter"}, "enter", "save")
	keyImportFile   = b([]string{"enter"}, "enter", "import")
	keyImportTab    = b([]string{"tab"}, "tab", "complete")
	keyDeleteYes    = b([]string{"y"}, "y", "delete")
	keyDeleteNo     = b([]string{"n", "esc"}, "n", "keep")
	keyDeleteNoFull = b([]string{"n", "esc"}, "n/esc", "keep")
	keyBackToList   = b([]string{"enter", "esc"}, "enter", "back to the list")
	keyConsentAgain = b([]string{"c"}, "c", "try again")
)

// Step 4's links, the same letters on both paths: o opens (where a browser
// exists, else copies), l copies. The delegation link of a service account
// (delegation_link.go) and the consent URL of an OAuth client
// (consentflow.go).
var (
	keyCopyLink = b([]string{"l"}, "l", "copy delegation link")
	keyOpenLink = b([]string{"o"}, "o", "open delegation link")
	keyCopyURL  = b([]string{"l"}, "l", "copy URL")
	keyOpenURL  = b([]string{"o"}, "o", "open URL")
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

// allBound reports whether every key of b is bound by one of bs.
func allBound(b key.Binding, bs []key.Binding) bool {
	for _, k := range b.Keys() {
		if !hasKey(bs, k) {
			return false
		}
	}
	return len(b.Keys()) > 0
}

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

// helpText is a binding as a hint beside a running step: "esc cancel".
func helpText(k key.Binding) string {
	return k.Help().Key + " " + k.Help().Desc
}

// helpWidth is the width the short help must fit in: the narrowest
// terminal the wizard supports.
const helpWidth = 80

// keyMap builds the help for a screen. The short help line holds next,
// the screen's most important bindings (short), back, help and quit, and
// must fit in 80 columns; full help (? or F1) lists short and more too.
// In a text field ? is a character, so help is F1 and quit is ctrl+c.
func keyMap(g globalKeys, short, more []key.Binding, withNext, withBack, textField bool) stepKeys {
	quit, hlp := g.Quit, keyHelp
	if textField {
		quit, hlp = keyInterrupt, keyF1
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
	helpFull := keyHelpToggle
	if textField {
		helpFull = keyHelpToggleF1
	}
	nav = append(nav, helpFull, quit)
	// each key once, by its most precise binding: "c copy client ID" and
	// "s copy scopes" rather than the short line's "c/s copy" too
	own := []key.Binding{}
	for _, k := range short {
		if !allBound(k, more) {
			own = append(own, k)
		}
	}
	for _, k := range more {
		if !allBound(k, own) {
			own = append(own, k)
		}
	}
	full := [][]key.Binding{}
	// columns of at most 5 bindings
	for i := 0; i < len(own); i += 5 {
		end := min(i+5, len(own))
		full = append(full, own[i:end])
	}
	full = append(full, nav)
	return stepKeys{short: line, full: full}
}
