package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// The table of `mailoauth test` (testsink.go) is printed a row at a time
// as each mailbox is done, its columns sized before the run: the table a
// user reads and the paragraphs after it (that the rows come out while
// later mailboxes are still being checked: testcmd_test.go).

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// TestResultTableLayout: the columns line up two spaces apart, MAILBOX as
// wide as the longest address checked (here one whose row is not printed
// yet when the first rows are), each check's column as wide as its widest
// cell, "FAIL 999ms": a duration has at most three digits, so even a check
// that ran for minutes keeps its row aligned. After the table: each failed mailbox's finding and each note, in
// the rows' order, then a blank line.
func TestResultTableLayout(t *testing.T) {
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: &bytes.Buffer{}}
	checks := []core.CheckName{core.CheckToken, core.CheckIMAP}
	targets := []string{"admin@example.test", "a@example.test", "Longest.Name@example.test"}
	k := newResultSink(a, false, newResultTable(targets, checks), nil)
	unknown := &core.Finding{Code: core.CodeUnknownUser, Summary: "a@example.test has no Google Account.", Fix: "Check the spelling."}
	k.add(core.MailboxResult{Mailbox: "admin@example.test", OK: true, Notes: []string{"throttled, retried 1 time"},
		Checks: []core.CheckResult{{Name: core.CheckToken, OK: true, Duration: ms(45)}, {Name: core.CheckIMAP, OK: true, Duration: ms(120)}}})
	k.add(core.MailboxResult{Mailbox: "a@example.test", Finding: unknown,
		Checks: []core.CheckResult{{Name: core.CheckToken, Duration: ms(3)}}})
	k.add(core.MailboxResult{Mailbox: "longest.name@example.test", Finding: &core.Finding{Code: core.CodeTimeout, Summary: "IMAP did not answer.", Fix: "Wait."},
		Checks: []core.CheckResult{{Name: core.CheckToken, OK: true, Duration: ms(9)}, {Name: core.CheckIMAP, Duration: ms(125000)}}})
	k.closeTable()
	want := "" +
		"MAILBOX                    TOKEN       IMAP        RESULT\n" +
		"admin@example.test         ok 45ms     ok 120ms    passed\n" +
		"a@example.test             FAIL 3ms    -           FAILED (unknown_user)\n" +
		"longest.name@example.test  ok 9ms      FAIL 125s   FAILED (timeout)\n" +
		"\nadmin@example.test: note: throttled, retried 1 time\n" +
		"\na@example.test:\n  [unknown_user] a@example.test has no Google Account.\n  Fix: Check the spelling.\n" +
		"\nlongest.name@example.test:\n  [timeout] IMAP did not answer.\n  Fix: Wait.\n" +
		"\n"
	if out.String() != want {
		t.Errorf("the table:\n%s\nwant:\n%s", out.String(), want)
	}

	// Seconds with a decimal under ten; the column as wide as its name.
	out.Reset()
	k = newResultSink(a, false, newResultTable([]string{"a@example.test"}, []core.CheckName{core.CheckRoundtrip}), nil)
	k.add(core.MailboxResult{Mailbox: "a@example.test", OK: true, Checks: []core.CheckResult{{Name: core.CheckRoundtrip, OK: true, Duration: ms(1500)}}})
	if want := "MAILBOX         ROUNDTRIP   RESULT\na@example.test  ok 1.5s     passed\n"; out.String() != want {
		t.Errorf("a round-trip table:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestResultTableParagraphsBounded: however many mailboxes fail, the table
// output keeps the findings and notes of the first maxParagraphs of them
// for after the table, and then says how many more there are and where to
// read them; every mailbox still has its row.
func TestResultTableParagraphsBounded(t *testing.T) {
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: &bytes.Buffer{}}
	const n = maxParagraphs + 3
	var targets []string
	for i := range n {
		targets = append(targets, fmt.Sprintf("user%d@example.test", i+1))
	}
	k := newResultSink(a, false, newResultTable(targets, []core.CheckName{core.CheckToken}), nil)
	for _, m := range targets {
		k.add(core.MailboxResult{Mailbox: m, Finding: &core.Finding{Code: core.CodeDelegationNotAuthorized, Summary: "not authorized for " + m, Fix: "Authorize it."},
			Checks: []core.CheckResult{{Name: core.CheckToken, Duration: ms(7)}}})
	}
	if len(k.paragraphs) != maxParagraphs || k.omitted != 3 {
		t.Fatalf("kept %d paragraphs and counted %d more, want %d and 3", len(k.paragraphs), k.omitted, maxParagraphs)
	}
	k.closeTable()
	s := out.String()
	if rows := strings.Count(s, "FAILED (delegation_not_authorized)\n"); rows != n {
		t.Errorf("%d rows, want one per mailbox (%d)", rows, n)
	}
	last := fmt.Sprintf("user%d@example.test", maxParagraphs)
	if got := strings.Count(s, "  [delegation_not_authorized] "); got != maxParagraphs || !strings.Contains(s, "not authorized for "+last+"\n") ||
		strings.Contains(s, fmt.Sprintf("not authorized for user%d@", maxParagraphs+1)) {
		t.Errorf("%d findings printed, want those of user1 to %s", got, last)
	}
	if want := "\n3 more mailboxes failed or have notes, not shown here: their rows above name each finding's code, `mailoauth history` prints every failing mailbox's finding and `mailoauth test --json` every finding and note.\n\n"; !strings.HasSuffix(s, want) {
		t.Errorf("the output ends %q, want %q", s[max(len(s)-300, 0):], want)
	}
}

// screen is what a terminal shows after s: each "\r" returns to the start
// of the line, and what follows overwrites it.
func screen(s string) []string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		var cur []rune
		at := 0
		for _, r := range l {
			if r == '\r' {
				at = 0
				continue
			}
			if at < len(cur) {
				cur[at] = r
			} else {
				cur = append(cur, r)
			}
			at++
		}
		lines = append(lines, strings.TrimRight(string(cur), " "))
	}
	return lines
}

