package tui

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailoauth/mailoauth/core"
)

type mbMode int

const (
	mbList mbMode = iota
	mbFilter
	mbForm
	mbImport
	mbConfirmDelete
	mbConsent
)

// mailboxesStep assigns mailboxes: a filterable list with add, edit,
// delete, selection and CSV import.
type mailboxesStep struct {
	mode   mbMode
	filter textinput.Model
	scrollList
	err error

	// form
	form      [3]textinput.Model // email, display name, owner name
	formKind  int
	formFocus int
	editing   string // email being edited, "" when adding
	deleting  string // email waiting for the y/n of a delete

	importPath textinput.Model
	importErr  error
	loadErr    error
	list       *mailboxList

	// the OAuth client path: each mailbox's consent, and the consent of
	// the selected one (c)
	oauth    bool
	consents map[string]core.ConsentState
	flow     *consentFlow
}

var (
	keyFilter  = b([]string{"/"}, "/", "filter")
	keyAdd     = b([]string{"a"}, "a", "add")
	keyEdit    = b([]string{"e"}, "e", "edit")
	keyDelete  = b([]string{"d", "delete"}, "d", "delete")
	keyImport  = b([]string{"i"}, "i", "import CSV")
	keySelect  = b([]string{"space"}, "space", "select for test")
	keyPgDown  = b([]string{"pgdown", "ctrl+d"}, "pgdn", "page down")
	keyPgUp    = b([]string{"pgup", "ctrl+u"}, "pgup", "page up")
	keyConsent = b([]string{"c"}, "c", "consent")
)

func newMailboxesStep() *mailboxesStep {
	m := &mailboxesStep{filter: newInput("type to filter"), importPath: newInput("/path/to/mailboxes.csv")}
	m.form = [3]textinput.Model{newInput("name@yourcompany.example"), newInput("(defaults to the address)"), newInput("e.g. Sales queue")}
	m.importPath.ShowSuggestions = true
	m.pageSize = 10
	return m
}

func (m *mailboxesStep) enter(w *wizard) tea.Cmd {
	m.mode, m.err = mbList, nil
	m.form[0].Placeholder = "name@" + orDefault(w.profile.Domain, "yourcompany.example")
	m.oauth = w.isOAuthClient()
	m.loadConsents(w)
	defer func() { m.list = w.boxes }()
	if w.boxes != nil {
		return nil
	}
	ms, err := w.backend.Mailboxes(w.profile.Domain)
	m.loadErr = err
	w.boxes = newMailboxList(ms)
	if len(ms) == 0 {
		var seed []core.Mailbox
		if w.sandbox != nil {
			for _, u := range w.sandbox.Users {
				mb := core.Mailbox{Email: u, OwnerKind: core.OwnerUser, OwnerName: strings.SplitN(u, "@", 2)[0]}
				if w.profile.MailboxRule().Mailbox(&mb) == nil {
					seed = append(seed, mb)
				}
			}
		} else if w.profile.DefaultSender != "" {
			mb := core.Mailbox{Email: w.profile.DefaultSender, OwnerKind: core.OwnerUser}
			if w.profile.MailboxRule().Mailbox(&mb) == nil {
				seed = append(seed, mb)
			}
		}
		if len(seed) > 0 {
			w.boxes.putAll(seed)
		}
	}
	m.list = w.boxes
	if m.oauth && m.cursor == 0 && len(w.boxes.filtered) > 0 && !m.consents[w.boxes.items[w.boxes.filtered[0]].Email].Consented {
		return nil
	}
	if m.oauth && m.cursor == 0 {
		// start on the first mailbox still lacking consent
		m.cursor = -1
		m.nextLacking(w)
		m.cursor = max(m.cursor, 0)
	}
	return nil
}

// loadConsents reads every mailbox's consent state (one read, however many
// mailboxes).
func (m *mailboxesStep) loadConsents(w *wizard) {
	m.consents = nil
	if !m.oauth || w.cred == nil {
		return
	}
	cs, err := w.backend.ConsentStates(w.profile.Domain, w.cred.ClientID)
	if err != nil {
		m.loadErr = err
		return
	}
	m.consents = cs
}

