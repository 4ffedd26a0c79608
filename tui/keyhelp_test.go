package tui

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/consent"
)

// keymapBindings is every binding of the keymap (defaultKeymap), found by
// walking its groups, by the path that names it: "Mailboxes.Filter".
func keymapBindings() map[string]key.Binding {
	out := map[string]key.Binding{}
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		if b, ok := v.Interface().(key.Binding); ok {
			out[path] = b
			return
		}
		for i := range v.NumField() {
			walk(v.Field(i), strings.TrimPrefix(path+"."+v.Type().Field(i).Name, "."))
		}
	}
	walk(reflect.ValueOf(defaultKeymap()), "")
	return out
}

// keymapName is the keymap's name of a binding with b's keys and help, ""
// when the keymap has none.
func keymapName(b key.Binding, all map[string]key.Binding) string {
	for name, k := range all {
		if slices.Equal(k.Keys(), b.Keys()) && k.Help() == b.Help() {
			return name
		}
	}
	return ""
}

// shownKey is how a binding's help writes a key.
var shownKey = map[string]string{"up": "↑", "down": "↓", "left": "←", "right": "→", "pgdown": "pgdn"}

// helpKeys splits a binding's help key into the keys it names: "c/s",
// "1-6", "↑↓", "?/f1".
func helpKeys(h string) []string {
	switch {
	case h == "/":
		return []string{h}
	case strings.Contains(h, "/"):
		return strings.Split(h, "/")
	case len(h) == 3 && h[1] == '-':
		var out []string
		for c := h[0]; c <= h[2]; c++ {
			out = append(out, string(c))
		}
		return out
	case strings.Trim(h, "←→↑↓") == "" && len([]rune(h)) > 1:
		return strings.Split(h, "")
	}
	return []string{h}
}

// TestKeymapHelpNamesItsKeys: each binding of the keymap says in its help
// only keys it binds, so a key the help (or a screen's hint) names is one
// that works.
func TestKeymapHelpNamesItsKeys(t *testing.T) {
	all := keymapBindings()
	if len(all) < 80 {
		t.Fatalf("the keymap walk found %d bindings; the keymap has more", len(all))
	}
	for name, b := range all {
		if b.Help().Key == "" || b.Help().Desc == "" {
			t.Errorf("%s has no help", name)
		}
		for _, k := range helpKeys(b.Help().Key) {
			bound := false
			for _, bk := range b.Keys() {
				bound = bound || k == bk || k == shownKey[bk]
			}
			if !bound {
				t.Errorf("%s: its help names %q, which it does not bind (keys %q)", name, k, b.Keys())
			}
		}
	}
}

// requireHelpFromKeymap fails when the help of the screen d shows (the
// short line, or the full help with ?) holds anything but the current
// step's help.KeyMap, or a binding the keymap does not declare.
func requireHelpFromKeymap(t *testing.T, d *driver, what string) {
	t.Helper()
	w := d.m.w
	var keys help.KeyMap = w.step()
	if w.upgradeIntro {
		keys = w.upgradeIntroKeys()
	}
	short, full := keys.ShortHelp(), keys.FullHelp()
	if w.confirmQuit {
		short, full = []key.Binding{w.keys.Global.Yes, w.keys.Global.No}, nil
	}
	all := keymapBindings()
	for _, b := range slices.Concat(append(full, short)...) {
		if keymapName(b, all) == "" {
			t.Errorf("%s: the help shows %q (%q), which is no binding of the keymap", what, b.Help().Key, b.Help().Desc)
		}
	}
	if len(short) == 0 {
		t.Errorf("%s: no help line", what)
	}
	screen := strings.TrimRight(d.screen(), " \n")
	if !w.help.ShowAll || w.confirmQuit {
		// the last line is the short help, item by item
		line := screen[strings.LastIndex(screen, "\n")+1:]
		var want []string
		for _, b := range short {
			want = append(want, b.Help().Key+" "+b.Help().Desc)
		}
		if got := strings.Split(strings.TrimSpace(line), " • "); !slices.Equal(got, want) {
			t.Errorf("%s: the help line shows\n%q\nnot the step's bindings\n%q", what, got, want)
		}
		return
	}
	// full help: the screen ends with it, and it is the groups' "key desc"
	// rows and nothing else
	shown := strings.TrimRight(ansi.Strip(w.helpView(keys)), " \n")
	if !strings.HasSuffix(screen, shown) {
		t.Errorf("%s: the screen does not end with the full help:\n%s", what, screen)
	}
	for _, group := range full {
		kw := 0
		for _, b := range group {
			kw = max(kw, ansi.StringWidth(b.Help().Key))
		}
		for _, b := range group {
			row := padRight(b.Help().Key, kw) + " " + b.Help().Desc
			if !strings.Contains(shown, row) {
				t.Errorf("%s: the full help does not show %q:\n%s", what, row, shown)
			}
			shown = strings.Replace(shown, row, "", 1)
		}
	}
	if rest := strings.TrimSpace(shown); rest != "" {
		t.Errorf("%s: the full help shows more than the step's bindings: %q", what, rest)
	}
}

