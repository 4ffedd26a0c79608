package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
)

// keymap is the wizard's one keymap, as soft-serve's and crush's
// keymap.go are: the keys every screen shares, then a group per step. A
// binding's help (its key and what it does) is all any screen says of a
// key: steps match keys with key.Matches on these, build their help line
// and full help (help.KeyMap, keyMap below) from them, and name a key in
// their text with keyName or hint, never in a literal.
type keymap struct {
	Global globalKeys
	Form   formKeys
	List   listKeys
	Screen screenKeys

	Profile     profileKeys
	Credentials credentialsKeys
	Authorize   authorizeKeys
	Consent     consentKeys
	Flow        flowKeys
	Mailboxes   mailboxesKeys
	Test        testKeys
	Summary     summaryKeys
	Proxy       proxyKeys
	Upgrade     upgradeKeys
}

// globalKeys are the keys every screen shares. The single keys are the
// wizard's own handling of a key a binding groups with others (ctrl+c
// interrupts a running step before it quits; esc cancels a running step
// before it goes back); in a text field ? is a character, so help is f1
// and quit is ctrl+c there.
type globalKeys struct {
	Next, Back, Help, HelpToggle, HelpToggleF1, Quit, Yes, No key.Binding
	Interrupt, Esc, F1, Question, Q                           key.Binding
}

// formKeys move between a form's fields.
type formKeys struct{ Next, Prev, Up, Down, Complete key.Binding }

// listKeys move the cursor of a list (profiles, mailboxes, the test table,
// the proxy page) or scroll the summary.
type listKeys struct{ Up, Down, PgUp, PgDown, Top, Bottom key.Binding }

// moves are the list's cursor keys for the full help, with the jumps to
// its ends where the list has them.
func (l listKeys) moves(ends bool) []key.Binding {
	ms := []key.Binding{l.Up, l.Down, l.PgUp, l.PgDown}
	if ends {
		ms = append(ms, l.Top, l.Bottom)
	}
	return ms
}

// screenKeys page a screen taller than the terminal (layout.go).
type screenKeys struct{ MoreDown, MoreUp key.Binding }

// Step 1: the profile list.
type profileKeys struct{ Delete, Yes, No key.Binding }

// Step 3: the choice of credential, the key's page about an organization
// policy blocking key creation (a function key, as the step has text
// fields) and the OAuth client form.
type credentialsKeys struct {
	Choose, ChooseNumber, Policy, PolicyBack, BackToChoice key.Binding
}

// Step 4 of a service account. Its links, with the same letters as the
// consent URL's (flowKeys): o opens (where a browser exists, else copies),
// l copies.
type authorizeKeys struct {
	VerifyEnter, Verify, Keep, Skip, SandboxAuth key.Binding
	Copy, CopyID, CopyScopes, CopyLink, OpenLink key.Binding
	Calendar, Contacts                           key.Binding
}

// Step 4 of an OAuth client: the consent-screen checklist.
type consentKeys struct {
	GenerateEnter, Generate, CopyItem, Settings, UserType, Publishing key.Binding
	PasteMode, SkipToken                                              key.Binding
}

// flowKeys are a running consent's (consentflow.go), on step 4 and on a
// mailbox of step 5. In the paste field a letter is typed: ctrl+ copies
// and allows there.
type flowKeys struct {
	OpenURL, CopyURL, SandboxOK, Cancel, Submit, CopyURLPaste, SandboxOKPaste key.Binding
}

// Step 5: the list, and its filter, form, import, delete and consent modes.
type mailboxesKeys struct {
	Filter, Add, Edit, Delete, Import, Select, Consent       key.Binding
	FilterDone, FilterClear, FormSave, KindPrev, KindNext    key.Binding
	ImportFile, ImportTab, DeleteYes, DeleteNo, DeleteNoFull key.Binding
	BackToList, ConsentAgain                                 key.Binding
}

// Step 6: the test. The checks' descriptions are the legend of the
// table's column headers. The details of the row under the cursor scroll
// with keys of their own (shifted j/k and arrows), as the unshifted ones
// and pgup/pgdn move the table's cursor.
type testKeys struct {
	RunChecks, Run, RunAgain, Retry, Scope, Cancel key.Binding
	Checks, Token, IMAP, SMTP, RoundTrip           key.Binding
	Details, DetailsDown, DetailsUp                key.Binding
}

// Step 7: the summary, with the values a host product needs pasted,
// copied whole (OSC 52), and its page for products that only know
// passwords (summary_proxy.go).
type summaryKeys struct {
	Finish, Retest, EditStep, Scroll, Proxy, CopyToken, CopyClientID, CopyCallback key.Binding
}

