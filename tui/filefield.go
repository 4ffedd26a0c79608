package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// fileField is the wizard's one field for a file the user names: a
// service-account key, an OAuth client JSON, a CSV list. Tab completes the
// path from its directory, a pasted JSON is taken as the file's content,
// and read loads the named file through core.ReadUserFile (its kind's size
// cap, bounded in time).
type fileField struct {
	textinput.Model
	kind core.UserFile
	// loadedFrom is the value the field had when it was last read ("" after
	// a paste)
	loadedFrom string
}

func newFileField(placeholder string, kind core.UserFile) fileField {
	f := fileField{Model: newInput(placeholder), kind: kind}
	f.ShowSuggestions = true
	return f
}

// path is the file the field names: trimmed, ~/ in the home directory.
func (f *fileField) path() string {
	p := strings.TrimSpace(f.Value())
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[2:])
		}
	}
	return p
}

// read reads the named file as the field's kind and remembers the value
// it read.
func (f *fileField) read() ([]byte, error) {
	f.loadedFrom = f.Value()
	ctx, cancel := fileContext()
	defer cancel()
	return core.ReadUserFile(ctx, f.path(), f.kind)
}

// pastedJSON takes a paste that is JSON as the file's content: ok reports
// a JSON paste; err refuses one over the kind's cap. The field is emptied,
// its value being no path.
func (f *fileField) pastedJSON(msg tea.PasteMsg) (data []byte, source string, ok bool, err error) {
	if !strings.HasPrefix(strings.TrimSpace(msg.Content), "{") {
		return nil, "", false, nil
	}
	if err := f.kind.CheckSize("the pasted JSON", int64(len(msg.Content))); err != nil {
		return nil, "", true, err
	}
	f.SetValue("")
	f.loadedFrom = ""
	return []byte(msg.Content), fmt.Sprintf("pasted JSON (%d bytes)", len(msg.Content)), true, nil
}

// suggest offers the directory entries that complete the path (none for
// pasted JSON); call it when the value changed.
func (f *fileField) suggest() {
	v := f.Value()
	if v == "" || strings.HasPrefix(strings.TrimSpace(v), "{") {
		f.SetSuggestions(nil)
		return
	}
	f.SetSuggestions(pathSuggestions(v))
}

// update passes msg to the field; changed reports a new value, whose
// completions it then offers.
func (f *fileField) update(msg tea.Msg) (cmd tea.Cmd, changed bool) {
	before := f.Value()
	f.Model, cmd = f.Model.Update(msg)
	if f.Value() == before {
		return cmd, false
	}
	f.suggest()
	return cmd, true
}

// fileNav moves *focus among a file form's n fields for tab, ↑ and ↓ (of
// keys, the context's keys.Form); tab stays with the file field f while it
// completes a path, ↑/↓ while it lists completions. It reports whether the
// focus moved.
func fileNav[F ~int](keys formKeys, f *fileField, k tea.KeyPressMsg, focus *F, n F) bool {
	var file F // the file field: the first
	listing := len(f.MatchedSuggestions()) > 0
	switch {
	case key.Matches(k, keys.Next):
		if sug := f.CurrentSuggestion(); *focus == file && sug != "" && sug != f.Value() {
			return false // let the field complete
		}
		*focus = wrapAround(*focus, 1, n)
	case key.Matches(k, keys.Up) && *focus > file && !listing:
		*focus--
	case key.Matches(k, keys.Down) && *focus < n-1 && !listing:
		*focus++
	default:
		return false
	}
	return true
}

// fileForm is a form whose first field is a fileField: the credentials
// step's service-account key (keyField) and its OAuth client form
// (oauthField). F names its fields; its zero value is the file field.
type fileForm[F ~int] interface {
	// inputs are the form's fields by name, the file field's first
	inputs() []*textinput.Model
	focusField() tea.Cmd
	save() tea.Cmd
	// pasted takes a JSON pasted into the file field as the file's
	// content, or the error that refused it
	pasted(data []byte, source string, err error)
	// edited is told that the value of a field changed
	edited(field F)
}

// updateFileForm is the Update the file forms share: a JSON paste into
// the file field, enter saves, tab and ↑/↓ move between the fields (tab
// completes a path first), and the rest goes to the focused field. It
// leaves shift+tab and ctrl+c to the wizard (back, quit).
func updateFileForm[F ~int](keys keymap, form fileForm[F], path *fileField, focus *F, msg tea.Msg) (tea.Cmd, bool) {
	var file F // the file field: the first
	ins := form.inputs()
	switch msg := msg.(type) {
	case tea.PasteMsg:
		if *focus != file {
			break
		}
		if data, source, ok, err := path.pastedJSON(msg); ok || err != nil {
			form.pasted(data, source, err)
			return nil, true
		}
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, keys.Global.Next):
			return form.save(), true
		case fileNav(keys.Form, path, msg, focus, F(len(ins))):
			return form.focusField(), true
		case key.Matches(msg, keys.Form.Prev, keys.Global.Interrupt):
			return nil, false
		}
	default:
		return nil, false
	}
	if *focus == file {
		cmd, changed := path.update(msg)
		if changed {
			form.edited(file)
		}
		return cmd, true
	}
	i := min(*focus, F(len(ins)-1))
	before := ins[i].Value()
	var cmd tea.Cmd
	*ins[i], cmd = ins[i].Update(msg)
	if ins[i].Value() != before {
		form.edited(i)
	}
	return cmd, true
}

// pathSuggestions lists the directory entries that complete a path, in
// order (tab completion of every file field: key, client JSON, CSV).
func pathSuggestions(v string) []string {
	if v == "" {
		return nil
	}
	dir, base := filepath.Split(v)
	lookup := dir
	if lookup == "" {
		lookup = "."
	}
	entries, err := os.ReadDir(lookup)
	if err != nil {
		return nil
	}
	var sug []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), base) || (strings.HasPrefix(e.Name(), ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		s := dir + e.Name()
		if e.IsDir() {
			s += string(filepath.Separator)
		}
		sug = append(sug, s)
		if len(sug) >= 200 {
			break
		}
	}
	sort.Strings(sug)
	return sug
}
