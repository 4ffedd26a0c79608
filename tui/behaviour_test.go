package tui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailoauth/mailoauth/core"
)

// pendingTimer is a timer the wizard asked for; tests fire it by hand, so
// nothing here waits for a clock.
type pendingTimer struct{ fire func(time.Time) tea.Msg }

// driver runs the root model synchronously: it executes the commands an
// update returns, feeds the wizard's own messages back, keeps timers for
// the test to fire, and records every other message (e.g. the clipboard).
type driver struct {
	t      *testing.T
	m      model
	timers []pendingTimer
	out    []tea.Msg
}

func newDriver(t *testing.T, d deps, w, h int) *driver {
	t.Helper()
	dr := &driver{t: t}
	d.tick = func(_ time.Duration, fn func(time.Time) tea.Msg) tea.Cmd {
		return func() tea.Msg { return pendingTimer{fire: fn} }
	}
	dr.m = newModel(d)
	dr.m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	dr.run(dr.m.w.start())
	return dr
}

func (d *driver) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	switch msg := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			d.run(c)
		}
	case pendingTimer:
		d.timers = append(d.timers, msg)
	default:
		if !strings.HasPrefix(fmt.Sprintf("%T", msg), "tui.") {
			d.out = append(d.out, msg)
			return
		}
		_, next := d.m.Update(msg)
		d.run(next)
	}
}

func (d *driver) press(keys ...tea.KeyPressMsg) {
	for _, k := range keys {
		_, cmd := d.m.Update(k)
		d.run(cmd)
	}
}

// fire fires the oldest pending timer; it reports false when none is left.
func (d *driver) fire() bool {
	if len(d.timers) == 0 {
		return false
	}
	tm := d.timers[0]
	d.timers = d.timers[1:]
	_, cmd := d.m.Update(tm.fire(time.Now()))
	d.run(cmd)
	return true
}

func (d *driver) screen() string { return ansi.Strip(d.m.w.render()) }

func (d *driver) mustShow(s string) {
	d.t.Helper()
	if !strings.Contains(d.screen(), s) {
		d.t.Fatalf("screen lacks %q:\n%s", s, d.screen())
	}
}

func (d *driver) mustNotShow(s string) {
	d.t.Helper()
	if strings.Contains(d.screen(), s) {
		d.t.Fatalf("screen shows %q:\n%s", s, d.screen())
	}
}

func TestKeepCheckingCountsDownRetriesAndStopsWhenVerified(t *testing.T) {
	be := withProfile(acmeProfile(t, 4))
	eng := &fakeEngine{}
	d := newDriver(t, fakeDeps(be, eng, "acme.example"), 80, 24)
	d.mustShow("Authorize the scope")

	d.press(runeKey('k'))
	if runs, _, _ := eng.last(); runs != 1 {
		t.Fatalf("k ran %d verifications, want 1", runs)
	}
	d.mustShow("is not authorized")
	d.mustShow("attempt 2, next check in 5s")
	d.fire()
	d.mustShow("next check in 4s")
	for range 4 {
		d.fire()
	}
	if runs, _, _ := eng.last(); runs != 2 {
		t.Fatalf("after the countdown %d verifications ran, want 2", runs)
	}
	// still failing: the next wait is longer
	d.mustShow("attempt 3, next check in 10s")

	eng.setAuthorized(true)
	for i := 0; i < 10 && d.fire(); i++ {
	}
	if runs, _, _ := eng.last(); runs != 3 {
		t.Fatalf("%d verifications ran, want 3", runs)
	}
	d.mustShow("Verified")
	d.mustNotShow("next check in")
	if d.fire() {
		t.Fatalf("keep checking goes on after the verification succeeded:\n%s", d.screen())
	}
	if runs, _, _ := eng.last(); runs != 3 {
		t.Fatalf("%d verifications ran after success, want 3", runs)
	}
}

func TestKeepCheckingStopsOnK(t *testing.T) {
	be := withProfile(acmeProfile(t, 4))
	eng := &fakeEngine{}
	d := newDriver(t, fakeDeps(be, eng, "acme.example"), 80, 24)
	d.press(runeKey('k'))
	d.mustShow("next check in 5s")
	d.press(runeKey('k'))
	d.mustNotShow("next check in")
	for d.fire() {
	}
	if runs, _, _ := eng.last(); runs != 1 {
		t.Fatalf("%d verifications ran after stopping, want 1", runs)
	}
}

