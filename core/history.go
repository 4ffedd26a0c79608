package core

import (
	"sort"
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

// HistorySummary is the history of one mailbox's check over a window: how
// many runs, how many failed, whether it is failing now and since when, and
// how many separate failure periods there were.
type HistorySummary struct {
	Mailbox  string    `json:"mailbox"`
	Check    CheckName `json:"check"`
	Runs     int       `json:"runs"`
	Failures int       `json:"failures"`
	// Periods counts the separate runs of consecutive failures: 2 means the
	// failure came back once after a recovery.
	Periods int          `json:"failure_periods"`
	Last    HistoryEntry `json:"last"`
	// FailingSince is when the current failure began (zero when the last
	// run passed).
	FailingSince time.Time `json:"failing_since,omitzero"`
	// Entries are the runs, oldest first.
	Entries []HistoryEntry `json:"-"`
}

// Failing reports whether the last run failed.
func (h HistorySummary) Failing() bool { return h.Runs > 0 && !h.Last.OK }

// SummarizeHistory groups entries by mailbox and check (sorted by mailbox,
// then in running order), each group's entries oldest first.
func SummarizeHistory(entries []HistoryEntry) []HistorySummary {
	type key struct {
		m string
		c CheckName
	}
	groups := map[key][]HistoryEntry{}
	for _, e := range entries {
		k := key{e.Mailbox, e.Check}
		groups[k] = append(groups[k], e)
	}
	out := make([]HistorySummary, 0, len(groups))
	for k, es := range groups {
		sort.SliceStable(es, func(i, j int) bool { return es[i].Time.Before(es[j].Time) })
		h := HistorySummary{Mailbox: k.m, Check: k.c, Runs: len(es), Entries: es, Last: es[len(es)-1]}
		prevFailed := false
		for _, e := range es {
			if !e.OK {
				h.Failures++
				if !prevFailed {
					h.Periods++
				}
			}
			prevFailed = !e.OK
		}
		if !h.Last.OK {
			h.FailingSince = h.Last.Since
			if h.FailingSince.IsZero() {
				h.FailingSince = h.Last.Time
			}
		}
		out = append(out, h)
	}
	order := map[CheckName]int{}
	for i, c := range AllChecks {
		order[c] = i
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Mailbox != out[j].Mailbox {
			return out[i].Mailbox < out[j].Mailbox
		}
		return order[out[i].Check] < order[out[j].Check]
	})
	return out
}

// HistoryMarks renders the last n entries as a row of marks, oldest first:
// "✓" passed, "✗" failed, "·" for no run.
func HistoryMarks(es []HistoryEntry, n int) string {
	if len(es) > n {
		es = es[len(es)-n:]
	}
	var b strings.Builder
	for i := len(es); i < n; i++ {
		b.WriteString("·")
	}
	for _, e := range es {
		if e.OK {
			b.WriteString("✓")
		} else {
			b.WriteString("✗")
		}
	}
	return b.String()
}
