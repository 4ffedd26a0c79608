package tui

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// snapshot writes v's state as text, deeply: pointers are followed (each
// once), maps in key order; funcs and channels count by whether they are
// set, which is all a view could change about them.
func snapshot(v reflect.Value, b *strings.Builder, seen map[uintptr]bool) {
	switch v.Kind() {
	case reflect.Invalid:
		b.WriteString("nil")
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		fmt.Fprintf(b, "%s(set=%t)", v.Kind(), !v.IsNil())
	case reflect.Pointer:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		if seen[v.Pointer()] {
			b.WriteString("<seen>")
			return
		}
		seen[v.Pointer()] = true
		b.WriteString("&")
		snapshot(v.Elem(), b, seen)
	case reflect.Interface:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		snapshot(v.Elem(), b, seen)
	case reflect.Struct:
		b.WriteString(v.Type().String() + "{")
		for i := range v.NumField() {
			b.WriteString(v.Type().Field(i).Name + ":")
			snapshot(v.Field(i), b, seen)
			b.WriteString(" ")
		}
		b.WriteString("}")
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			b.WriteString("nil")
			return
		}
		b.WriteString("[")
		for i := range v.Len() {
			snapshot(v.Index(i), b, seen)
			b.WriteString(",")
		}
		b.WriteString("]")
	case reflect.Map:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		keys := v.MapKeys()
		ks := make([]string, len(keys))
		byKey := map[string]reflect.Value{}
		for i, k := range keys {
			ks[i] = fmt.Sprint(k)
			byKey[ks[i]] = v.MapIndex(k)
		}
		sort.Strings(ks)
		b.WriteString("map[")
		for _, k := range ks {
			b.WriteString(k + ":")
			snapshot(byKey[k], b, seen)
			b.WriteString(",")
		}
		b.WriteString("]")
	case reflect.String:
		fmt.Fprintf(b, "%q", v.String())
	case reflect.Bool:
		fmt.Fprint(b, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		fmt.Fprint(b, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		fmt.Fprint(b, v.Uint())
	case reflect.Float32, reflect.Float64:
		fmt.Fprint(b, v.Float())
	default:
		fmt.Fprintf(b, "%v", v)
	}
}

// wizardState is everything of the wizard a view could change: its own
// fields and every step's, not the engine and store it was given.
func wizardState(w *wizard) string {
	var b strings.Builder
	seen := map[uintptr]bool{}
	v := reflect.ValueOf(w).Elem()
	for i := range v.NumField() {
		if v.Type().Field(i).Name == "deps" {
			continue
		}
		b.WriteString(v.Type().Field(i).Name + ":")
		snapshot(v.Field(i), &b, seen)
		b.WriteString("\n")
	}
	return b.String()
}

// requirePureView renders the screen twice and fails when either render
// changed the wizard's state.
func requirePureView(t *testing.T, d *driver, what string) {
	t.Helper()
	before := wizardState(d.m.w)
	for i := range 2 {
		_ = d.m.View()
		if after := wizardState(d.m.w); after != before {
			t.Fatalf("%s: render %d changed the state:\n%s", what, i+1, firstDiff(before, after))
		}
	}
}

func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(i-200, 0)
	return "before: …" + a[lo:min(i+200, len(a))] + "…\nafter:  …" + b[lo:min(i+200, len(b))] + "…"
}

func manyMailboxes(n int) []core.Mailbox {
	ms := make([]core.Mailbox, n)
	for i := range ms {
		ms[i] = core.Mailbox{Email: fmt.Sprintf("user%02d@acme.example", i), OwnerKind: core.OwnerUser}
	}
	return ms
}

