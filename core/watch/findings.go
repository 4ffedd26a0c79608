package watch

// The texts of the findings the watcher raises itself, kept apart from the
// logic as core keeps its own in core/findings_*.go. They stay in this
// package, not in core, because they speak of the watcher (its reload by
// SIGHUP, a check that ended without a finding) and only it raises them.

import "github.com/mailoauth/mailoauth/core"

// credentialUnusableFinding is a profile's credential that failed to load
// with an error that carries no finding of its own; err says why.
func credentialUnusableFinding(err error) *core.Finding {
	return core.NewFinding(core.CodeInvalidKey, err.Error(),
		"Load a working credential with `mailoauth setup` or the wizard's step 3, then reload the watcher (SIGHUP).")
}

// unexplainedFailureFinding is a failed check of mailbox that
// brought no finding, so the alert still says where to look.
func unexplainedFailureFinding(mailbox string) *core.Finding {
	return core.NewFinding(core.CodeUnknown, "The check failed without a finding.",
		"Run `mailoauth test --mailbox "+mailbox+"` to see the details.")
}
