package tui

// The test step's run: the engine's events streamed into the table's rows.

import (
	"context"
	"sync/atomic"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

type testEventsMsg struct {
	gen    int
	events []core.Event
}

type testDoneMsg struct {
	gen     int
	results []core.MailboxResult
	saveErr error // saving the results failed (core.RunReport.SaveErr)
}

// runSaver saves a test run's results (core.ResultSaver) unless the run
// was superseded by another: the step never shows its results, and its
// last save could land after the newer run's.
type runSaver struct {
	backend
	superseded atomic.Bool
}

func (s *runSaver) SaveResults(domain string, rs []core.MailboxResult) error {
	if s.superseded.Load() {
		return nil
	}
	return s.backend.SaveResults(domain, rs)
}

// run starts the checks of mailboxes as a command; events stream back
// through a channel and cancelling the context stops the run.
func (t *testStep) run(mailboxes []string, fresh bool) tea.Cmd {
	if t.saver != nil {
		t.saver.superseded.Store(true)
	}
	t.cancel()
	if fresh || t.rows == nil {
		t.rows = make([]testRow, 0, len(mailboxes))
		t.pos = make(map[string]int, len(mailboxes))
		t.cursor, t.offset = 0, 0
	}
	for _, mb := range mailboxes {
		if i, ok := t.pos[mb]; ok {
			t.rows[i] = testRow{mailbox: mb}
			continue
		}
		t.pos[mb] = len(t.rows)
		t.rows = append(t.rows, testRow{mailbox: mb})
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.cancelFn, t.running, t.err = cancel, true, nil
	t.gen++
	gen := t.gen
	ch := make(chan tea.Msg, 1024)
	t.ch = ch
	eng := t.engine
	t.saver = &runSaver{backend: t.backend}
	req := t.runRequest(t.setup.profile, mailboxes, t.checks())
	req.Results = t.saver
	// in upgrade mode the pending mailboxes that pass switch to OAuth
	req.Upgrade = t.finish
	// once the run is superseded (r) or the wizard ends, nobody reads ch:
	// the sends give up with ctx rather than block the workers, which hold
	// IMAP sessions; the results (which carry everything the events did)
	// go to a buffered channel that never blocks
	req.OnEvent = func(ev core.Event) {
		select {
		case ch <- testEventsMsg{gen: gen, events: []core.Event{ev}}:
		case <-ctx.Done():
		}
	}
	done := make(chan tea.Msg, 1)
	t.done = done
	go func() {
		rep, _ := eng.Run(ctx, req) // an error is each result's finding
		done <- testDoneMsg{gen: gen, results: rep.Results, saveErr: rep.SaveErr}
	}()
	return tea.Batch(waitTest(ch, done), t.startSpinner())
}

// waitTest reads the next event and whatever else is already queued, or
// the run's results.
func waitTest(ch, done chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		var msg tea.Msg
		select {
		case msg = <-ch:
		case msg = <-done:
			return msg
		}
		ev, ok := msg.(testEventsMsg)
		if !ok {
			return msg
		}
		for len(ev.events) < 2000 {
			select {
			case next := <-ch:
				ev.events = append(ev.events, next.(testEventsMsg).events...)
				continue
			default:
				return ev
			}
		}
		return ev
	}
}

func (t *testStep) apply(ev core.Event) {
	i, ok := t.pos[ev.Mailbox]
	if !ok {
		return
	}
	r := &t.rows[i]
	switch ev.Kind {
	case core.EventStarted:
		r.state = rowRunning
	case core.EventCheckDone:
		r.state = rowRunning
		if ev.Check != nil {
			if r.checks == nil {
				r.checks = map[core.CheckName]core.CheckResult{}
			}
			r.checks[ev.Check.Name] = *ev.Check
		}
	case core.EventFinished:
		r.state = rowDone
		if ev.Result != nil {
			res := *ev.Result
			r.result = &res
			for _, c := range res.Checks {
				if r.checks == nil {
					r.checks = map[core.CheckName]core.CheckResult{}
				}
				r.checks[c.Name] = c
			}
		}
	}
}