// TestProgressBarStaysBelowRows: on a terminal the progress bar (stderr)
// and the rows (stdout) share the screen. Each row is written over a
// cleared bar, whole on its own line, and the bar is drawn again below
// it; the bar fits 79 columns even for a long address in a run of
// 100,000, as a wider one wraps and "\r" cannot clear it.
func TestProgressBarStaysBelowRows(t *testing.T) {
	var term bytes.Buffer
	a := &app{stdout: &term, stderr: &term}
	p := newProgressLine(a, 100000, true)
	long := strings.Repeat("x", 60) + "@example.test"
	k := newResultSink(a, false, newResultTable([]string{"user1@example.test", long}, []core.CheckName{core.CheckToken}), p.above)
	p.event(core.Event{Kind: core.EventFinished, Mailbox: long})
	k.add(core.MailboxResult{Mailbox: "user1@example.test", OK: true, Checks: []core.CheckResult{{Name: core.CheckToken, OK: true, Duration: ms(5)}}})
	p.event(core.Event{Kind: core.EventFinished, Mailbox: "user1@example.test"})
	lines := screen(term.String())
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "MAILBOX ") || !strings.HasPrefix(lines[1], "user1@example.test ") || !strings.HasSuffix(lines[1], "passed") {
		t.Fatalf("the screen shows %q, want the header, the row whole, then the bar", lines)
	}
	if bar := lines[2]; !strings.HasPrefix(bar, "[") || !strings.Contains(bar, "] 2/100000 user1@example.test") {
		t.Errorf("the last line %q, want the bar at 2/100000", bar)
	}
	for _, l := range strings.Split(strings.ReplaceAll(term.String(), "\r", "\n"), "\n") {
		if n := len([]rune(l)); strings.HasPrefix(l, "[") && n > 79 {
			t.Errorf("a bar of %d columns: %q", n, l)
		}
	}
	p.done()
	if lines = screen(term.String()); lines[2] != "" {
		t.Errorf("after the run the bar's line shows %q, want it cleared", lines[2])
	}
}