// proxyKeys are the summary's proxy page: make the selected mailbox's proxy
// password (shown once), and back; replacing a password is asked first.
type proxyKeys struct{ Password, Close, Replace, Keep key.Binding }

// upgradeKeys are the upgrade assistant's first screen (upgrade.go).
type upgradeKeys struct{ Start key.Binding }

// defaultKeymap is the wizard's keymap; newModel puts it in the context
// (common.keys), where every component reads it.
func defaultKeymap() keymap {
	return keymap{
		Global: globalKeys{
			Next: b("enter", "continue", "enter"), Back: b("esc", "back", "esc", "shift+tab"),
			Help: b("?", "help", "?", "f1"), HelpToggle: b("?/f1", "toggle help", "?", "f1"),
			HelpToggleF1: b("f1", "toggle help (? when the field is empty)", "f1"),
			Quit:         b("q", "quit", "q", "ctrl+c"), Yes: b("y", "yes", "y", "Y"), No: b("n", "no", "n", "N", "esc"),
			Interrupt: b("ctrl+c", "quit", "ctrl+c"), Esc: b("esc", "cancel", "esc"),
			F1: b("f1", "help", "f1"), Question: b("?", "help", "?"), Q: b("q", "quit", "q"),
		},
		Form: formKeys{Next: b("tab", "next field", "tab"), Prev: b("shift+tab", "back", "shift+tab"),
			Up: b("↑", "previous field", "up"), Down: b("↓", "next field", "down"),
			Complete: b("tab", "complete / next field", "tab")},
		List: listKeys{Up: b("↑/k", "up", "up", "k"), Down: b("↓/j", "down", "down", "j"),
			PgUp: b("pgup", "page up", "pgup", "ctrl+u"), PgDown: b("pgdn", "page down", "pgdown", "ctrl+d"),
			Top: b("home/g", "first", "home", "g"), Bottom: b("end/G", "last", "end", "G")},
		Screen: screenKeys{MoreDown: b("pgdn", "more below", "pgdown"), MoreUp: b("pgup", "back up", "pgup")},

		Profile: profileKeys{Delete: b("d", "delete profile", "d", "delete"),
			Yes: b("y", "delete", "y", "Y"), No: b("n", "keep", "n", "N", "esc")},
		Credentials: credentialsKeys{Choose: b("↑/↓", "choose", "up", "down"), ChooseNumber: b("1/2", "choose", "1", "2"),
			Policy: b("f2", "key creation blocked?", "f2"), PolicyBack: b("f2/enter", "back to the key", "f2", "enter"),
			BackToChoice: b("esc", "back to the choice of credential", "esc")},
		Authorize: authorizeKeys{
			VerifyEnter: b("enter", "verify", "enter"), Verify: b("v", "verify", "v"), Keep: b("k", "keep checking", "k"),
			Skip: b("n", "continue unverified", "n"), SandboxAuth: b("a", "authorize in sandbox Admin console", "a"),
			Copy: b("c/s", "copy", "c", "s"), CopyID: b("c", "copy client ID", "c"), CopyScopes: b("s", "copy scopes", "s"),
			CopyLink: b("l", "copy delegation link", "l"), OpenLink: b("o", "open delegation link", "o"),
			Calendar: b("1", "± Calendar", "1"), Contacts: b("2", "± Contacts", "2"),
		},
		Consent: consentKeys{
			GenerateEnter: b("enter", "generate token", "enter"), Generate: b("g", "generate token", "g"),
			CopyItem: b("1-6", "copy", "1", "2", "3", "4", "5", "6"), Settings: b("u/p", "settings", "u", "p"),
			UserType: b("u", "user type", "u"), Publishing: b("p", "publishing status", "p"),
			PasteMode: b("m", "paste / listen", "m"), SkipToken: b("n", "continue without a token", "n"),
		},
		Flow: flowKeys{OpenURL: b("o", "open URL", "o"), CopyURL: b("l", "copy URL", "l"),
			SandboxOK: b("a", "allow in sandbox", "a"), Cancel: b("esc", "cancel", "esc"), Submit: b("enter", "submit", "enter"),
			CopyURLPaste: b("ctrl+o", "copy URL", "ctrl+o"), SandboxOKPaste: b("ctrl+a", "allow in sandbox", "ctrl+a")},
		Mailboxes: mailboxesKeys{
			Filter: b("/", "filter", "/"), Add: b("a", "add", "a"), Edit: b("e", "edit", "e"),
			Delete: b("d", "delete", "d", "delete"), Import: b("i", "import CSV", "i"),
			Select: b("space", "select for test", "space"), Consent: b("c", "consent", "c"),
			FilterDone: b("enter", "done", "enter"), FilterClear: b("esc", "clear", "esc"), FormSave: b("enter", "save", "enter"),
			KindPrev: b("←", "previous owner kind", "left", "h"), KindNext: b("→", "next owner kind", "right", "l", "space"),
			ImportFile: b("enter", "import", "enter"), ImportTab: b("tab", "complete", "tab"),
			DeleteYes: b("y", "delete", "y", "Y"), DeleteNo: b("n", "keep", "n", "N", "esc"), DeleteNoFull: b("n/esc", "keep", "n", "N", "esc"),
			BackToList: b("enter", "back to the list", "enter", "esc"), ConsentAgain: b("c", "try again", "c", "g"),
		},
		Test: testKeys{
			RunChecks: b("enter", "run checks", "enter"), Run: b("r", "run", "r"), RunAgain: b("r", "run again", "r"),
			Retry: b("f", "retry failed", "f"), Scope: b("tab", "mailboxes", "tab"), Cancel: b("esc", "cancel", "esc"),
			Checks: b("1-4", "checks", "1", "2", "3", "4"), Token: b("1", "± TOKEN check", "1"), IMAP: b("2", "± IMAP check", "2"),
			SMTP: b("3", "± SMTP check", "3"), RoundTrip: b("4", "± RT (round-trip) check", "4"),
			Details: b("J/K", "details", "J", "K"), DetailsDown: b("J", "scroll details down", "J", "shift+down"),
			DetailsUp: b("K", "scroll details up", "K", "shift+up"),
		},
		Summary: summaryKeys{
			Finish: b("enter", "finish", "enter"), Retest: b("r", "re-test", "r"), EditStep: b("2-5", "edit step", "2", "3", "4", "5"),
			Scroll: b("↑↓", "scroll", "up", "down"), Proxy: b("x", "proxy (password-only products)", "x"),
			CopyToken: b("t", "copy command", "t"), CopyClientID: b("i", "copy client ID", "i"),
			CopyCallback: b("u", "copy callback URL", "u"),
		},
		Proxy: proxyKeys{Password: b("p", "make proxy password", "p"), Close: b("x/esc", "back to summary", "x", "esc"),
			Replace: b("y", "replace the password", "y", "Y"), Keep: b("n", "keep the password", "n", "N", "esc")},
		Upgrade: upgradeKeys{Start: b("enter", "start the upgrade", "enter")},
	}
}

