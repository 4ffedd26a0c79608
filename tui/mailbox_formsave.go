package tui

import "github.com/mailoauth/mailoauth/core"

// saveForm puts the form's mailbox into the list and saves the list's
// changes to the store right away: the form's enter says "save", so a
// session that ends (an SSH connection dropped) before the step is left
// loses nothing. A failed save leaves the mailbox in the list, marked
// unsaved, with the error shown; leaving the step tries again.
func (m *mailboxesStep) saveForm(w *wizard, mb core.Mailbox) {
	w.boxes.put(mb, m.editing)
	if err := m.persist(w); err == nil {
		w.setStatus("Saved " + mb.Email + ".")
	}
}
