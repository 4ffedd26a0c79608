package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// TestLongFindingPages: a finding too long for the test step's room was
// cut under a "↓ more (pgdn)" marker, but pgdn moved the table's cursor to
// the next mailbox, so the end of the fix could not be read. pgdn now
// pages the screen to it, pgup back; with a finding that fits, pgdn pages
// the table as before.
func TestLongFindingPages(t *testing.T) {
	be := newFakeBackend()
	_ = be.SaveProfile(acmeProfile(t, 7))
	_ = be.PutMailboxes("acme.example", manyMailboxes(12))
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	d.run(d.m.w.goTo(stepTest))
	d.press(enter())
	d.mustShow("13 failed")
	ts := d.m.w.steps[stepTest].(*testStep)
	short := ts.rows[0].result.Finding
	long := *short
	long.Fix = strings.Repeat("A long fix sentence that goes on. ", 25) + "The end of the fix."
	ts.rows[0].result.Finding = &long
	d.m.w.fit()
	d.mustShow("↓ more (pgdn)")
	d.mustNotShow("The end of the fix.")

	d.press(keyCode(tea.KeyPgDown))
	d.mustShow("The end of the fix.")
	d.mustShow("↑ more (pgup)")
	if ts.cursor != 0 {
		t.Errorf("pgdn moved the cursor to row %d; it pages the screen", ts.cursor)
	}
	d.press(keyCode(tea.KeyPgUp))
	d.mustShow("Test the mailboxes")
	d.mustNotShow("The end of the fix.")

	ts.rows[0].result.Finding = short
	d.m.w.fit()
	d.press(keyCode(tea.KeyPgDown))
	if ts.cursor == 0 {
		t.Error("pgdn did not page the table when the finding fits")
	}
}