// TestViewsChangeNoState renders every step, in the states where its view
// has something to fit (a scrolled list, a run's table, a long finding
// scrolled below it, a long summary),
// twice, and compares the wizard before and after.
func TestViewsChangeNoState(t *testing.T) {
	for _, sz := range goldenSizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			be := newFakeBackend()
			_ = be.SaveProfile(acmeProfile(t, 7))
			_ = be.PutMailboxes("acme.example", manyMailboxes(60))
			d := newDriver(t, fakeDeps(be, &fakeEngine{authorized: true}, "acme.example"), sz[0], sz[1])
			for id := stepProfile; id < numSteps; id++ {
				d.run(d.m.w.goTo(id))
				requirePureView(t, d, stepNames[id])
			}

			d.run(d.m.w.goTo(stepMailboxes))
			for range 35 {
				d.press(keyCode(tea.KeyDown))
			}
			requirePureView(t, d, "mailboxes scrolled")
			d.press(runeKey('/'), runeKey('1'))
			requirePureView(t, d, "mailboxes filtered")
			d.press(keyCode(tea.KeyEscape), keyCode(tea.KeyEscape), runeKey('a'))
			requirePureView(t, d, "mailbox form")
			d.press(keyCode(tea.KeyEscape), runeKey('i'))
			requirePureView(t, d, "mailbox import")

			d.run(d.m.w.goTo(stepTest))
			d.press(enter())
			d.mustShow("passed")
			for range 30 {
				d.press(keyCode(tea.KeyDown))
			}
			requirePureView(t, d, "test table scrolled")
			ts := d.m.w.steps[stepTest].(*testStep)
			r := &ts.rows[ts.cursor]
			r.result.OK = false
			r.result.Finding = &core.Finding{Code: "imap_disabled", Summary: "IMAP is disabled.",
				Fix: strings.Repeat("A long fix sentence that goes on. ", 150)}
			d.m.w.fit()
			d.press(runeKey('J'), runeKey('J'))
			if ts.details.YOffset() != 2 {
				t.Fatalf("J scrolled the long finding to line %d, not 2", ts.details.YOffset())
			}
			requirePureView(t, d, "test details scrolled")

			d.run(d.m.w.goTo(stepSummary))
			for range 80 {
				d.press(keyCode(tea.KeyDown))
			}
			requirePureView(t, d, "summary scrolled past its end")
			d.press(runeKey('?'))
			requirePureView(t, d, "full help")
			d.press(runeKey('?'), runeKey('x'))
			for range 30 {
				d.press(keyCode(tea.KeyDown))
			}
			requirePureView(t, d, "summary proxy page scrolled")
		})
	}
}

// TestConsentViewsChangeNoState does the same for an OAuth client's
// consent step and the mailboxes' consent column.
func TestConsentViewsChangeNoState(t *testing.T) {
	be := newFakeBackend()
	_ = be.SaveProfile(oauthProfile(t, 7))
	_ = be.PutMailboxes("acme.example", manyMailboxes(30))
	d := newDriver(t, fakeDeps(be, &fakeEngine{authorized: true}, "acme.example"), 80, 24)
	for _, id := range []stepID{stepCredentials, stepAuthorize, stepMailboxes, stepTest, stepSummary} {
		d.run(d.m.w.goTo(id))
		requirePureView(t, d, d.m.w.stepName(id))
	}
}

// TestOverlayViewsChangeNoState does the same for the screens the wizard
// draws instead of a step: the upgrade assistant's intro, the dialog
// asking to quit with unsaved edits, and the terminal-too-small notice,
// each over a step whose own view has state to fit.
func TestOverlayViewsChangeNoState(t *testing.T) {
	be := newFakeBackend()
	_ = be.SaveProfile(acmeProfile(t, 7))
	_ = be.PutMailboxes("acme.example", manyMailboxes(60))

	up := fakeDeps(be, &fakeEngine{}, "acme.example")
	up.upgrade = true
	d := newDriver(t, up, 80, 24)
	d.mustShow("Upgrade from passwords to OAuth")
	requirePureView(t, d, "upgrade intro")
	d.m.Update(tea.WindowSizeMsg{Width: 100, Height: 12})
	d.mustShow("needs at least")
	requirePureView(t, d, "upgrade intro on a terminal too small")

	d = newDriver(t, fakeDeps(be, &fakeEngine{authorized: true}, "acme.example"), 80, 24)
	askToQuitUnsaved(d)
	requirePureView(t, d, "quit with unsaved changes")
	d.press(runeKey('n'))

	d.run(d.m.w.goTo(stepMailboxes))
	for range 35 {
		d.press(keyCode(tea.KeyDown))
	}
	for _, sz := range [][2]int{{79, 24}, {80, 23}, {30, 8}} {
		d.m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		d.mustShow("needs at least")
		requirePureView(t, d, fmt.Sprintf("mailboxes scrolled on a %dx%d terminal", sz[0], sz[1]))
	}
}

// askToQuitUnsaved edits the domain step's field and quits, which asks
// first (ctrl+c: in a text field q is a character).
func askToQuitUnsaved(d *driver) {
	d.t.Helper()
	d.run(d.m.w.goTo(stepDomain))
	d.press(runeKey('x'), tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	d.mustShow("Quit with unsaved changes?")
}