// b builds a binding: the key and description its help shows, and the
// keys it matches.
func b(help, desc string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
}

// keyName is a binding's key as its help shows it ("enter", "c/s"), for
// naming the key in a screen's text.
func keyName(k key.Binding) string { return k.Help().Key }

// keyTitle is keyName starting a sentence: "Enter", "Tab".
func keyTitle(k key.Binding) string {
	n := keyName(k)
	return strings.ToUpper(n[:1]) + n[1:]
}

// stepKey is the summary's key that goes back to step id
// (keys.Summary.EditStep: 2 for the domain to 5 for the mailboxes).
func (c *common) stepKey(id stepID) string { return c.keys.Summary.EditStep.Keys()[id-stepDomain] }

// hint is a binding named with what it does here, as a hint beside a
// value or a running step: hint(keys.Authorize.CopyID, "copy") is "c copy",
// hint(k, "") is the binding's own help: "esc cancel".
func hint(k key.Binding, does string) string {
	if does == "" {
		does = k.Help().Desc
	}
	return keyName(k) + " " + does
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

// helpWidth is the width the short help must fit in: the narrowest
// terminal the wizard supports.
const helpWidth = 80

// keyMap builds the help for a screen. The short help line holds next,
// the screen's most important bindings (short), back, help and quit, and
// must fit in 80 columns; full help (? or F1) lists short and more too.
// In a text field ? is a character, so help is F1 and quit is ctrl+c.
func (c *common) keyMap(short, more []key.Binding, withNext, withBack, textField bool) stepKeys {
	g := c.keys.Global
	quit, hlp := g.Quit, g.Help
	if textField {
		quit, hlp = g.Interrupt, g.F1
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
		nav = append(nav, c.keys.Form.Next)
	}
	helpFull := g.HelpToggle
	if textField {
		helpFull = g.HelpToggleF1
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
