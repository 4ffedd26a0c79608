package tui

import (
	"errors"
	"strings"

	"github.com/mailoauth/mailoauth/core"
)

// reloadAfterConflict follows a save refused because another wizard (an
// SSH session, the command line) changed the profile first: the profile
// and its mailboxes are read again, so what the session shows is what the
// store holds, the current step shows it, and the status line says who
// changed what and which of this session's changes were not saved, so the
// user applies them again on top.
func (w *wizard) reloadAfterConflict(err error) {
	msg := "Not saved: " + strings.TrimSuffix(err.Error(), ".")
	ps, lerr := w.backend.ListProfiles()
	if lerr != nil {
		w.setErr(msg + ".")
		return
	}
	for _, p := range ps {
		if p.Domain != w.setup.profile.Domain {
			continue
		}
		w.adoptStored(p)
		w.resetSteps()
		_ = w.steps[w.cur].Init()
		var changed *profileChangedError
		if errors.As(err, &changed) {
			// one sentence: who, when and what, then what to do
			msg += "; the profile is reloaded with that change, so apply yours again"
		}
		w.setErr(msg + ".")
		return
	}
	w.setErr(msg + ".")
}

// adoptStored makes the store's profile the session's, and drops the
// mailbox list from the store too: after
// someone else's change the session must show exactly what the store holds.
func (w *wizard) adoptStored(p core.Profile) {
	selected := w.setup.selected
	w.setup.begin(p, false)
	w.setup.selected = selected
	if ms, err := w.backend.Mailboxes(p.Domain); err == nil {
		w.setup.boxes = newMailboxList(ms)
		held := map[string]bool{}
		for _, m := range ms {
			held[m.Email] = true
		}
		for e := range w.setup.selected {
			if !held[e] {
				delete(w.setup.selected, e) // removed by the other session
			}
		}
	}
}