// updateConsent runs the consent of one mailbox; when it is over, Enter or
// esc returns to the list, on the next mailbox still lacking consent.
func (m *mailboxesStep) updateConsent(w *wizard, msg tea.Msg) (tea.Cmd, bool) {
	if cmd, handled := m.flow.update(w, flowMailbox, msg); handled || cmd != nil {
		return cmd, handled
	}
	if _, ok := msg.(consentDoneMsg); ok {
		m.loadConsents(w)
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, false
	}
	if m.flow.running() {
		return nil, k.String() != "ctrl+c"
	}
	if m.flow.active() {
		return nil, false
	}
	switch k.String() {
	case "enter", "esc":
		ok := m.flow.err == nil && m.flow.grant != nil
		m.flow.abort()
		m.mode = mbList
		if ok {
			m.nextLacking(w)
		}
		return nil, true
	case "c", "g":
		return m.flow.start(w, flowMailbox, m.flow.mailbox, pasteByDefault(w)), true
	}
	return nil, false
}

// nextLacking moves the cursor to the next mailbox without consent.
func (m *mailboxesStep) nextLacking(w *wizard) {
	l := w.boxes
	for i := m.cursor + 1; i < len(l.filtered); i++ {
		if !m.consents[l.items[l.filtered[i]].Email].Consented {
			m.cursor = i
			m.clamp(w)
			return
		}
	}
}

func (m *mailboxesStep) current(w *wizard) (core.Mailbox, bool) {
	l := w.boxes
	if l == nil || m.cursor < 0 || m.cursor >= len(l.filtered) {
		return core.Mailbox{}, false
	}
	return l.items[l.filtered[m.cursor]], true
}

func (m *mailboxesStep) update(w *wizard, msg tea.Msg) (tea.Cmd, bool) {
	switch m.mode {
	case mbFilter:
		return m.updateFilter(w, msg)
	case mbForm:
		return m.updateForm(w, msg)
	case mbImport:
		return m.updateImport(w, msg)
	case mbConfirmDelete:
		return m.updateConfirmDelete(w, msg)
	case mbConsent:
		return m.updateConsent(w, msg)
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, false
	}
	l := w.boxes
	n := len(l.filtered)
	switch {
	case key.Matches(k, w.gkeys.Next):
		return m.save(w), true
	case m.moveKey(k):
	case k.String() == "home", k.String() == "g":
		m.cursor = 0
	case k.String() == "end", k.String() == "G":
		m.cursor = n - 1
	case key.Matches(k, keyFilter):
		m.mode = mbFilter
		return m.filter.Focus(), true
	case key.Matches(k, keySelect):
		if mb, ok := m.current(w); ok {
			if w.selected[mb.Email] {
				delete(w.selected, mb.Email)
			} else {
				w.selected[mb.Email] = true
			}
			m.cursor++
		}
	case key.Matches(k, keyAdd):
		return m.openForm(core.Mailbox{OwnerKind: core.OwnerUser}, ""), true
	case key.Matches(k, keyEdit):
		if mb, ok := m.current(w); ok {
			return m.openForm(mb, mb.Email), true
		}
	case key.Matches(k, keyDelete):
		if mb, ok := m.current(w); ok {
			m.mode, m.deleting = mbConfirmDelete, mb.Email
			return nil, true
		}
	case key.Matches(k, keyImport):
		m.mode, m.importErr = mbImport, nil
		return m.importPath.Focus(), true
	case key.Matches(k, keyConsent) && m.oauth:
		if mb, ok := m.current(w); ok {
			if m.flow == nil {
				m.flow = newConsentFlow()
			}
			m.mode = mbConsent
			return m.flow.start(w, flowMailbox, mb.Email, pasteByDefault(w)), true
		}
	case k.String() == "esc" && l.query != "":
		m.filter.SetValue("")
		l.setQuery("")
	default:
		return nil, false
	}
	m.clamp(w)
	return nil, true
}

