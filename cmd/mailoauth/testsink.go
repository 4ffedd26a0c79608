package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mailoauth/mailoauth/core"
)

// maxParagraphs is how many mailboxes' findings and notes the table output
// keeps for the paragraphs after the table. Each is about half a KB, so
// the table stays small however many mailboxes fail; past it the output
// says how many more there are and where to read them, and each one's
// row still names its finding's code.
const maxParagraphs = 1000

// resultSink takes a bulk test's results in input order as they are done
// (core.RunRequest.OnResult; core.Run saves them) and prints each at once:
// a JSON line (--json) or a row of the table. Neither holds the results,
// so a run over 100,000 mailboxes stays small: the table keeps only what
// the paragraphs after it print (failed mailboxes' findings and notes),
// for at most maxParagraphs mailboxes.
type resultSink struct {
	a   *app
	enc *json.Encoder // nil: table output
	tab *resultTable
	// above runs a write to stdout with the progress line out of its way.
	above func(write func())

	rows       int
	paragraphs []paragraph
	omitted    int   // mailboxes with a finding or a note past maxParagraphs
	err        error // writing the output failed
}

// paragraph is what the table output prints about a mailbox after the
// table: its finding if it failed, and its notes.
type paragraph struct {
	mailbox string
	finding *core.Finding
	notes   []string
}

// newResultSink prints JSON lines (asJSON) or the table tab, each write
// made through above (nil: straight to stdout).
func newResultSink(a *app, asJSON bool, tab *resultTable, above func(func())) *resultSink {
	if above == nil {
		above = func(write func()) { write() }
	}
	k := &resultSink{a: a, tab: tab, above: above}
	if asJSON {
		k.enc = json.NewEncoder(a.stdout)
	}
	return k
}

func (k *resultSink) add(r core.MailboxResult) {
	if k.enc != nil {
		if err := k.enc.Encode(jsonResult(r)); err != nil && k.err == nil {
			k.err = err
		}
		return
	}
	var b strings.Builder
	if k.rows == 0 {
		k.tab.writeHeader(&b)
	}
	k.tab.writeRow(&b, r)
	k.rows++
	k.above(func() {
		if _, err := io.WriteString(k.a.stdout, b.String()); err != nil && k.err == nil {
			k.err = err
		}
	})
	failed := !r.OK && r.Finding != nil
	if !failed && len(r.Notes) == 0 {
		return
	}
	if len(k.paragraphs) == maxParagraphs {
		k.omitted++
		return
	}
	p := paragraph{mailbox: r.Mailbox, notes: r.Notes}
	if failed {
		p.finding = r.Finding
	}
	k.paragraphs = append(k.paragraphs, p)
}

// closeTable prints what follows the table's rows: each failed mailbox's
// finding and each note, in the rows' order, then a blank line.
func (k *resultSink) closeTable() {
	a := k.a
	if k.rows == 0 {
		var b strings.Builder
		k.tab.writeHeader(&b)
		_, _ = io.WriteString(a.stdout, b.String())
	}
	for _, p := range k.paragraphs {
		if p.finding != nil {
			fmt.Fprintf(a.stdout, "\n%s:\n", p.mailbox)
			printFinding(a, p.finding)
		}
		for _, n := range p.notes {
			fmt.Fprintf(a.stdout, "\n%s: note: %s\n", p.mailbox, n)
		}
	}
	if k.omitted > 0 {
		fmt.Fprintf(a.stdout, "\n%d more mailboxes failed or have notes, not shown here: their rows above name each finding's code, `mailoauth history` prints every failing mailbox's finding and `mailoauth test --json` every finding and note.\n", k.omitted)
	}
	if k.rows > 0 {
		fmt.Fprintln(a.stdout)
	}
}

// resultTable lays out the table of `mailoauth test` a row at a time,
// its column widths fixed before the first result so that each row can be
// printed as its mailbox is done: MAILBOX as wide as the longest address
// to check, each check's column as wide as its widest cell can be (see
// checkCell). Columns are two spaces apart, as text/tabwriter laid out the
// whole table once it was complete.
type resultTable struct {
	checks []core.CheckName
	width  []int // of each column but the last (RESULT), in runes as text/tabwriter counted
}

// widestCheckCell is the widest cell checkCell makes.
const widestCheckCell = "FAIL 999ms"

// newResultTable sizes the table of a run over targets.
func newResultTable(targets []string, checks []core.CheckName) *resultTable {
	t := &resultTable{checks: checks, width: []int{utf8.RuneCountInString("MAILBOX")}}
	for _, m := range targets {
		// A result names its mailbox as core.Tester.Check does: trimmed
		// and lowercased.
		t.width[0] = max(t.width[0], utf8.RuneCountInString(m), utf8.RuneCountInString(strings.ToLower(strings.TrimSpace(m))))
	}
	for _, c := range checks {
		t.width = append(t.width, max(len(c), len(widestCheckCell)))
	}
	return t
}

func (t *resultTable) writeHeader(b *strings.Builder) {
	cells := []string{"MAILBOX"}
	for _, c := range t.checks {
		cells = append(cells, strings.ToUpper(string(c)))
	}
	t.writeLine(b, append(cells, "RESULT"))
}

func (t *resultTable) writeRow(b *strings.Builder, r core.MailboxResult) {
	cells := []string{r.Mailbox}
	for _, c := range t.checks {
		cell := "-"
		if cr, ok := r.Check(c); ok {
			cell = checkCell(cr)
		}
		cells = append(cells, cell)
	}
	res := "passed"
	if !r.OK {
		res = "FAILED"
		if r.Finding != nil {
			res += " (" + string(r.Finding.Code) + ")"
		}
	}
	t.writeLine(b, append(cells, res))
}

// writeLine writes one line of cells, each but the last padded to its
// column's width and two spaces; a cell wider than its column (a check
// slower than its deadline allows) pushes the rest of its line along.
func (t *resultTable) writeLine(b *strings.Builder, cells []string) {
	for i, cell := range cells {
		b.WriteString(cell)
		if i < len(cells)-1 {
			b.WriteString(strings.Repeat(" ", max(t.width[i]-utf8.RuneCountInString(cell), 0)+2))
		}
	}
	b.WriteByte('\n')
}

// checkCell is a check's cell in the table: ok or FAIL and its duration,
// in at most three digits ("45ms", "1.5s", "20s") so that every cell fits
// the column sized before the run whatever the check's deadline.
func checkCell(cr core.CheckResult) string {
	verdict := "FAIL"
	if cr.OK {
		verdict = "ok"
	}
	d := cr.Duration
	switch {
	case d < time.Second:
		return fmt.Sprintf("%s %dms", verdict, d.Milliseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%s %.1fs", verdict, d.Seconds())
	}
	return fmt.Sprintf("%s %ds", verdict, int64(d.Seconds()))
}