// requireHelp is requireHelpFromKeymap on the screen's short help line,
// then on its full help (f1).
func requireHelp(t *testing.T, d *driver, what string) {
	t.Helper()
	requireHelpFromKeymap(t, d, what)
	d.press(keyCode(tea.KeyF1))
	requireHelpFromKeymap(t, d, what+", full help")
	d.press(keyCode(tea.KeyF1))
}

// TestHelpComesFromTheKeymap walks every step and mode with a help of its
// own and checks the help line, and the full help, against the step's
// bindings and those against the keymap.
func TestHelpComesFromTheKeymap(t *testing.T) {
	be := newFakeBackend()
	_ = be.SaveProfile(acmeProfile(t, 7))
	_ = be.PutMailboxes("acme.example", manyMailboxes(12))
	d := newDriver(t, fakeDeps(be, &fakeEngine{authorized: true}, "acme.example"), 80, 24)
	for id := stepProfile; id < numSteps; id++ {
		d.run(d.m.w.goTo(id))
		requireHelp(t, d, stepNames[id])
	}

	d.run(d.m.w.goTo(stepProfile))
	d.press(runeKey('d'))
	d.mustShow("Delete profile acme.example")
	requireHelp(t, d, "profile delete")
	d.press(runeKey('n'))

	askToQuitUnsaved(d)
	requireHelp(t, d, "quit with unsaved changes")
	d.press(runeKey('n'))

	d.run(d.m.w.goTo(stepCredentials))
	d.press(keyCode(tea.KeyF2))
	d.mustShow("Key creation blocked by an organization policy")
	requireHelp(t, d, "key policy page")
	d.press(keyCode(tea.KeyF2), keyCode(tea.KeyEscape))
	d.mustShow("How will the product sign in")
	requireHelp(t, d, "credential choice")

	d.run(d.m.w.goTo(stepAuthorize))
	d.m.w.sandbox = &sandboxHooks{}
	d.mustShow("a authorize in sandbox Admin console")
	requireHelp(t, d, "authorize in the sandbox")
	d.m.w.sandbox = nil
	d.press(enter())
	d.mustShow("Verified")
	requireHelp(t, d, "authorize verified")

	d.run(d.m.w.goTo(stepMailboxes))
	for _, mode := range []struct {
		what, shows string
		key         tea.KeyPressMsg
	}{{"filter", "Filter", runeKey('/')}, {"add", "Add a mailbox", runeKey('a')},
		{"import", "Import a CSV file", runeKey('i')}, {"delete", "Delete user00@acme.example?", runeKey('d')}} {
		d.press(mode.key)
		d.mustShow(mode.shows)
		requireHelp(t, d, "mailboxes "+mode.what)
		d.press(keyCode(tea.KeyEscape))
	}

	d.run(d.m.w.goTo(stepTest))
	d.press(enter())
	d.mustShow("passed")
	requireHelp(t, d, "test after a run")
	ts := d.m.w.steps[stepTest].(*testStep)
	ts.running = true
	d.mustShow("esc cancel")
	requireHelp(t, d, "test running")
	ts.running = false
	ts.rows[0].result.Finding = &core.Finding{Code: "imap_disabled", Summary: "IMAP is disabled.",
		Fix: strings.Repeat("A long fix sentence that goes on. ", 30)}
	d.m.w.fit()
	d.mustShow("J/K details")
	requireHelp(t, d, "test with a finding that scrolls")
	ts.running = true
	d.mustShow("J/K details")
	requireHelp(t, d, "test running, a finding that scrolls")
	ts.running = false

	d.run(d.m.w.goTo(stepSummary))
	d.press(runeKey('x'))
	d.mustShow("Proxy passwords")
	requireHelp(t, d, "summary proxy page")
	d.press(runeKey('x'))

	up := fakeDeps(be, &fakeEngine{}, "acme.example")
	up.upgrade = true
	d = newDriver(t, up, 80, 24)
	d.mustShow("Upgrade from passwords to OAuth")
	requireHelp(t, d, "upgrade intro")
}

// TestConsentHelpComesFromTheKeymap does the same for an OAuth client's
// steps and a consent in each of its phases.
func TestConsentHelpComesFromTheKeymap(t *testing.T) {
	d := newDriver(t, fakeDeps(withProfile(oauthProfile(t, 7)), &fakeEngine{authorized: true}, "acme.example"), 80, 24)
	d.run(d.m.w.goTo(stepCredentials))
	requireHelp(t, d, "OAuth client form")
	d.run(d.m.w.goTo(stepMailboxes))
	requireHelp(t, d, "mailboxes with consents")

	d.run(d.m.w.goTo(stepAuthorize))
	d.mustShow("Consent screen, then a first token")
	requireHelp(t, d, "consent checklist")
	flow := d.m.w.consent.flow
	pending := &consent.Pending{Consent: &core.Consent{Mailbox: "administrator@acme.example",
		RedirectURI: "http://127.0.0.1:8085/callback", URL: "https://accounts.google.com/o/oauth2/auth?x=1"}}
	for _, sb := range []*sandboxHooks{nil, {}} {
		d.m.w.sandbox = sb
		for _, paste := range []bool{false, true} {
			flow.phase, flow.pending, flow.paste, flow.mailbox = cfWaiting, pending, paste, pending.Mailbox
			d.mustShow("Open this URL in a browser")
			requireHelp(t, d, "consent waiting, paste "+strconv.FormatBool(paste)+", sandbox "+strconv.FormatBool(sb != nil))
		}
	}
	d.m.w.sandbox = nil
	flow.phase, flow.pending = cfIdle, nil

	d.run(d.m.w.goTo(stepMailboxes))
	m := d.m.w.steps[stepMailboxes].(*mailboxesStep)
	m.flow, m.mode = newConsentFlow(), mbConsent
	m.flow.phase, m.flow.err, m.flow.mailbox = cfDone, core.Inputf("no"), "user00@acme.example"
	d.mustShow("Enter returns to the list")
	requireHelp(t, d, "mailbox consent over")
}

