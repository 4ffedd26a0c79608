package tui

// The test step lives in step_livetest.go, not step_test.go: a _test.go
// file would only be compiled by go test.

import (
	"context"
	"fmt"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

type testScope int

const (
	scopeSender testScope = iota
	scopeSelected
	scopeAll
	scopes // how many
)

type rowState int

const (
	rowPending rowState = iota
	rowRunning
	rowDone
)

type testRow struct {
	mailbox string
	state   rowState
	checks  map[core.CheckName]core.CheckResult
	result  *core.MailboxResult
}

// testStep runs the live checks with a progress bar and a live table. It
// is a component (nav.go).
type testStep struct {
	*common
	room
	scope testScope
	rows  []testRow
	pos   map[string]int
	scrollList
	// details holds the finding, notes and history of the row under the
	// cursor; they scroll when too long for the room the table leaves
	details viewport.Model
	// tooTall is a screen taller than its room even so (SetSize)
	tooTall  bool
	running  bool
	ran      bool
	cancelFn context.CancelFunc
	gen      int
	ch       chan tea.Msg // the running check's events
	done     chan tea.Msg // its results, once
	saver    *runSaver    // where it saves them
	barReady bool
	err      error
	// skip turns a check off; the zero value runs them all
	skip map[core.CheckName]bool
	// hist is each mailbox's recent runs (testhistory.go)
	hist    map[string]*mailboxHistory
	histGen int
}

// checkLabels names the checks as the screen shows them.
var checkLabels = map[core.CheckName]string{
	core.CheckToken: "token", core.CheckIMAP: "IMAP", core.CheckSMTP: "SMTP", core.CheckRoundtrip: "round trip",
}

// checks is the chosen checks in the order they run.
func (t *testStep) checks() []core.CheckName {
	var out []core.CheckName
	for _, c := range core.AllChecks {
		if !t.skip[c] {
			out = append(out, c)
		}
	}
	return out
}

// toggleCheck turns a check on or off; at least one stays on.
func (t *testStep) toggleCheck(i int) {
	if i < 0 || i >= len(core.AllChecks) {
		return
	}
	c := core.AllChecks[i]
	if t.skip == nil {
		t.skip = map[core.CheckName]bool{}
	}
	if !t.skip[c] && len(t.checks()) == 1 {
		t.setErr("At least one check must stay on; turn another on first.")
		return
	}
	t.skip[c] = !t.skip[c]
	t.setStatus("")
}

func newTestStep(c *common) *testStep { return &testStep{common: c} }

// runTestsMsg runs the checks of the chosen mailboxes (the summary's r
// sends it with the step).
type runTestsMsg struct{}

func (t *testStep) Init() tea.Cmd {
	if !t.barReady {
		t.barReady = true
		t.scope = scopeAll
		if len(t.setup.selected) > 0 {
			t.scope = scopeSelected
		}
		t.pageSize = 5
	}
	if t.setup.boxes == nil {
		ms, _ := t.backend.Mailboxes(t.setup.profile.Domain)
		t.setup.boxes = newMailboxList(ms)
	}
	t.loadHistory()
	return t.historyTick()
}

// targets is what the chosen scope tests, as `mailoauth test` would:
// "all" is the default sender and every assigned mailbox (core.TestTargets).
func (t *testStep) targets() []string {
	switch t.scope {
	case scopeSelected:
		var picked []string
		for _, e := range t.setup.boxes.emails() {
			if t.setup.selected[e] {
				picked = append(picked, e)
			}
		}
		return core.TestTargets(&t.setup.profile, nil, false, picked)
	case scopeAll:
		return core.TestTargets(&t.setup.profile, t.setup.boxes.items, true, nil)
	}
	return core.TestTargets(&t.setup.profile, nil, false, nil)
}

func (t *testStep) scopeLabel() string {
	switch t.scope {
	case scopeSelected:
		return fmt.Sprintf("selected mailboxes (%d)", len(t.setup.selected))
	case scopeAll:
		return fmt.Sprintf("all mailboxes and the default sender (%d)", t.allCount())
	}
	return "default sender (" + t.setup.profile.DefaultSender + ")"
}

// allCount is how many mailboxes "all" tests.
func (t *testStep) allCount() int {
	return len(core.TestTargets(&t.setup.profile, t.setup.boxes.items, true, nil))
}

// Update handles msg; the details of another row under the cursor show
// from their top.
func (t *testStep) Update(msg tea.Msg) (tea.Cmd, bool) {
	was := t.underCursor()
	cmd, handled := t.update(msg)
	if t.underCursor() != was {
		t.details.GotoTop()
	}
	return cmd, handled
}

// underCursor is the mailbox of the row under the cursor, "" for none.
func (t *testStep) underCursor() string {
	if t.cursor < len(t.rows) {
		return t.rows[t.cursor].mailbox
	}
	return ""
}

func (t *testStep) update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case runTestsMsg:
		return t.run(t.targets(), true), false
	case historyTickMsg:
		return t.historyTicked(msg), false
	case testEventsMsg:
		if msg.gen != t.gen {
			return nil, false
		}
		for _, ev := range msg.events {
			t.apply(ev)
		}
		return waitTest(t.ch, t.done), false
	case testDoneMsg:
		if msg.gen != t.gen {
			return nil, false
		}
		for i := range msg.results {
			r := msg.results[i]
			t.apply(core.Event{Kind: core.EventFinished, Mailbox: r.Mailbox, Result: &r})
		}
		// A mailbox still running when the run was cancelled did not
		// finish (core hands on no result for it): not run, not failed.
		for i := range t.rows {
			if t.rows[i].state == rowRunning {
				t.rows[i] = testRow{mailbox: t.rows[i].mailbox}
			}
		}
		t.running, t.cancelFn, t.ran = false, nil, true
		if len(msg.results) > 0 {
			if msg.saveErr != nil {
				t.err = msg.saveErr
			}
			t.loadHistory()
		}
		// point at the first failure
		for i, r := range t.rows {
			if r.result != nil && !r.result.OK {
				t.cursor = i
				t.clamp()
				break
			}
		}
		return nil, false
	case tea.KeyPressMsg:
		if t.overflows() && key.Matches(msg, t.keys.Screen.MoreDown, t.keys.Screen.MoreUp) {
			// the wizard pages the screen, as its ↓ more marker says
			return nil, false
		}
		switch {
		case t.detailsScroll() && key.Matches(msg, t.keys.Test.DetailsDown):
			t.details.ScrollDown(1)
			return nil, true
		case t.detailsScroll() && key.Matches(msg, t.keys.Test.DetailsUp):
			t.details.ScrollUp(1)
			return nil, true
		}
		if t.moveKey(t.keys.List, msg) {
			t.clamp()
			return nil, true
		}
		if t.running {
			return nil, !key.Matches(msg, t.keys.Global.Interrupt, t.keys.Global.Esc)
		}
		switch {
		case key.Matches(msg, t.keys.Global.Next):
			if t.ran {
				return nextStep(stepTest), true
			}
			return t.run(t.targets(), true), true
		case key.Matches(msg, t.keys.Test.Run):
			return t.run(t.targets(), true), true
		case key.Matches(msg, t.keys.Test.Scope):
			t.scope = wrapAround(t.scope, 1, scopes)
			if t.scope == scopeSelected && len(t.setup.selected) == 0 {
				t.scope = scopeAll
			}
			return nil, true
		case key.Matches(msg, t.keys.Test.Checks):
			t.toggleCheck(int(msg.Code - '1'))
			return nil, true
		case key.Matches(msg, t.keys.Test.Retry):
			var failed []string
			for _, r := range t.rows {
				if r.result != nil && !r.result.OK {
					failed = append(failed, r.mailbox)
				}
			}
			if len(failed) > 0 {
				return t.run(failed, false), true
			}
			return nil, true
		}
	}
	return nil, false
}

