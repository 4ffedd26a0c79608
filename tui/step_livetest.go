package tui

// The test step lives in step_livetest.go, not step_test.go: a _test.go
// file would only be compiled by go test.

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailoauth/mailoauth/core"
)

type testScope int

const (
	scopeSender testScope = iota
	scopeSelected
	scopeAll
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

// testStep runs the live checks with a progress bar and a live table.
type testStep struct {
	scope testScope
	rows  []testRow
	pos   map[string]int
	scrollList
	running  bool
	ran      bool
	cancelFn context.CancelFunc
	gen      int
	ch       chan tea.Msg // the running check's events
	done     chan tea.Msg // its results, once
	barReady bool
	err      error
	// skip turns a check off; the zero value runs them all
	skip map[core.CheckName]bool
	// hist is each mailbox's recent runs (testhistory.go)
	hist    map[string]*mailboxHistory
	histGen int
}

type testEventsMsg struct {
	gen    int
	events []runEvent
}

type testDoneMsg struct {
	gen     int
	results []core.MailboxResult
}

var (
	keyScope    = b([]string{"tab"}, "tab", "mailboxes")
	keyRun      = b([]string{"r"}, "r", "run")
	keyRunAgain = b([]string{"r"}, "r", "run again")
	keyRetry    = b([]string{"f"}, "f", "retry failed")
	keyChecks   = b([]string{"1", "2", "3", "4"}, "1-4", "checks")
	// the descriptions are the legend of the table's column headers
	keyChkToken   = b([]string{"1"}, "1", "± TOKEN check")
	keyChkIMAP    = b([]string{"2"}, "2", "± IMAP check")
	keyChkSMTP    = b([]string{"3"}, "3", "± SMTP check")
	keyChkRound   = b([]string{"4"}, "4", "± RT (round-trip) check")
	keyCancelTest = b([]string{"esc"}, "esc", "cancel")
)

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
func (t *testStep) toggleCheck(w *wizard, i int) {
	if i < 0 || i >= len(core.AllChecks) {
		return
	}
	c := core.AllChecks[i]
	if t.skip == nil {
		t.skip = map[core.CheckName]bool{}
	}
	if !t.skip[c] && len(t.checks()) == 1 {
		w.setErr("At least one check must stay on; turn another on first.")
		return
	}
	t.skip[c] = !t.skip[c]
	w.setStatus("")
}

func (t *testStep) enter(w *wizard) tea.Cmd {
	if !t.barReady {
		t.barReady = true
		t.scope = scopeAll
		if len(w.selected) > 0 {
			t.scope = scopeSelected
		}
		t.pageSize = 5
	}
	if w.boxes == nil {
		ms, _ := w.backend.Mailboxes(w.profile.Domain)
		w.boxes = newMailboxList(ms)
	}
	t.loadHistory(w)
	return t.historyTick(w)
}

// targets is what the chosen scope tests, as `mailoauth test` would:
// "all" is the default sender and every assigned mailbox (core.TestTargets).
func (t *testStep) targets(w *wizard) []string {
	switch t.scope {
	case scopeSelected:
		var picked []string
		for _, e := range w.boxes.emails() {
			if w.selected[e] {
				picked = append(picked, e)
			}
		}
		return core.TestTargets(&w.profile, nil, false, picked)
	case scopeAll:
		return core.TestTargets(&w.profile, w.boxes.items, true, nil)
	}
	return core.TestTargets(&w.profile, nil, false, nil)
}

func (t *testStep) scopeLabel(w *wizard) string {
	switch t.scope {
	case scopeSelected:
		return fmt.Sprintf("selected mailboxes (%d)", len(w.selected))
	case scopeAll:
		return fmt.Sprintf("all mailboxes and the default sender (%d)", t.allCount(w))
	}
	return "default sender (" + w.profile.DefaultSender + ")"
}

// allCount is how many mailboxes "all" tests.
func (t *testStep) allCount(w *wizard) int {
	return len(core.TestTargets(&w.profile, w.boxes.items, true, nil))
}

// run starts the checks of mailboxes as a command; events stream back
// through a channel and cancelling the context stops the run.
func (t *testStep) run(w *wizard, mailboxes []string, fresh bool) tea.Cmd {
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
	p, eng, checks := w.profile, w.engine, t.checks()
	done := make(chan tea.Msg, 1)
	t.done = done
	go func() {
		// once the run is superseded (r) or the wizard ends, nobody reads
		// ch: the sends give up with ctx rather than block the workers,
		// which hold IMAP sessions; the results (which carry everything
		// the events did) go to a buffered channel that never blocks
		res := eng.Run(ctx, p, mailboxes, checks, func(ev runEvent) {
			select {
			case ch <- testEventsMsg{gen: gen, events: []runEvent{ev}}:
			case <-ctx.Done():
			}
		})
		done <- testDoneMsg{gen: gen, results: res}
	}()
	return tea.Batch(waitTest(ch, done), w.startSpinner())
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

func (t *testStep) apply(ev runEvent) {
	i, ok := t.pos[ev.Mailbox]
	if !ok {
		return
	}
	r := &t.rows[i]
	switch ev.Kind {
	case evStarted:
		r.state = rowRunning
	case evCheckDone:
		r.state = rowRunning
		if ev.Check != nil {
			if r.checks == nil {
				r.checks = map[core.CheckName]core.CheckResult{}
			}
			r.checks[ev.Check.Name] = *ev.Check
		}
	case evFinished:
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

func (t *testStep) update(w *wizard, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case historyTickMsg:
		return t.historyTicked(w, msg), false
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
			t.apply(runEvent{Kind: evFinished, Mailbox: r.Mailbox, Result: &r})
		}
		t.running, t.cancelFn, t.ran = false, nil, true
		if len(msg.results) > 0 {
			if err := w.backend.SaveResults(w.profile.Domain, msg.results); err != nil {
				t.err = err
			}
			t.loadHistory(w)
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
		if t.moveKey(msg) {
			t.clamp()
			return nil, true
		}
		if t.running {
			return nil, !key.Matches(msg, keyInterrupt, keyEsc)
		}
		switch {
		case key.Matches(msg, w.gkeys.Next):
			if t.ran {
				return w.advance(stepTest), true
			}
			return t.run(w, t.targets(w), true), true
		case key.Matches(msg, keyRun):
			return t.run(w, t.targets(w), true), true
		case key.Matches(msg, keyScope):
			t.scope = (t.scope + 1) % 3
			if t.scope == scopeSelected && len(w.selected) == 0 {
				t.scope = scopeAll
			}
			return nil, true
		case msg.Text >= "1" && msg.Text <= "4" && len(msg.Text) == 1:
			t.toggleCheck(w, int(msg.Text[0]-'1'))
			return nil, true
		case key.Matches(msg, keyRetry):
			var failed []string
			for _, r := range t.rows {
				if r.result != nil && !r.result.OK {
					failed = append(failed, r.mailbox)
				}
			}
			if len(failed) > 0 {
				return t.run(w, failed, false), true
			}
			return nil, true
		}
	}
	return nil, false
}

func (t *testStep) clamp() { t.clampTo(len(t.rows)) }

// setSize fits the table to the rows the view leaves it.
func (t *testStep) setSize(w *wizard, width, height int) {
	if len(t.rows) > 0 {
		t.scrollList = t.fitted(len(t.rows), t.tableRows(w, width, height))
	}
}

// tableRows is how many rows the table gets below the head and above the
// detail of the row under the cursor.
func (t *testStep) tableRows(w *wizard, width, height int) int {
	room := height - lineCount(t.head(w, width)) - 1
	if detail := t.detail(w, width); detail != "" {
		room -= lineCount(detail) + 2
	}
	return room - 1
}

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

func (t *testStep) view(w *wizard, width, height int) string {
	s := w.styles
	out := t.head(w, width)
	if len(t.rows) == 0 {
		token := "a token is minted"
		if w.isOAuthClient() {
			// each mailbox needs its own consent on this path
			token = "each mailbox's stored consent (refresh token) gives an access token"
		}
		out += "\n" + s.Muted.Render(wrap("Press Enter to test "+t.scopeLabel(w)+": "+token+", IMAP and SMTP log in with XOAUTH2, and a message is sent to the mailbox and found again over IMAP. Tab chooses the mailboxes, 1-4 turn checks on or off.", width))
		if w.isOAuthClient() {
			out += "\n\n" + s.Muted.Render(wrap("A mailbox without consent fails with consent_required: esc back to step 5 and press c on it.", width))
		}
		if list := t.historyList(w, width, height-lineCount(out)-2); list != "" {
			out += "\n\n" + list
		}
		return out
	}
	// the table as setSize fitted it
	sl := t.fitted(len(t.rows), t.tableRows(w, width, height))
	out += t.table(w, sl, width, sl.pageSize)
	if detail := t.detail(w, width); detail != "" {
		out += "\n\n" + detail
	}
	return out
}

// head is the title, the choices and, once a run started, its progress.
func (t *testStep) head(w *wizard, width int) string {
	s := w.styles
	out := w.title("Test the mailboxes", "", width) + "\n"
	radio := func(on bool, label string) string {
		if on {
			return s.Selected.Render("● " + label)
		}
		return s.Muted.Render("○ " + label)
	}
	box := func(on bool, n int, label string) string {
		if on {
			return s.Value.Render(fmt.Sprintf("[x] %d %s", n, label))
		}
		return s.Muted.Render(fmt.Sprintf("[ ] %d %s", n, label))
	}
	var cks []string
	for i, c := range core.AllChecks {
		cks = append(cks, box(!t.skip[c], i+1, checkLabels[c]))
	}
	forLine := []string{radio(t.scope == scopeSender, "default sender")}
	if len(w.selected) > 0 {
		forLine = append(forLine, radio(t.scope == scopeSelected, fmt.Sprintf("selected (%d)", len(w.selected))))
	}
	forLine = append(forLine, radio(t.scope == scopeAll, fmt.Sprintf("all (%d)", t.allCount(w))))
	out += s.Label.Render("For    ") + strings.Join(forLine, "  ") + s.Muted.Render("  tab") + "\n"
	out += s.Label.Render("Checks ") + strings.Join(cks, " ") + "\n"
	if len(t.rows) == 0 {
		return out
	}
	passed, failed, done := t.tally()
	total := len(t.rows)
	pct := float64(done) / float64(max(total, 1))
	out += w.progressBar(pct, max(width-14, 10)) + fmt.Sprintf(" %d/%d", done, total) + "\n"
	summary := fmt.Sprintf("%d passed, %d failed", passed, failed)
	sum := s.OK.Render(summary)
	if failed > 0 {
		sum = s.Error.Render(summary)
	}
	if t.running {
		sum = w.spinner.View() + " " + s.Text.Render(summary+fmt.Sprintf(", %d to go", total-done)) + s.Muted.Render("  esc cancel")
	} else if done < total {
		sum += s.Warn.Render(fmt.Sprintf(", %d not run (cancelled)", total-done))
	}
	out += sum + "\n"
	if t.err != nil {
		out += w.errView(t.err, width) + "\n"
	}
	return out
}

// detail is the finding, notes and history of the row under the cursor.
func (t *testStep) detail(w *wizard, width int) string {
	if t.cursor >= len(t.rows) {
		return ""
	}
	s := w.styles
	detail := ""
	r := t.rows[t.cursor]
	if r.result != nil && r.result.Finding != nil {
		// the code as the command line prints it, which the hint
		// above and the README name
		detail = s.Heading.Render(core.SafeText(r.mailbox)) + s.Muted.Render(" ["+string(r.result.Finding.Code)+"]") + "\n" + w.findingView(r.result.Finding, width)
	} else if r.result != nil && len(r.result.Notes) > 0 {
		detail = s.Muted.Render(wrap(sentences(r.result.Notes), width))
	}
	if h := t.historyDetail(w, r.mailbox, width); h != "" {
		detail = strings.TrimPrefix(detail+"\n"+h, "\n")
	}
	return detail
}

// checkHeads are the test table's check column headers, short so the
// address keeps its room at 80 columns; the help spells RT out.
var checkHeads = map[core.CheckName]string{
	core.CheckToken: "TOKEN", core.CheckIMAP: "IMAP", core.CheckSMTP: "SMTP", core.CheckRoundtrip: "RT",
}

// checkColW is a check column's width: its header or "FAIL", and a space
// before the next column.
func checkColW(c core.CheckName, last bool) int {
	w := max(len(checkHeads[c]), len("FAIL"))
	if !last {
		w++
	}
	return w
}

func (t *testStep) table(w *wizard, sl scrollList, width, rows int) string {
	s := w.styles
	colsW := 0
	for i, c := range core.AllChecks {
		colsW += checkColW(c, i == len(core.AllChecks)-1)
	}
	// marker, icon and a space before the address, which takes the rest
	mbW := max(width-4-colsW, 12)
	var b strings.Builder
	head := "    " + padRight("MAILBOX", mbW)
	for i, c := range core.AllChecks {
		head += padRight(checkHeads[c], checkColW(c, i == len(core.AllChecks)-1))
	}
	head = strings.TrimRight(head, " ")
	b.WriteString(s.Label.Render(truncate(head, width)))
	end := min(sl.offset+rows, len(t.rows))
	for i := sl.offset; i < end; i++ {
		r := t.rows[i]
		icon := s.Muted.Render("·")
		switch {
		case r.state == rowRunning:
			icon = w.spinner.View()
		case r.result != nil && r.result.OK:
			icon = s.OK.Render("✓")
		case r.result != nil:
			icon = s.Error.Render("✗")
		}
		name := core.SafeText(r.mailbox) // stored addresses predate the checks
		if ansi.StringWidth(name) > mbW-1 {
			name = truncate(name, mbW-1)
		}
		line := padRight(name, mbW)
		if i == sl.cursor {
			line = s.Selected.Render(line)
		}
		// the marker shows the row without colour (NO_COLOR)
		mark := "  "
		if i == sl.cursor {
			mark = s.Selected.Render("›") + " "
		}
		line = mark + icon + " " + line
		for j, c := range core.AllChecks {
			colW := checkColW(c, j == len(core.AllChecks)-1)
			cell := s.Muted.Render(padRight("-", colW))
			if cr, ok := r.checks[c]; ok {
				if cr.OK {
					cell = s.OK.Render(padRight("ok", colW))
				} else {
					cell = s.Error.Render(padRight("FAIL", colW))
				}
			}
			line += cell
		}
		// never past the edge, however narrow the pane
		line = truncate(line, width)
		b.WriteString("\n" + line)
	}
	return b.String()
}

func (t *testStep) keys(w *wizard) stepKeys {
	nav := []key.Binding{keyUp, keyDown, keyPgUp, keyPgDown}
	if t.running {
		return keyMap(w.gkeys, []key.Binding{keyCancelTest}, nav, false, false, false)
	}
	more := append([]key.Binding{keyScope, keyChkToken, keyChkIMAP, keyChkSMTP, keyChkRound, keyRun, keyRetry}, nav...)
	if !t.ran {
		short := []key.Binding{keyRunChecks, keyScope, keyChecks}
		return keyMap(w.gkeys, short, more, false, true, false)
	}
	short := []key.Binding{w.gkeys.Next, keyRunAgain}
	if _, failed, _ := t.tally(); failed > 0 {
		short = append(short, keyRetry)
	}
	short = append(short, keyScope)
	return keyMap(w.gkeys, short, more, false, false, false)
}

func (t *testStep) dirty() bool  { return false }
func (t *testStep) typing() bool { return false }
func (t *testStep) busy() bool   { return t.running }
func (t *testStep) cancel() {
	if t.cancelFn != nil {
		t.cancelFn()
	}
}

// sentences joins notes as sentences: capitalized, each ending with a period.
func sentences(notes []string) string {
	out := make([]string, 0, len(notes))
	for _, n := range notes {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		n = strings.ToUpper(n[:1]) + n[1:]
		if !strings.HasSuffix(n, ".") {
			n += "."
		}
		out = append(out, n)
	}
	return strings.Join(out, " ")
}
