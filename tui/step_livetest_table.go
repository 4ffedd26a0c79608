package tui

// The test step's screen: choices, progress, the results table and the
// detail of the row under the cursor.

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/mailoauth/mailoauth/core"
)

// minTableRows is how many rows of the table a detail too long for the
// room leaves it: the cursor's row and one on each side.
const minTableRows = 3

// SetSize fits the table and the details of the row under the cursor to
// the room. The table takes the rows the whole details leave it; when
// that is fewer than minTableRows, it keeps those and the details get the
// rest as a viewport that scrolls, with a line saying there is more.
func (t *testStep) SetSize(width, height int) {
	t.setRoom(width, height)
	t.tooTall = false
	if len(t.rows) == 0 {
		t.details.SetContentLines(nil)
		return
	}
	var lines []string
	if d := t.detail(width); d != "" {
		lines = strings.Split(d, "\n")
	}
	// below the head: the table's header, its rows and, after a blank
	// line, the details; whole details leave a spare line at the end
	room := height - lineCount(t.head(width)) - 1
	rows, page := room-1, 0
	if len(lines) > 0 {
		rows, page = room-len(lines)-2, len(lines)
	}
	if keep := min(len(t.rows), minTableRows); rows < keep && len(lines) > 0 {
		// the blank line and the marker below the details' page
		rows, page = keep, room-keep-2
		// no room for even a line of them: the wizard pages the screen
		t.tooTall = page < 1
		page = max(page, 1)
	}
	t.scrollList = t.fitted(len(t.rows), rows)
	t.details.SetWidth(width)
	t.details.SetHeight(page)
	t.details.SetContentLines(lines)
}

// overflows reports a screen taller than its room even with the details
// scrolling (a terminal too short for the table's rows and a line of
// them): pgup/pgdn then page the screen (layout.go), as its marker says,
// rather than the table.
func (t *testStep) overflows() bool { return t.tooTall }

func (t *testStep) View() string {
	width, height := t.roomW, t.roomH
	s := t.styles
	out := t.head(width)
	if len(t.rows) == 0 {
		token := "a token is minted"
		if t.setup.isOAuthClient() {
			// each mailbox needs its own consent on this path
			token = "each mailbox's stored consent (refresh token) gives an access token"
		}
		out += "\n" + s.Muted.Render(wrap("Press "+keyTitle(t.keys.Test.RunChecks)+" to test "+t.scopeLabel()+": "+token+", IMAP and SMTP log in with XOAUTH2, and a message is sent to the mailbox and found again over IMAP. "+keyTitle(t.keys.Test.Scope)+" chooses the mailboxes, "+hint(t.keys.Test.Checks, "turn checks on or off")+".", width))
		if t.setup.isOAuthClient() {
			out += "\n\n" + s.Muted.Render(wrap("A mailbox without consent fails with consent_required: "+hint(t.keys.Global.Back, "back to step 5")+" and press "+keyName(t.keys.Mailboxes.Consent)+" on it.", width))
		}
		if list := t.historyList(width, height-lineCount(out)-2); list != "" {
			out += "\n\n" + list
		}
		return out
	}
	// the table and the details as SetSize fitted them
	out += t.table(t.scrollList, width, t.pageSize)
	if t.details.TotalLineCount() > 0 {
		out += "\n\n" + viewportPage(t.details, t.keys.Test.DetailsDown, t.keys.Test.DetailsUp, s.Muted)
	}
	return out
}

// detailsScroll reports whether the details are taller than their page.
func (t *testStep) detailsScroll() bool { return t.details.TotalLineCount() > t.details.Height() }

// head is the title, the choices and, once a run started, its progress.
func (t *testStep) head(width int) string {
	s := t.styles
	out := t.title("Test the mailboxes", "", width) + "\n"
	radio := func(on bool, label string) string {
		if on {
			return s.Selected.Render("● " + label)
		}
		return s.Muted.Render("○ " + label)
	}
	box := func(on bool, key, label string) string {
		if on {
			return s.Value.Render("[x] " + key + " " + label)
		}
		return s.Muted.Render("[ ] " + key + " " + label)
	}
	var cks []string
	for i, c := range core.AllChecks {
		// each check's key turns it on or off (keys.Test.Checks)
		cks = append(cks, box(!t.skip[c], t.keys.Test.Checks.Keys()[i], checkLabels[c]))
	}
	forLine := []string{radio(t.scope == scopeSender, "default sender")}
	if len(t.setup.selected) > 0 {
		forLine = append(forLine, radio(t.scope == scopeSelected, fmt.Sprintf("selected (%d)", len(t.setup.selected))))
	}
	forLine = append(forLine, radio(t.scope == scopeAll, fmt.Sprintf("all (%d)", t.allCount())))
	out += s.Label.Render("For    ") + strings.Join(forLine, "  ") + s.Muted.Render("  "+keyName(t.keys.Test.Scope)) + "\n"
	out += s.Label.Render("Checks ") + strings.Join(cks, " ") + "\n"
	if len(t.rows) == 0 {
		return out
	}
	passed, failed, done := t.tally()
	total := len(t.rows)
	pct := float64(done) / float64(max(total, 1))
	out += s.progressBar(max(width-14, 10)).ViewAs(pct) + fmt.Sprintf(" %d/%d", done, total) + "\n"
	summary := fmt.Sprintf("%d passed, %d failed", passed, failed)
	sum := s.OK.Render(summary)
	if failed > 0 {
		sum = s.Error.Render(summary)
	}
	if t.running {
		sum = t.spinner.View() + " " + s.Text.Render(summary+fmt.Sprintf(", %d to go", total-done)) + s.Muted.Render("  "+hint(t.keys.Test.Cancel, ""))
	} else if done < total {
		sum += s.Warn.Render(fmt.Sprintf(", %d not run (cancelled)", total-done))
	}
	out += sum + "\n"
	if t.err != nil {
		out += t.errView(t.err, width) + "\n"
	}
	return out
}

// detail is the finding, notes and history of the row under the cursor.
func (t *testStep) detail(width int) string {
	if t.cursor >= len(t.rows) {
		return ""
	}
	s := t.styles
	detail := ""
	r := t.rows[t.cursor]
	if r.result != nil && r.result.Finding != nil {
		// the code as the command line prints it, which the hint
		// above and the README name
		detail = s.Heading.Render(core.SafeText(r.mailbox)) + s.Muted.Render(" ["+string(r.result.Finding.Code)+"]") + "\n" + t.findingView(r.result.Finding, width)
	} else if r.result != nil && len(r.result.Notes) > 0 {
		detail = s.Muted.Render(wrap(sentences(r.result.Notes), width))
	}
	if h := t.historyDetail(r.mailbox, width); h != "" {
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

func (t *testStep) table(sl scrollList, width, rows int) string {
	s := t.styles
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
			icon = t.spinner.View()
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