func (t *testStep) clamp() { t.clampTo(len(t.rows)) }

// tally counts the finished rows.
func (t *testStep) tally() (passed, failed, done int) {
	for _, r := range t.rows {
		if r.state == rowDone && r.result != nil {
			done++
			if r.result.OK {
				passed++
			} else {
				failed++
			}
		}
	}
	return
}

func (t *testStep) ShortHelp() []key.Binding  { return t.helpKeyMap().short }
func (t *testStep) FullHelp() [][]key.Binding { return t.helpKeyMap().full }

func (t *testStep) helpKeyMap() stepKeys {
	nav := t.keys.List.moves(false)
	// the details' keys while they scroll, in place of the mailboxes'
	// on the short line, which the head names beside its choices
	var details []key.Binding
	scope := []key.Binding{t.keys.Test.Scope}
	if t.detailsScroll() {
		nav = append(nav, t.keys.Test.DetailsDown, t.keys.Test.DetailsUp)
		details, scope = []key.Binding{t.keys.Test.Details}, nil
	}
	if t.running {
		return t.keyMap(append([]key.Binding{t.keys.Test.Cancel}, details...), nav, false, false, false)
	}
	more := append([]key.Binding{t.keys.Test.Scope, t.keys.Test.Token, t.keys.Test.IMAP, t.keys.Test.SMTP, t.keys.Test.RoundTrip, t.keys.Test.Run, t.keys.Test.Retry}, nav...)
	if !t.ran {
		short := []key.Binding{t.keys.Test.RunChecks, t.keys.Test.Scope, t.keys.Test.Checks}
		return t.keyMap(short, more, false, true, false)
	}
	short := []key.Binding{t.keys.Global.Next, t.keys.Test.RunAgain}
	if _, failed, _ := t.tally(); failed > 0 {
		short = append(short, t.keys.Test.Retry)
	}
	short = append(append(short, details...), scope...)
	return t.keyMap(short, more, false, false, false)
}

func (t *testStep) dirty() bool { return false }

func (t *testStep) typing() bool { return false }

func (t *testStep) busy() bool { return t.running }

func (t *testStep) cancel() {
	if t.cancelFn != nil {
		t.cancelFn()
	}
}