// updateConfirmDelete asks y/n before deleting the mailbox under the cursor.
func (m *mailboxesStep) updateConfirmDelete(w *wizard, msg tea.Msg) (tea.Cmd, bool) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, false
	}
	switch k.String() {
	case "y", "Y":
		w.boxes.remove(m.deleting)
		delete(w.selected, m.deleting)
		w.setStatus("Deleted " + m.deleting + " (saved when you leave this step).")
		m.mode, m.deleting = mbList, ""
		m.clamp(w)
	case "n", "N", "esc":
		m.mode, m.deleting = mbList, ""
		w.setStatus("")
	case "ctrl+c":
		return nil, false
	}
	return nil, true
}

func (m *mailboxesStep) clamp(w *wizard) { m.clampTo(len(w.boxes.filtered)) }

// setSize fits the fields to the width and the list to the rows the view
// leaves it.
func (m *mailboxesStep) setSize(w *wizard, width, height int) {
	sizeFields(width, &m.filter, &m.importPath, &m.form[0], &m.form[1], &m.form[2])
	if m.flow != nil {
		sizeFields(width, &m.flow.input)
	}
	if m.listShown() && w.boxes != nil {
		m.scrollList = m.fitted(len(w.boxes.filtered), height-lineCount(m.listHead(w, width))-1)
	}
}

// listShown reports whether the view shows the list (not a form, import
// or consent).
func (m *mailboxesStep) listShown() bool {
	return m.mode == mbList || m.mode == mbFilter || m.mode == mbConfirmDelete
}

func (m *mailboxesStep) updateFilter(w *wizard, msg tea.Msg) (tea.Cmd, bool) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "enter", "down", "tab":
			m.mode = mbList
			m.filter.Blur()
			return nil, true
		case "esc":
			m.mode = mbList
			m.filter.Blur()
			m.filter.SetValue("")
			w.boxes.setQuery("")
			m.clamp(w)
			return nil, true
		case "ctrl+c":
			return nil, false
		}
	}
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	w.boxes.setQuery(m.filter.Value())
	m.cursor, m.offset = 0, 0
	m.clamp(w)
	return cmd, true
}

func (m *mailboxesStep) openForm(mb core.Mailbox, editing string) tea.Cmd {
	m.mode, m.editing, m.err = mbForm, editing, nil
	m.form[0].SetValue(mb.Email)
	m.form[1].SetValue(core.SafeText(mb.DisplayName)) // stored before names were checked
	if mb.DisplayName == mb.Email {
		m.form[1].SetValue("")
	}
	m.form[2].SetValue(core.SafeText(mb.OwnerName))
	m.formKind = 0
	for i, k := range core.OwnerKinds {
		if k == mb.OwnerKind {
			m.formKind = i
		}
	}
	m.formFocus = 0
	return m.focusForm()
}

func (m *mailboxesStep) focusForm() tea.Cmd {
	var cmd tea.Cmd
	for i := range m.form {
		if i == m.formFocus {
			cmd = m.form[i].Focus()
		} else {
			m.form[i].Blur()
		}
	}
	return cmd
}