// keyWords are key names a screen's text could write by hand: named keys,
// arrows, "c copy", "(o)", "m: paste", "press r".
var keyWords = regexp.MustCompile(`(?i)\b(enter|esc|tab|ctrl\+\S+|shift\+\S+|alt\+\S+|f[1-9][0-9]?|pgup|pgdn|pgdown|space|home)\b` +
	`|[←→↑↓]` +
	`|(^|[\s(·,;])[a-z0-9](/[a-z0-9])? (copy|copies|open|opens|stop|keeps|deletes|adds|imports|tries|re-tests|runs|makes|verifies|continues|authorizes|quits?|stay|to)\b` +
	`|(^|\s)\([a-z0-9]\)|, [a-z0-9]\)|(^|[\s(])[a-z0-9]: |(?i:press) [a-z0-9]\b`)

// keyWordsAllowed are literals that match keyWords without naming a key.
var keyWordsAllowed = map[string]bool{
	"enter the path of the service-account key file, or paste the JSON key":                     true,
	"enter the path of the OAuth client JSON (or paste it), or the client ID and client secret": true,
	"↑ more (":                     true, // the marker of a screen taller than the terminal
	"↓ more (%s): %d more line(s)": true,
}

// TestScreensNameKeysFromTheKeymap: no screen writes a key by hand. Every
// string literal of the wizard outside the keymap (keys.go) is checked
// for key names; a key a screen names comes from its binding (keyName,
// keyTitle, hint). Nor is a key told by comparing its String() or Text
// with a literal: that is key.Matches on a binding.
func TestScreensNameKeysFromTheKeymap(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	isKeyText := func(e ast.Expr) bool {
		switch e := e.(type) {
		case *ast.CallExpr:
			sel, ok := e.Fun.(*ast.SelectorExpr)
			return ok && sel.Sel.Name == "String" && len(e.Args) == 0
		case *ast.SelectorExpr:
			return e.Sel.Name == "Text"
		}
		return false
	}
	isString := func(e ast.Expr) bool {
		l, ok := e.(*ast.BasicLit)
		return ok && l.Kind == token.STRING
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "keys.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					break
				}
				s, err := strconv.Unquote(n.Value)
				if err != nil || keyWordsAllowed[s] {
					break
				}
				if m := keyWords.FindString(s); m != "" {
					t.Errorf("%s: %q names a key (%q) by hand; name it from its binding (keyName, keyTitle, hint)", fset.Position(n.Pos()), s, strings.TrimSpace(m))
				}
			case *ast.BinaryExpr:
				if (isKeyText(n.X) && isString(n.Y)) || (isString(n.X) && isKeyText(n.Y)) {
					t.Errorf("%s: a key compared as text; match its binding with key.Matches", fset.Position(n.Pos()))
				}
			case *ast.SwitchStmt:
				if n.Tag != nil && isKeyText(n.Tag) {
					t.Errorf("%s: a switch on a key's text; match bindings with key.Matches", fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
}

// coreKeyWords are the ways a text of core could name a key: "press c",
// "hit enter", "ctrl+o".
var coreKeyWords = regexp.MustCompile(`(?i)\b(press(es|ing)?|hit|tap)\s+(the\s+)?\S+|\b(ctrl|alt|shift)\+\S+`)

// TestCoreTextsNameNoKey: the findings core returns (and every other text
// of it) are shown by the wizard and printed by the command line, where a
// key means nothing; a key the wizard adds to one comes from the keymap
// (findingView). Every string literal of core's non-test code, its
// subpackages included, is checked for a key named by hand.
func TestCoreTextsNameNoKey(t *testing.T) {
	fset := token.NewFileSet()
	files, literals := 0, 0
	err := filepath.WalkDir(filepath.Join("..", "core"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			l, ok := n.(*ast.BasicLit)
			if !ok || l.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(l.Value)
			if err != nil {
				return true
			}
			literals++
			if m := coreKeyWords.FindString(s); m != "" {
				t.Errorf("%s: %q names a key (%q); core's texts name none: say what to do, and let the wizard add its key from the keymap", fset.Position(l.Pos()), s, m)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 || literals < 1000 {
		t.Fatalf("only %d files and %d string literals of core were checked", files, literals)
	}
}
