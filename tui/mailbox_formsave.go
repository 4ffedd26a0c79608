package tui

import "github.com/mailoauth/mailoauth/core"

// saveForm puts the form's mailbox into the list and saves it (and, when
// the form renamed it, the removal of its old address) to the store right
// away: the form's enter says "save", so a session that ends (an SSH
// connection dropped) before the step is left loses nothing. Other
// unsaved changes of the list (deletions, an import) are still saved when
// the step is left, as their status lines say. A failed save leaves the
// mailbox in the list, unsaved, with the error shown; leaving the step
// tries again.
func (m *mailboxesStep) saveForm(mb core.Mailbox) {
	old := m.editing
	m.setup.boxes.put(mb, old)
	if err := m.backend.PutMailboxes(m.setup.profile.Domain, []core.Mailbox{mb}); err != nil {
		m.setErr("Could not save " + mb.Email + ": " + err.Error())
		return
	}
	delete(m.setup.boxes.changed, mb.Email)
	if old != "" && old != mb.Email {
		if err := m.backend.DeleteMailbox(m.setup.profile.Domain, old); err != nil {
			m.setErr("Could not delete " + old + ": " + err.Error())
			return
		}
		delete(m.setup.boxes.deleted, old)
	}
	m.setStatus("Saved " + mb.Email + ".")
}