// form fields: 0 email, 1 display name, 2 owner kind, 3 owner name
func (m *mailboxesStep) updateForm(w *wizard, msg tea.Msg) (tea.Cmd, bool) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "esc":
			m.mode, m.err = mbList, nil
			return nil, true
		case "tab", "down":
			m.formFocus = (m.formFocus + 1) % 4
			return m.focusFormIdx(), true
		case "shift+tab", "up":
			m.formFocus = (m.formFocus + 3) % 4
			return m.focusFormIdx(), true
		case "enter":
			mb := core.Mailbox{Email: m.form[0].Value(), DisplayName: m.form[1].Value(),
				OwnerKind: core.OwnerKinds[m.formKind], OwnerName: m.form[2].Value()}
			if err := w.profile.MailboxRule().Mailbox(&mb); err != nil {
				m.err = err
				return nil, true
			}
			if _, exists := w.boxes.pos[mb.Email]; exists && mb.Email != m.editing {
				m.err = core.Inputf("%s is already assigned; edit that entry instead", mb.Email)
				return nil, true
			}
			m.saveForm(w, mb)
			if m.editing != "" && m.editing != mb.Email && w.selected[m.editing] {
				delete(w.selected, m.editing)
				w.selected[mb.Email] = true
			}
			m.mode, m.err = mbList, nil
			for i, idx := range w.boxes.filtered {
				if w.boxes.items[idx].Email == mb.Email {
					m.cursor = i
				}
			}
			m.clamp(w)
			return nil, true
		case "ctrl+c":
			return nil, false
		}
		if m.formFocus == 2 {
			switch k.String() {
			case "left", "h":
				m.formKind = (m.formKind + len(core.OwnerKinds) - 1) % len(core.OwnerKinds)
			case "right", "l", "space":
				m.formKind = (m.formKind + 1) % len(core.OwnerKinds)
			}
			return nil, true
		}
	}
	idx := m.formFocus
	if idx == 3 {
		idx = 2
	}
	if m.formFocus == 2 {
		return nil, false
	}
	var cmd tea.Cmd
	m.form[idx], cmd = m.form[idx].Update(msg)
	return cmd, true
}

func (m *mailboxesStep) focusFormIdx() tea.Cmd {
	for i := range m.form {
		m.form[i].Blur()
	}
	switch m.formFocus {
	case 0, 1:
		return m.form[m.formFocus].Focus()
	case 3:
		return m.form[2].Focus()
	}
	return nil
}

func (m *mailboxesStep) updateImport(w *wizard, msg tea.Msg) (tea.Cmd, bool) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "esc":
			m.mode, m.importErr = mbList, nil
			m.importPath.Blur()
			return nil, true
		case "enter":
			m.doImport(w)
			return nil, true
		case "ctrl+c":
			return nil, false
		}
	}
	var cmd tea.Cmd
	before := m.importPath.Value()
	m.importPath, cmd = m.importPath.Update(msg)
	if m.importPath.Value() != before {
		m.importPath.SetSuggestions(pathSuggestions(m.importPath.Value()))
	}
	return cmd, true
}

