package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

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
	*common
	room
	mode   mbMode
	filter textinput.Model
	scrollList
	err error

	form     mailboxForm
	editing  string // email being edited, "" when adding
	deleting string // email waiting for the y/n of a delete

	importPath fileField
	importErr  error
	loadErr    error
	list       *mailboxList

	// the OAuth client path: each mailbox's consent, and the consent of
	// the selected one (c)
	oauth    bool
	consents map[string]core.ConsentState
	flow     *consentFlow
}

func newMailboxesStep(c *common) *mailboxesStep {
	m := &mailboxesStep{common: c, filter: newInput("type to filter"), importPath: newFileField("/path/to/mailboxes.csv", core.CSVFile)}
	m.form = newMailboxForm()
	m.pageSize = 10
	return m
}

func (m *mailboxesStep) Init() tea.Cmd {
	m.mode, m.err = mbList, nil
	m.form.email.Placeholder = "name@" + orDefault(m.setup.profile.Domain, "yourcompany.example")
	m.oauth = m.setup.isOAuthClient()
	m.loadConsents()
	defer func() { m.list = m.setup.boxes }()
	if m.setup.boxes != nil {
		return nil
	}
	ms, err := m.backend.Mailboxes(m.setup.profile.Domain)
	m.loadErr = err
	m.setup.boxes = newMailboxList(ms)
	if len(ms) == 0 {
		var seed []core.Mailbox
		if m.sandbox != nil {
			for _, u := range m.sandbox.Users {
				mb := core.Mailbox{Email: u, OwnerKind: core.OwnerUser, OwnerName: strings.SplitN(u, "@", 2)[0]}
				if m.setup.profile.MailboxRule().Mailbox(&mb) == nil {
					seed = append(seed, mb)
				}
			}
		} else if m.setup.profile.DefaultSender != "" {
			mb := core.Mailbox{Email: m.setup.profile.DefaultSender, OwnerKind: core.OwnerUser}
			if m.setup.profile.MailboxRule().Mailbox(&mb) == nil {
				seed = append(seed, mb)
			}
		}
		if len(seed) > 0 {
			m.setup.boxes.putAll(seed)
		}
	}
	m.list = m.setup.boxes
	if m.oauth && m.cursor == 0 && len(m.setup.boxes.filtered) > 0 && !m.consents[m.setup.boxes.items[m.setup.boxes.filtered[0]].Email].Consented {
		return nil
	}
	if m.oauth && m.cursor == 0 {
		// start on the first mailbox still lacking consent
		m.cursor = -1
		m.nextLacking()
		m.cursor = max(m.cursor, 0)
	}
	return nil
}

// loadConsents reads every mailbox's consent state (one read, however many
// mailboxes).
func (m *mailboxesStep) loadConsents() {
	m.consents = nil
	if !m.oauth || m.setup.cred == nil {
		return
	}
	cs, err := m.backend.ConsentStates(m.setup.profile.Domain, m.setup.cred.ClientID)
	if err != nil {
		m.loadErr = err
		return
	}
	m.consents = cs
}

// updateConsent runs the consent of one mailbox; when it is over, Enter or
// esc returns to the list, on the next mailbox still lacking consent.
func (m *mailboxesStep) updateConsent(msg tea.Msg) (tea.Cmd, bool) {
	if cmd, handled := m.flow.update(m.common, flowMailbox, msg); handled || cmd != nil {
		return cmd, handled
	}
	if _, ok := msg.(consentDoneMsg); ok {
		m.loadConsents()
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, false
	}
	if m.flow.running() {
		return nil, !key.Matches(k, m.keys.Global.Interrupt)
	}
	if m.flow.active() {
		return nil, false
	}
	switch {
	case key.Matches(k, m.keys.Mailboxes.BackToList):
		ok := m.flow.err == nil && m.flow.grant != nil
		m.flow.abort()
		m.mode = mbList
		if ok {
			m.nextLacking()
		}
		return nil, true
	case key.Matches(k, m.keys.Mailboxes.ConsentAgain):
		return m.flow.start(m.common, flowMailbox, m.flow.mailbox, pasteByDefault(m.common)), true
	}
	return nil, false
}

// nextLacking moves the cursor to the next mailbox without consent.
func (m *mailboxesStep) nextLacking() {
	l := m.setup.boxes
	for i := m.cursor + 1; i < len(l.filtered); i++ {
		if !m.consents[l.items[l.filtered[i]].Email].Consented {
			m.cursor = i
			m.clamp()
			return
		}
	}
}

func (m *mailboxesStep) current() (core.Mailbox, bool) {
	l := m.setup.boxes
	if l == nil || m.cursor < 0 || m.cursor >= len(l.filtered) {
		return core.Mailbox{}, false
	}
	return l.items[l.filtered[m.cursor]], true
}

