package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// The test step shows each mailbox's recent runs from the store's history
// (every test, wizard test and `mailoauth watch` round adds to it), so a
// failure shows since when it lasts.
const (
	histMarks   = 12               // runs read and shown as marks, per check
	histRefresh = 15 * time.Second // re-read while the step is shown
)

// historyTickMsg re-reads the history while the test step is shown, so a
// watcher running beside the wizard (serve --watch) shows its rounds.
type historyTickMsg struct{ gen int }

// historyTick schedules the next re-read; a tick of an earlier visit (gen)
// is ignored.
func (t *testStep) historyTick() tea.Cmd {
	t.histGen++
	gen := t.histGen
	tick := t.tick
	if tick == nil {
		tick = tea.Tick
	}
	return tick(histRefresh, func(time.Time) tea.Msg { return historyTickMsg{gen: gen} })
}

// historyTicked re-reads the history (not during a run, which reloads it
// when done) and schedules the next tick.
func (t *testStep) historyTicked(msg historyTickMsg) tea.Cmd {
	if msg.gen != t.histGen {
		return nil
	}
	if !t.running {
		t.loadHistory()
	}
	return t.historyTick()
}

// mailboxHistory is one mailbox's recent runs: one entry per run (its
// failed check, or its last one), oldest first.
type mailboxHistory struct {
	mailbox  string
	runs     []core.HistoryEntry
	failures int
}

func (h *mailboxHistory) last() core.HistoryEntry { return h.runs[len(h.runs)-1] }
func (h *mailboxHistory) failing() bool           { return !h.last().OK }

// since is when the current failure began.
func (h *mailboxHistory) since() time.Time {
	if l := h.last(); !l.Since.IsZero() {
		return l.Since
	}
	return h.last().Time
}

// mailboxHistories merges the checks of each run (they share its time)
// into one entry per run, by mailbox.
func mailboxHistories(es []core.HistoryEntry) map[string]*mailboxHistory {
	type runKey struct {
		m string
		t time.Time
	}
	runs := map[runKey]core.HistoryEntry{}
	for _, e := range es {
		k := runKey{e.Mailbox, e.Time}
		if r, ok := runs[k]; !ok || (r.OK && !e.OK) {
			runs[k] = e
		}
	}
	out := map[string]*mailboxHistory{}
	for k, e := range runs {
		h := out[k.m]
		if h == nil {
			h = &mailboxHistory{mailbox: k.m}
			out[k.m] = h
		}
		h.runs = append(h.runs, e)
		if !e.OK {
			h.failures++
		}
	}
	for _, h := range out {
		sort.Slice(h.runs, func(i, j int) bool { return h.runs[i].Time.Before(h.runs[j].Time) })
	}
	return out
}

// loadHistory reads the profile's recent history (on entering the step
// and after each run).
func (t *testStep) loadHistory() {
	es, err := t.backend.RecentHistory(t.setup.profile.Domain, histMarks)
	if err != nil {
		t.hist = nil
		return
	}
	t.hist = mailboxHistories(es)
}

// historyLine is one mailbox's marks and state: "✓✓✗✗ failing since
// 12-02 04:40 [user_suspended]", "✓✓✗✓ ok (1/4 failed)".
func (c *common) historyLine(h *mailboxHistory) string {
	s := c.styles
	var marks strings.Builder
	for _, r := range h.runs[max(len(h.runs)-histMarks, 0):] {
		if r.OK {
			marks.WriteString(s.OK.Render("✓"))
		} else {
			marks.WriteString(s.Error.Render("✗"))
		}
	}
	state := s.Muted.Render(fmt.Sprintf(" ok (%d/%d failed)", h.failures, len(h.runs)))
	if h.failing() {
		// the marks show how often; the start is what the row adds
		state = s.Error.Render(fmt.Sprintf(" failing since %s [%s]", h.since().Local().Format("01-02 15:04"), h.last().Code))
	}
	return marks.String() + state
}

// historyDetail is the selected row's history, when there is more to see
// than this run: earlier runs, or a failure that began before it.
func (t *testStep) historyDetail(mailbox string, width int) string {
	h := t.hist[mailbox]
	if h == nil || len(h.runs) < 2 {
		return ""
	}
	return truncate(t.styles.Label.Render("History ")+t.historyLine(h), width)
}

// historyHeader heads the history list; it fits the content column at
// 80x24 (59 columns).
const historyHeader = "Recent checks, oldest first (watch adds its rounds)"

// historyList is the intro's list of mailboxes with a history, failing ones
// first, in at most rows lines.
func (t *testStep) historyList(width, rows int) string {
	if len(t.hist) == 0 || rows < 2 {
		return ""
	}
	hs := make([]*mailboxHistory, 0, len(t.hist))
	for _, h := range t.hist {
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool {
		if hs[i].failing() != hs[j].failing() {
			return hs[i].failing()
		}
		return hs[i].mailbox < hs[j].mailbox
	})
	out := t.styles.Label.Render(truncate(historyHeader, width))
	mw := 0
	for _, h := range hs {
		mw = max(mw, len(h.mailbox)+2)
	}
	mw = min(mw, 29, width/3)
	for i, h := range hs {
		if i == rows-1 {
			if left := len(hs) - i; left > 0 {
				out += "\n" + t.styles.Muted.Render(fmt.Sprintf("… %d more: mailoauth history", left))
			}
			break
		}
		out += "\n" + truncate(padRight(truncate(h.mailbox, mw-1), mw)+t.historyLine(h), width)
	}
	return out
}