func (m *mailboxesStep) doImport(w *wizard) {
	p := strings.TrimSpace(m.importPath.Value())
	ctx, cancel := fileContext()
	defer cancel()
	data, err := core.ReadUserFile(ctx, p, core.CSVFile)
	if err != nil {
		m.importErr = err
		return
	}
	ms, err := w.profile.MailboxRule().ParseCSV(bytes.NewReader(data), filepath.Base(p))
	if err != nil {
		m.importErr = err
		return
	}
	w.boxes.putAll(ms)
	m.mode, m.importErr = mbList, nil
	m.importPath.Blur()
	m.clamp(w)
	w.setStatus(fmt.Sprintf("Imported %d mailboxes from %s (saved when you leave this step).", len(ms), filepath.Base(p)))
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

// save stores the changed and deleted assignments and moves on.
func (m *mailboxesStep) save(w *wizard) tea.Cmd {
	l := w.boxes
	if len(l.items) == 0 {
		m.err = core.Inputf("no mailbox is assigned yet; press a to add one or i to import a CSV file")
		return nil
	}
	if err := m.persist(w); err != nil {
		return nil
	}
	return w.advance(stepMailboxes)
}

func (m *mailboxesStep) persist(w *wizard) error {
	l := w.boxes
	if !l.dirty() {
		return nil
	}
	var put []core.Mailbox
	for e := range l.changed {
		if i, ok := l.pos[e]; ok {
			put = append(put, l.items[i])
		}
	}
	if len(put) > 0 {
		if err := w.backend.PutMailboxes(w.profile.Domain, put); err != nil {
			w.setErr("Could not save the mailboxes: " + err.Error())
			return err
		}
	}
	for e := range l.deleted {
		if err := w.backend.DeleteMailbox(w.profile.Domain, e); err != nil {
			w.setErr("Could not delete " + e + ": " + err.Error())
			return err
		}
	}
	l.changed, l.deleted = map[string]bool{}, map[string]bool{}
	return nil
}

func (m *mailboxesStep) view(w *wizard, width, height int) string {
	if w.boxes == nil {
		return ""
	}
	out := m.counts(w, width)
	s := w.styles
	switch m.mode {
	case mbConsent:
		out += "\n" + s.Heading.Render("Consent of "+m.flow.mailbox) + "\n"
		out += m.flow.view(w, width)
		if m.flow.phase == cfDone {
			out += "\n\n" + s.Muted.Render(wrap("Enter returns to the list (on the next mailbox without consent); c tries again.", width))
		}
		return out
	case mbForm:
		return out + "\n" + m.formView(w, width)
	case mbImport:
		out += "\n" + w.field("Import a CSV file", &m.importPath, true, width) + "\n"
		out += s.Muted.Render(wrap("Header line: "+strings.Join(core.CSVHeader, ","), width)) + "\n\n"
		if m.importErr != nil {
			out += m.importErrView(w, width, height-lineCount(out)-1)
		} else {
			out += s.Muted.Render(wrap("Every row is validated; if any row is bad, nothing is imported and each bad line is listed.", width))
		}
		return out
	}
	out = m.listHead(w, width)
	// the table gets what is left, as setSize fitted the list to it
	rows := height - lineCount(out) - 1
	return out + m.table(w, m.fitted(len(w.boxes.filtered), rows), width, rows)
}

// counts is the title and the line of counts above every mode's content.
func (m *mailboxesStep) counts(w *wizard, width int) string {
	s := w.styles
	l := w.boxes
	out := w.title("Assign mailboxes", "", width) + "\n"
	kinds := []string{}
	for _, k := range core.OwnerKinds {
		if c := l.counts[k]; c > 0 {
			kinds = append(kinds, fmt.Sprintf("%d %s", c, k))
		}
	}
	counts := fmt.Sprintf("%d mailboxes", len(l.items))
	if len(l.items) == 1 {
		counts = "1 mailbox"
	}
	if len(kinds) > 0 {
		counts += " (" + strings.Join(kinds, ", ") + ")"
	}
	if l.query != "" {
		counts += fmt.Sprintf(" · %d match", len(l.filtered))
	}
	if n := len(w.selected); n > 0 {
		counts += fmt.Sprintf(" · %d selected", n)
	}
	if m.oauth {
		n := 0
		for _, e := range l.emails() {
			if m.consents[e].Consented {
				n++
			}
		}
		counts += fmt.Sprintf(" · %d of %d consented", n, len(l.items))
	}
	if l.dirty() {
		counts += " · unsaved"
	}
	return out + s.Muted.Render(wrap(counts, width)) + "\n"
}

// listHead is what the list mode shows above the table.
func (m *mailboxesStep) listHead(w *wizard, width int) string {
	s := w.styles
	l := w.boxes
	out := m.counts(w, width)
	if w.upgrade && m.oauth {
		// the upgrade assistant comes here only for the consents
		out += s.Text.Render(wrap("Upgrade: each mailbox keeps its password until its owner consents (c) and its test (Enter) passes; then it switches to OAuth and the password is erased.", width)) + "\n"
	}
	if m.mode == mbFilter || l.query != "" {
		out += w.field("Filter", &m.filter, m.mode == mbFilter, width) + "\n"
	}
	if m.loadErr != nil {
		out += w.errView(m.loadErr, width) + "\n"
	}
	if m.err != nil {
		out += w.errView(m.err, width) + "\n"
	}
	if m.mode == mbConfirmDelete {
		out += w.styles.Warn.Render(wrap("Delete "+m.deleting+"? y deletes, n keeps it.", width)) + "\n"
	}
	return out
}

func lineCount(s string) int { return strings.Count(s, "\n") }

// table renders only the visible window sl of the filtered list.
func (m *mailboxesStep) table(w *wizard, sl scrollList, width, rows int) string {
	s := w.styles
	l := w.boxes
	kindW := 9
	consentW := 0
	if m.oauth {
		consentW = 10
	}
	// The address gets its room first: typical ones (up to ~32
	// characters) whole at 80 columns. The display name and the owner name
	// share what is left, the owner name only once both fit, and neither
	// when there is too little (the edit form shows both).
	const emailWant = 33
	avail := max(width-4-1-kindW-consentW, 12) // marks, the space before OWNER
	emailW := min(max(avail*45/100, emailWant), avail)
	left := avail - emailW // for " DISPLAY NAME" and " OWNER NAME"
	nameW, ownerW := 0, 0
	switch {
	case left >= 2*11:
		nameW = left/2 - 1
		ownerW = left - nameW - 2
	case left >= 9:
		nameW = left - 1
	default:
		emailW += left
	}
	cell := func(v string, n int) string {
		v = core.SafeText(v) // names come from CSV files and the store
		if ansi.StringWidth(v) > n {
			v = truncate(v, n)
		}
		return padRight(v, n)
	}
	ownerCell := func(v string) string {
		if ownerW == 0 {
			return ""
		}
		return " " + cell(v, ownerW)
	}
	nameCell := func(v string) string {
		if nameW == 0 {
			return ""
		}
		return " " + cell(v, nameW)
	}
	consentCell := func(e string) string {
		if !m.oauth {
			return ""
		}
		return " " + cell(m.consents[e].Summary("Jan 02"), consentW-1)
	}
	var b strings.Builder
	nameHead := "DISPLAY NAME"
	if nameW < len(nameHead) {
		nameHead = "NAME"
	}
	head := "    " + cell("E-MAIL", emailW) + nameCell(nameHead) + " " + cell("OWNER", kindW) + ownerCell("OWNER NAME")
	if m.oauth {
		head += " " + cell("CONSENT", consentW-1)
	}
	b.WriteString(s.Label.Render(head) + "\n")
	if len(l.filtered) == 0 {
		if l.query != "" {
			b.WriteString(s.Muted.Render("    No mailbox matches the filter."))
		} else {
			b.WriteString(s.Muted.Render("    No mailbox yet: a adds one, i imports a CSV file."))
		}
		return b.String()
	}
	end := min(sl.offset+rows-1, len(l.filtered))
	for i := sl.offset; i < end; i++ {
		mb := l.items[l.filtered[i]]
		mark := "  "
		if w.selected[mb.Email] {
			mark = "◆ "
		}
		name := mb.DisplayName
		if name == mb.Email {
			name = "(address)"
		}
		line := mark + cell(mb.Email, emailW) + nameCell(name) + " " + cell(string(mb.OwnerKind), kindW) + ownerCell(mb.OwnerName) + consentCell(mb.Email)
		// the marker shows the row without colour (NO_COLOR)
		cur := "  "
		if i == sl.cursor {
			line = s.Selected.Render(line)
			cur = s.Selected.Render("›") + " "
		}
		line = cur + line
		b.WriteString(line)
		if i < end-1 {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func (m *mailboxesStep) formView(w *wizard, width int) string {
	s := w.styles
	title := "Add a mailbox"
	if m.editing != "" {
		title = "Edit " + m.editing
	}
	out := s.Heading.Render(title) + "\n"
	out += w.field("E-mail address", &m.form[0], m.formFocus == 0, width) + "\n"
	out += w.field("Display name", &m.form[1], m.formFocus == 1, width) + "\n"
	var kinds []string
	for i, k := range core.OwnerKinds {
		if i == m.formKind {
			kinds = append(kinds, s.Selected.Render("("+string(k)+")"))
		} else {
			kinds = append(kinds, s.Muted.Render(" "+string(k)+" "))
		}
	}
	mark, ls := "  ", s.Label
	if m.formFocus == 2 {
		mark, ls = s.Key.Render("▸ "), s.FocusLabel
	}
	out += mark + ls.Render("Owner kind (←/→)") + "\n  " + strings.Join(kinds, " ") + "\n"
	out += w.field("Owner name", &m.form[2], m.formFocus == 3, width) + "\n"
	if m.err != nil {
		out += w.errView(m.err, width)
	}
	return out
}

func (m *mailboxesStep) importErrView(w *wizard, width, height int) string {
	var ie *core.ImportError
	if !asImportError(m.importErr, &ie) {
		return w.errView(m.importErr, width)
	}
	s := w.styles
	out := s.Error.Render(wrap(fmt.Sprintf("✗ %s has %d bad row(s); nothing was imported. Fix them and import again:", ie.File, len(ie.Lines)), width)) + "\n"
	room := max(height-lineCount(out)-1, 1)
	used := 0
	for i, le := range ie.Lines {
		// each bad line wrapped under its number, so the fix stays readable
		lines := strings.Split(wrap(sentence(fmt.Sprint(le.Err)), max(width-12, 10)), "\n")
		if used+len(lines) > room-1 && i < len(ie.Lines) {
			out += s.Muted.Render(fmt.Sprintf("  … and %d more bad lines", len(ie.Lines)-i))
			break
		}
		for j, l := range lines {
			head := strings.Repeat(" ", 12)
			if j == 0 {
				head = padRight(fmt.Sprintf("  line %d:", le.Line), 12)
			}
			out += head + strings.TrimRight(l, " ") + "\n"
		}
		used += len(lines)
	}
	return out
}

func (m *mailboxesStep) keys(w *wizard) stepKeys {
	switch m.mode {
	case mbFilter:
		return keyMap(w.gkeys, []key.Binding{keyFilterDone, keyFilterClear}, nil, false, false, true)
	case mbForm:
		return keyMap(w.gkeys, []key.Binding{keyFormSave, keyTab, keyEsc}, nil, false, false, true)
	case mbImport:
		return keyMap(w.gkeys, []key.Binding{keyImportFile, keyImportTab, keyEsc}, nil, false, false, true)
	case mbConfirmDelete:
		return stepKeys{short: []key.Binding{keyDeleteYes, keyDeleteNo},
			full: [][]key.Binding{{keyDeleteYes, keyDeleteNoFull}}}
	case mbConsent:
		if fk, more := m.flow.keys(w); fk != nil {
			return keyMap(w.gkeys, fk, more, false, false, m.typing())
		}
		return keyMap(w.gkeys, []key.Binding{keyBackToList, keyConsentAgain}, nil, false, false, false)
	}
	if m.oauth {
		return keyMap(w.gkeys, []key.Binding{keyConsent, keyFilter, keyAdd, keyImport},
			[]key.Binding{keyEdit, keyDelete, keySelect, keyUp, keyDown, keyPgUp, keyPgDown}, true, false, false)
	}
	return keyMap(w.gkeys, []key.Binding{keyFilter, keyAdd, keyDelete, keyImport},
		[]key.Binding{keyEdit, keySelect, keyUp, keyDown, keyPgUp, keyPgDown}, true, false, false)
}

func (m *mailboxesStep) dirty() bool {
	return m.mode == mbForm || (m.list != nil && m.list.dirty())
}
func (m *mailboxesStep) typing() bool {
	if m.mode == mbConsent {
		return m.flow.phase == cfWaiting && m.flow.paste
	}
	return m.mode != mbList && m.mode != mbConfirmDelete
}

// focusedEmpty lets ? open help from an empty filter, form or path field.
func (m *mailboxesStep) focusedEmpty() bool {
	switch m.mode {
	case mbFilter:
		return m.filter.Value() == ""
	case mbImport:
		return m.importPath.Value() == ""
	case mbConsent:
		return m.flow.input.Value() == ""
	case mbForm:
		switch m.formFocus {
		case 0, 1:
			return m.form[m.formFocus].Value() == ""
		case 2:
			return true
		case 3:
			return m.form[2].Value() == ""
		}
	}
	return false
}
func (m *mailboxesStep) busy() bool { return m.mode == mbConsent && m.flow.running() }
func (m *mailboxesStep) cancel() {
	if m.flow != nil {
		m.flow.abort()
		if m.mode == mbConsent {
			m.mode = mbList
		}
	}
}