func TestCopyKeysPutTheExactValuesOnTheClipboard(t *testing.T) {
	be := withProfile(acmeProfile(t, 4))
	cred, err := core.ParseCredential(readTestKey(t), core.CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	copied := func(k rune, want string) {
		t.Helper()
		d.out = nil
		d.press(runeKey(k))
		if !slices.Contains(d.out, tea.SetClipboard(want)()) {
			t.Fatalf("%c copied %v, want %q", k, d.out, want)
		}
	}
	copied('c', cred.ClientID)
	d.mustShow("Copied the client ID")
	copied('s', "https://mail.google.com/")
	d.mustShow("Copied the scopes")
	d.press(runeKey('1')) // add Calendar
	copied('s', "https://mail.google.com/,"+core.ScopeCalendar)
}

func TestDeleteMailboxAsksFirst(t *testing.T) {
	be := withProfile(acmeProfile(t, 5))
	_ = be.PutMailboxes("acme.example", []core.Mailbox{
		{Email: "a@acme.example", OwnerKind: core.OwnerUser},
		{Email: "b@acme.example", OwnerKind: core.OwnerUser},
	})
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	d.mustShow("2 mailboxes")
	d.press(runeKey('d'))
	d.mustShow("Delete a@acme.example? y deletes, n keeps it.")
	d.mustShow("y delete • n keep")
	d.press(runeKey('n'))
	d.mustShow("2 mailboxes")
	d.mustNotShow("Delete a@acme.example?")
	d.press(runeKey('d'), runeKey('y'))
	d.mustShow("1 mailbox (1 user)")
	d.mustShow("Deleted a@acme.example")
	d.press(enter())
	d.mustShow("Test the mailboxes")
	if ms, _ := be.Mailboxes("acme.example"); len(ms) != 1 || ms[0].Email != "b@acme.example" {
		t.Fatalf("stored mailboxes %v, want only b@acme.example", ms)
	}
}

func TestTestStepChoosesMailboxesChecksAndRetriesFailed(t *testing.T) {
	be := withProfile(acmeProfile(t, 6))
	_ = be.PutMailboxes("acme.example", []core.Mailbox{
		{Email: "administrator@acme.example", OwnerKind: core.OwnerUser},
		{Email: "broken@acme.example", OwnerKind: core.OwnerWorkgroup},
		{Email: "sales@acme.example", OwnerKind: core.OwnerACD},
	})
	eng := &fakeEngine{authorized: true}
	d := newDriver(t, fakeDeps(be, eng, "acme.example"), 80, 24)
	d.mustShow("● all (3)")

	// only the default sender, only token and IMAP
	d.press(keyCode(tea.KeyTab))
	d.mustShow("● default sender")
	d.press(runeKey('3'), runeKey('4'))
	d.mustShow("[ ] 3 SMTP [ ] 4 round trip")
	d.press(enter())
	_, mbs, checks := eng.last()
	if !slices.Equal(mbs, []string{"administrator@acme.example"}) || !slices.Equal(checks, []core.CheckName{core.CheckToken, core.CheckIMAP}) {
		t.Fatalf("ran %v with %v, want the default sender with token, imap", mbs, checks)
	}
	d.mustShow("1 passed, 0 failed")

	// at least one check stays on
	d.press(runeKey('1'), runeKey('2'))
	d.mustShow("At least one check must stay on")
	d.mustShow("[x] 2 IMAP")

	// all mailboxes, then retry only the failed one
	d.press(keyCode(tea.KeyTab))
	d.mustShow("● all (3)")
	d.press(runeKey('r'))
	d.mustShow("2 passed, 1 failed")
	d.mustShow("f retry failed")
	d.press(runeKey('f'))
	if _, mbs, _ := eng.last(); !slices.Equal(mbs, []string{"broken@acme.example"}) {
		t.Fatalf("retry failed ran %v, want only broken@acme.example", mbs)
	}
	d.mustShow("2 passed, 1 failed")
}

func TestHelpReachableFromEveryScreen(t *testing.T) {
	be := newFakeBackend()
	p := acmeProfile(t, 2)
	p.Credential = nil // the work stands at step 3: back to step 2
	_ = be.SaveProfile(p)
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	d.mustShow("How will the product sign in")
	d.press(keyCode(tea.KeyEscape))
	d.mustShow("Default sender")
	d.mustShow("f1 help")
	// ? in a filled text field is a character
	d.press(runeKey('?'))
	d.mustShow("administrator@acme.example?")
	d.mustNotShow("toggle help")
	// F1 always opens full help
	d.press(keyCode(tea.KeyF1))
	d.mustShow("toggle help (? when the field is empty)")
	d.press(keyCode(tea.KeyF1))
	d.mustNotShow("toggle help")
	// in an empty field ? opens help
	d.press(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	d.press(runeKey('?'))
	d.mustShow("toggle help")
	d.press(runeKey('?'))
	d.mustNotShow("toggle help")

	// outside text fields ? toggles, and full help lists what the short
	// line leaves out
	be2 := newFakeBackend()
	_ = be2.SaveProfile(acmeProfile(t, 4))
	d = newDriver(t, fakeDeps(be2, &fakeEngine{}, "acme.example"), 80, 24)
	d.mustShow("? help")
	d.mustNotShow("± Contacts")
	d.press(runeKey('?'))
	d.mustShow("± Contacts")
	d.mustShow("n continue unverified")
}
