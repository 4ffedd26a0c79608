package tui

import (
	"errors"
	"strings"
)

// reloadAfterConflict follows a save refused because another wizard (an
// SSH session, the command line) changed the profile first: the profile is
// read again with their changes, the current step shows it, and the status
// line says who changed what, so the user applies their edit again on top.
func (w *wizard) reloadAfterConflict(err error) {
	msg := "Not saved: " + strings.TrimSuffix(err.Error(), ".")
	ps, lerr := w.backend.ListProfiles()
	if lerr != nil {
		w.setErr(msg + ".")
		return
	}
	for _, p := range ps {
		if p.Domain != w.profile.Domain {
			continue
		}
		w.profile, w.isNew, w.cred = p, false, nil
		if len(p.Credential) > 0 {
			if c, err := p.LoadCredential(); err == nil {
				w.cred = c
			}
		}
		w.resetSteps()
		_ = w.steps[w.cur].enter(w)
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
