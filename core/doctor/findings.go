package doctor

// The texts of the findings doctor raises itself, kept apart from the
// probes as core keeps its own in core/findings_*.go. They stay here, not
// in core, because they name `mailoauth doctor` and only doctor raises
// them.

import "github.com/mailoauth/mailoauth/core"

// notRunFinding stands for a check doctor skipped because an earlier
// check, failed, failed first; it keeps that failure's code.
func notRunFinding(code core.Code, failed core.CheckName) *core.Finding {
	return core.NewFinding(code, "Not run because the "+string(failed)+" check failed.",
		"Fix that first, then run `mailoauth doctor` again.")
}
