package tui

import (
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// longFindings is the test step at 80x24 after a run in which every one
// of 13 mailboxes failed, the first two with a fix far too long for the
// room the table leaves.
func longFindings(t *testing.T) (*driver, *testStep) {
	t.Helper()
	be := newFakeBackend()
	_ = be.SaveProfile(acmeProfile(t, 7))
	_ = be.PutMailboxes("acme.example", manyMailboxes(12))
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	d.run(d.m.w.goTo(stepTest))
	d.press(enter())
	d.mustShow("13 failed")
	ts := d.m.w.steps[stepTest].(*testStep)
	for i, end := range []string{"The end of the fix.", "The end of user00's fix."} {
		long := *ts.rows[i].result.Finding
		long.Fix = strings.Repeat("A long fix sentence that goes on. ", 25) + end
		ts.rows[i].result.Finding = &long
	}
	d.m.w.fit()
	return d, ts
}

// TestLongFindingScrollsBesideTheTable: a finding too long for the room
// took the table's rows and made the whole screen page, so the table was
// lost while reading the fix. The table keeps the cursor's row and its
// neighbours, the finding scrolls below it with J/K (or shift+↓/↑), and
// its marker names them.
func TestLongFindingScrollsBesideTheTable(t *testing.T) {
	d, ts := longFindings(t)
	d.mustShow("› ✗ administrator@acme.example")
	d.mustShow("✗ user00@acme.example")
	d.mustShow("✗ user01@acme.example")
	d.mustShow("administrator@acme.example [delegation_not_authorized]")
	d.mustShow("Fix: A long fix sentence")
	d.mustShow("↓ more (J): ")
	d.mustShow("J/K details") // the help line names the keys
	d.mustNotShow("The end of the fix.")
	d.mustNotShow("↓ more (pgdn)") // the screen itself fits

	for range 30 {
		if strings.Contains(d.screen(), "The end of the fix.") {
			break
		}
		d.press(runeKey('J'))
	}
	d.mustShow("The end of the fix.")
	d.mustShow("↑ more (K)")
	d.mustShow("› ✗ administrator@acme.example")
	d.mustNotShow("[delegation_not_authorized]") // scrolled off the top
	if ts.cursor != 0 {
		t.Errorf("J moved the table's cursor to row %d; it scrolls the finding", ts.cursor)
	}

	d.press(runeKey('K'))
	d.mustShow("↓ more (J): 1 more line(s)")
	d.mustNotShow("The end of the fix.")
	d.press(tea.KeyPressMsg{Code: tea.KeyDown, Mod: tea.ModShift})
	d.mustShow("The end of the fix.")
	if ts.cursor != 0 {
		t.Errorf("shift+↓ moved the table's cursor to row %d; it scrolls the finding", ts.cursor)
	}
}

// TestLongFindingShowsFromItsTopOnAnotherRow: moving the cursor shows the
// next row's finding from its first line, not at the offset the last one
// was read to; pgdn pages the table, as it does with a short finding.
func TestLongFindingShowsFromItsTopOnAnotherRow(t *testing.T) {
	d, ts := longFindings(t)
	d.press(runeKey('J'), runeKey('J'), runeKey('J'))
	d.mustNotShow("administrator@acme.example [delegation_not_authorized]")

	for _, move := range []struct {
		key rune
		row string
	}{{'j', "user00@acme.example"}, {'k', "administrator@acme.example"}} {
		d.press(runeKey(move.key))
		d.mustShow("› ✗ " + move.row)
		d.mustShow(move.row + " [delegation_not_authorized]") // its first line
		d.mustShow("↓ more (J): ")
	}

	d.press(keyCode(tea.KeyPgDown))
	if ts.cursor != minTableRows {
		t.Errorf("pgdn moved the cursor to row %d, not a page of the table (%d rows) down", ts.cursor, minTableRows)
	}
	d.mustShow("› ✗ user02@acme.example")
	d.mustNotShow("↓ more (J)") // its finding is short
	d.mustNotShow("J/K details")
}

// TestTooShortForTheFindingPagesTheScreen: when even the table's few rows
// and a line of the finding do not fit (a long error above the table),
// the screen is taller than its room and pgdn pages it, as its marker
// says, rather than moving the cursor.
func TestTooShortForTheFindingPagesTheScreen(t *testing.T) {
	d, ts := longFindings(t)
	ts.err = errors.New(strings.Repeat("The results were not saved. ", 20))
	d.m.w.fit()
	d.mustShow("↓ more (pgdn)")
	d.press(keyCode(tea.KeyPgDown))
	d.mustShow("↑ more (pgup)")
	if ts.cursor != 0 {
		t.Errorf("pgdn moved the cursor to row %d; it pages the screen", ts.cursor)
	}
}
