package tui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// workStep is the step where a profile's work really stands, from the
// store's state (core.ProfileState), whichever face did the work: a profile
// set up with `mailoauth setup` and tested with `test --all` is complete,
// though the wizard never saw it.
func workStep(p core.Profile, st core.ProfileState) stepID {
	switch {
	case p.DefaultSender == "":
		return stepDomain
	case st.Kind == "":
		return stepCredentials
	case !st.Verified:
		return stepAuthorize
	case st.Mailboxes == 0 && st.Tested == 0:
		return stepMailboxes
	case !st.Complete():
		return stepTest
	}
	return stepSummary
}

// resumeAt is where the wizard resumes a profile: the further of where the
// wizard last left it and where the work stands.
func resumeAt(p core.Profile, st core.ProfileState) stepID {
	at := max(stepID(p.WizardStep-1), workStep(p, st))
	return min(max(at, stepDomain), stepSummary)
}

// resumeText is the profile list's word on a profile: complete (its
// credential works and every mailbox passed its last test), or the step
// it resumes at.
func resumeText(p core.Profile, st core.ProfileState) string {
	if st.Complete() {
		return "complete"
	}
	at := resumeAt(p, st)
	name := stepNames[at]
	if at == stepAuthorize && st.Kind == core.KindOAuthClient {
		name = "Consent"
	}
	return fmt.Sprintf("resumes at step %d of %d, %s", at+1, numSteps, name)
}

// stateOf is the store's state of one profile.
func (w *wizard) stateOf(domain string) core.ProfileState {
	sts, _ := w.backend.ProfileStates()
	for _, s := range sts {
		if s.Domain == domain {
			return s
		}
	}
	return core.ProfileState{Domain: domain}
}

// resumeProfile opens a profile at resumeAt, marking the steps before it
// done.
func (w *wizard) resumeProfile(p core.Profile, st core.ProfileState) tea.Cmd {
	at := resumeAt(p, st)
	if p.WizardStep < int(at)+1 {
		p.WizardStep = int(at) + 1
	}
	cmd := w.openProfile(p)
	w.loadUpgrade()
	return cmd
}