func (m *mailboxesStep) Update(msg tea.Msg) (tea.Cmd, bool) {
	switch m.mode {
	case mbFilter:
		return m.updateFilter(msg)
	case mbForm:
		return m.updateForm(msg)
	case mbImport:
		return m.updateImport(msg)
	case mbConfirmDelete:
		return m.updateConfirmDelete(msg)
	case mbConsent:
		return m.updateConsent(msg)
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, false
	}
	l := m.setup.boxes
	n := len(l.filtered)
	switch {
	case key.Matches(k, m.keys.Global.Next):
		return m.save(), true
	case m.moveKey(m.keys.List, k):
	case key.Matches(k, m.keys.List.Top):
		m.cursor = 0
	case key.Matches(k, m.keys.List.Bottom):
		m.cursor = n - 1
	case key.Matches(k, m.keys.Mailboxes.Filter):
		m.mode = mbFilter
		return m.filter.Focus(), true
	case key.Matches(k, m.keys.Mailboxes.Select):
		if mb, ok := m.current(); ok {
			if m.setup.selected[mb.Email] {
				delete(m.setup.selected, mb.Email)
			} else {
				m.setup.selected[mb.Email] = true
			}
			m.cursor++
		}
	case key.Matches(k, m.keys.Mailboxes.Add):
		return m.openForm(core.Mailbox{OwnerKind: core.OwnerUser}, ""), true
	case key.Matches(k, m.keys.Mailboxes.Edit):
		if mb, ok := m.current(); ok {
			return m.openForm(mb, mb.Email), true
		}
	case key.Matches(k, m.keys.Mailboxes.Delete):
		if mb, ok := m.current(); ok {
			m.mode, m.deleting = mbConfirmDelete, mb.Email
			return nil, true
		}
	case key.Matches(k, m.keys.Mailboxes.Import):
		m.mode, m.importErr = mbImport, nil
		return m.importPath.Focus(), true
	case key.Matches(k, m.keys.Mailboxes.Consent) && m.oauth:
		if mb, ok := m.current(); ok {
			if m.flow == nil {
				m.flow = newConsentFlow()
			}
			m.mode = mbConsent
			return m.flow.start(m.common, flowMailbox, mb.Email, pasteByDefault(m.common)), true
		}
	case key.Matches(k, m.keys.Mailboxes.FilterClear) && l.query != "":
		m.filter.SetValue("")
		l.setQuery("")
	default:
		return nil, false
	}
	m.clamp()
	return nil, true
}

// updateConfirmDelete asks y/n before deleting the mailbox under the cursor.
func (m *mailboxesStep) updateConfirmDelete(msg tea.Msg) (tea.Cmd, bool) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, false
	}
	switch {
	case key.Matches(k, m.keys.Mailboxes.DeleteYes):
		m.setup.boxes.remove(m.deleting)
		delete(m.setup.selected, m.deleting)
		m.setStatus("Deleted " + m.deleting + " (saved when you leave this step).")
		m.mode, m.deleting = mbList, ""
		m.clamp()
	case key.Matches(k, m.keys.Mailboxes.DeleteNo):
		m.mode, m.deleting = mbList, ""
		m.setStatus("")
	case key.Matches(k, m.keys.Global.Interrupt):
		return nil, false
	}
	return nil, true
}

// save stores the changed and deleted assignments and moves on.
func (m *mailboxesStep) save() tea.Cmd {
	l := m.setup.boxes
	if len(l.items) == 0 {
		m.err = core.Inputf("no mailbox is assigned yet; press %s to add one or %s to import a CSV file", keyName(m.keys.Mailboxes.Add), keyName(m.keys.Mailboxes.Import))
		return nil
	}
	if err := m.persist(); err != nil {
		return nil
	}
	return nextStep(stepMailboxes)
}

func (m *mailboxesStep) persist() error {
	l := m.setup.boxes
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
		if err := m.backend.PutMailboxes(m.setup.profile.Domain, put); err != nil {
			m.setErr("Could not save the mailboxes: " + err.Error())
			return err
		}
	}
	for e := range l.deleted {
		if err := m.backend.DeleteMailbox(m.setup.profile.Domain, e); err != nil {
			m.setErr("Could not delete " + e + ": " + err.Error())
			return err
		}
	}
	l.changed, l.deleted = map[string]bool{}, map[string]bool{}
	return nil
}

func (m *mailboxesStep) ShortHelp() []key.Binding  { return m.helpKeyMap().short }
func (m *mailboxesStep) FullHelp() [][]key.Binding { return m.helpKeyMap().full }

func (m *mailboxesStep) helpKeyMap() stepKeys {
	switch m.mode {
	case mbFilter:
		return m.keyMap([]key.Binding{m.keys.Mailboxes.FilterDone, m.keys.Mailboxes.FilterClear}, nil, false, false, true)
	case mbForm:
		return m.keyMap([]key.Binding{m.keys.Mailboxes.FormSave, m.keys.Form.Next, m.keys.Global.Esc}, nil, false, false, true)
	case mbImport:
		return m.keyMap([]key.Binding{m.keys.Mailboxes.ImportFile, m.keys.Mailboxes.ImportTab, m.keys.Global.Esc}, nil, false, false, true)
	case mbConfirmDelete:
		return stepKeys{short: []key.Binding{m.keys.Mailboxes.DeleteYes, m.keys.Mailboxes.DeleteNo},
			full: [][]key.Binding{{m.keys.Mailboxes.DeleteYes, m.keys.Mailboxes.DeleteNoFull}}}
	case mbConsent:
		if fk, more := m.flow.keys(m.common); fk != nil {
			return m.keyMap(fk, more, false, false, m.typing())
		}
		return m.keyMap([]key.Binding{m.keys.Mailboxes.BackToList, m.keys.Mailboxes.ConsentAgain}, nil, false, false, false)
	}
	mk := m.keys.Mailboxes
	short := []key.Binding{mk.Filter, mk.Add, mk.Delete, mk.Import}
	more := []key.Binding{mk.Edit, mk.Select}
	if m.oauth {
		// consent first; delete goes to the full help
		short = []key.Binding{mk.Consent, mk.Filter, mk.Add, mk.Import}
		more = []key.Binding{mk.Edit, mk.Delete, mk.Select}
	}
	return m.keyMap(short, append(more, m.keys.List.moves(true)...), true, false, false)
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
		return m.form.focusedEmpty()
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
