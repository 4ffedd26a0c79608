// Package history sums up the check history the store keeps (one
// core.HistoryEntry per check of a mailbox per run) for `mailoauth history`:
// runs, failures, failure periods, since when a check fails, and a row of
// marks. The engine writes history; only the command reads it this way.
//
// history builds on core alone: it must never import store, tui, cmd or
// another core subpackage, and core must never import it.
package history

import (
	"sort"
	"strings"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// Summary is the history of one mailbox's check over a window: how
// many runs, how many failed, whether it is failing now and since when, and
// how many separate failure periods there were.
type Summary struct {
	Mailbox  string         `json:"mailbox"`
	Check    core.CheckName `json:"check"`
	Runs     int            `json:"runs"`
	Failures int            `json:"failures"`
	// Periods counts the separate runs of consecutive failures: 2 means the
	// failure came back once after a recovery.
	Periods int               `json:"failure_periods"`
	Last    core.HistoryEntry `json:"last"`
	// FailingSince is when the current failure began (zero when the last
	// run passed).
	FailingSince time.Time `json:"failing_since,omitzero"`
	// Entries are the runs, oldest first.
	Entries []core.HistoryEntry `json:"-"`
}

// Failing reports whether the last run failed.
func (h Summary) Failing() bool { return h.Runs > 0 && !h.Last.OK }

// Summarize groups entries by mailbox and check (sorted by mailbox,
// then in running order), each group's entries oldest first.
func Summarize(entries []core.HistoryEntry) []Summary {
	type key struct {
		m string
		c core.CheckName
	}
	groups := map[key][]core.HistoryEntry{}
	for _, e := range entries {
		k := key{e.Mailbox, e.Check}
		groups[k] = append(groups[k], e)
	}
	out := make([]Summary, 0, len(groups))
	for k, es := range groups {
		sort.SliceStable(es, func(i, j int) bool { return es[i].Time.Before(es[j].Time) })
		h := Summary{Mailbox: k.m, Check: k.c, Runs: len(es), Entries: es, Last: es[len(es)-1]}
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
	order := map[core.CheckName]int{}
	for i, c := range core.AllChecks {
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

// Marks renders the last n entries as a row of marks, oldest first:
// "✓" passed, "✗" failed, "·" for no run.
func Marks(es []core.HistoryEntry, n int) string {
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
