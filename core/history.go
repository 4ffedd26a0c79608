package core

import (
	"strings"
	"time"
)

// HistoryEntry is one check of one mailbox at one time, as the store's
// history keeps it: every run (test --all, the wizard's test step, watch)
// adds one per check that ran.
type HistoryEntry struct {
	Mailbox  string        `json:"mailbox"`
	Check    CheckName     `json:"check"`
	Time     time.Time     `json:"time"`
	OK       bool          `json:"ok"`
	Duration time.Duration `json:"-"`
	// Code is the finding of a failed check.
	Code Code `json:"code,omitempty"`
	// Since is, for a failure, when the run of consecutive failures with
	// this code began (the store carries it forward, so it survives the
	// pruning of older entries).
	Since time.Time `json:"since,omitzero"`
}

// HistoryEntries turns a mailbox's result into its history entries: one per
// check that ran, the failed one carrying the finding's code. A result
// cancelled before any check ran says nothing about the mailbox and gives
// none; one that failed before its first check (e.g. no token provider) is
// recorded as a failed token check.
func HistoryEntries(r MailboxResult) []HistoryEntry {
	mailbox := strings.ToLower(strings.TrimSpace(r.Mailbox))
	at := r.CheckedAt
	if at.IsZero() {
		at = time.Now()
	}
	var out []HistoryEntry
	failed := false
	for _, c := range r.Checks {
		e := HistoryEntry{Mailbox: mailbox, Check: c.Name, Time: at.UTC(), OK: c.OK, Duration: c.Duration}
		if !c.OK {
			failed = true
			if r.Finding != nil {
				e.Code = r.Finding.Code
			}
			if e.Code == CodeCancelled {
				continue
			}
		}
		out = append(out, e)
	}
	if !failed && r.Finding != nil && r.Finding.Code != CodeCancelled {
		out = append(out, HistoryEntry{Mailbox: mailbox, Check: CheckToken, Time: at.UTC(), Code: r.Finding.Code})
	}
	return out
}
