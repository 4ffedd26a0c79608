package tui

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// screenLines is the content column of a frame (right of the step list),
// each line trimmed: what a user would select and copy.
func screenLines(frame string) []string {
	var out []string
	for _, l := range strings.Split(frame, "\n") {
		if _, right, ok := strings.Cut(l, "│"); ok {
			l = right
		}
		out = append(out, strings.TrimSpace(l))
	}
	return out
}

// flat is the content column's text as one line, for sentences that wrap.
func flat(frame string) string {
	return strings.Join(strings.Fields(strings.Join(screenLines(frame), " ")), " ")
}

// wholeOnALine reports whether a line of the frame holds s unbroken.
func wholeOnALine(frame, s string) bool {
	for _, l := range screenLines(frame) {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestScopesLineShowsEveryScopeWholeAndSandboxKeyAuthorizesThem(t *testing.T) {
	be := withProfile(acmeProfile(t, 4))
	var mu sync.Mutex
	var authorized []string
	d := fakeDeps(be, &fakeEngine{authorized: true}, "acme.example")
	d.sandbox = &sandboxHooks{Domain: "sandbox.example", Authorize: func(_ string, scopes []string) {
		mu.Lock()
		authorized = append([]string(nil), scopes...)
		mu.Unlock()
	}}
	dr := newDriver(t, d, 80, 24)
	dr.mustShow("Authorize the scope")
	dr.press(runeKey('1'), runeKey('2')) // Calendar and Contacts
	scr := dr.screen()
	for _, s := range []string{core.ScopeMail, core.ScopeCalendar, core.ScopeContacts} {
		if !wholeOnALine(scr, s) {
			t.Fatalf("the Scopes value does not show %s whole on one line:\n%s", s, scr)
		}
	}
	// the lines read back into exactly the value to paste
	var joined string
	for _, l := range screenLines(scr) {
		l = strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(l, "Scopes")), "s copy")
		if strings.HasPrefix(l, "https://") {
			joined += strings.TrimSpace(l)
		}
	}
	want := strings.Join([]string{core.ScopeMail, core.ScopeCalendar, core.ScopeContacts}, ",")
	if joined != want {
		t.Fatalf("the Scopes lines join to %q, want %q:\n%s", joined, want, scr)
	}
	dr.press(runeKey('a'))
	mu.Lock()
	got := authorized
	mu.Unlock()
	if !slices.Equal(got, []string{core.ScopeMail, core.ScopeCalendar, core.ScopeContacts}) {
		t.Fatalf("a authorized %v, want the three scopes shown", got)
	}
	dr.mustShow("Verified")
}

// Against the sandbox, which checks the delegation's scopes as Google does:
// with Calendar ticked, a authorizes what is shown and the token comes.
func TestSandboxAuthorizeWithCalendarVerifies(t *testing.T) {
	sb, st, _ := sandboxWithStore(t, sandbox.Options{Domain: "demo.example", Users: 1})
	h := start(t, New(Config{Store: st, Actor: "wizard test", Sandbox: sb}), 80, 24)
	toAuthorizeStep(h)
	h.walk(runeKey('1'), "[x] 1 Calendar", runeKey('a'), "Verified")
	if !strings.Contains(strings.ReplaceAll(flat(h.p.screen()), ", ", ","), "for "+core.ScopeMail+","+core.ScopeCalendar+" in the sandbox") {
		t.Errorf("the note does not name the scopes authorized:\n%s", h.p.screen())
	}
	h.final()
}

func TestWrapKeepsCommandsAddressesAndPathsWhole(t *testing.T) {
	text := "Run mailoauth setup --domain example.test --sender admin@example.test --key /var/lib/mailoauth/keys/service-account.json then verify."
	for width := 10; width <= 80; width++ {
		got := wrap(text, width)
		for _, tok := range strings.Fields(text) {
			if len(tok) <= width && !strings.Contains(got, tok) {
				t.Fatalf("width %d broke %q:\n%s", width, tok, got)
			}
		}
		for _, l := range strings.Split(got, "\n") {
			if ansiWidth(l) > width {
				t.Fatalf("width %d: line %q is wider", width, l)
			}
		}
	}
	// a token wider than the line breaks where a path or URL rejoins
	u := "https://accounts.google.com/o/oauth2/auth?client_id=123-abc.apps.googleusercontent.com&redirect_uri=http%3A%2F%2F127.0.0.1"
	for _, l := range strings.Split(wrap(u, 40), "\n")[:2] {
		if last := l[len(l)-1]; !strings.ContainsRune("/?&=.-", rune(last)) {
			t.Fatalf("the URL was broken after %q, not at a / ? & = . or -:\n%s", last, wrap(u, 40))
		}
	}
	if strings.ReplaceAll(wrap(u, 40), "\n", "") != u {
		t.Fatal("wrapping lost characters of the URL")
	}
}

func TestSummaryShowsTokenCommandWholeAndCopiesIt(t *testing.T) {
	be := withProfile(acmeProfile(t, 7))
	_ = be.SaveResults("acme.example", []core.MailboxResult{{Mailbox: "administrator@acme.example", OK: true}})
	d := fakeDeps(be, &fakeEngine{authorized: true}, "acme.example")
	db := "/tmp/mailoauth-wizard-Xk3-9aQ/mailoauth.db"
	d.dbPath = db
	dr := newDriver(t, d, 80, 40)
	dr.mustShow("t copy command")
	cmd := "mailoauth --db " + db + " token administrator@acme.example"
	scr := dr.screen()
	for _, tok := range strings.Fields(cmd) {
		if !wholeOnALine(scr, tok) {
			t.Fatalf("the token command's %q is broken across lines:\n%s", tok, scr)
		}
	}
	dr.out = nil
	dr.press(runeKey('t'))
	if !slices.Contains(dr.out, tea.SetClipboard(cmd)()) {
		t.Fatalf("t copied %v, want %q", dr.out, cmd)
	}
	dr.mustShow("Copied the token command")
	dr.press(keyCode(tea.KeyDown))
	dr.mustNotShow("Copied the token command")
}

func TestSummaryHeaderSaysWhenTheLastTestFailed(t *testing.T) {
	be := withProfile(acmeProfile(t, 7))
	_ = be.SaveResults("acme.example", []core.MailboxResult{
		{Mailbox: "administrator@acme.example", OK: true},
		{Mailbox: "broken@acme.example", Finding: core.NewFinding(core.CodeIMAPDisabled, "IMAP is disabled.", "Enable it.")},
	})
	dr := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	if want := "acme.example is configured, but 1 mailbox failed its last test: press r to re-test, 5 to edit mailboxes"; !strings.Contains(flat(dr.screen()), want) {
		t.Fatalf("the header does not say %q:\n%s", want, dr.screen())
	}
	dr.mustNotShow("Done:")
	dr.mustShow("1 passed, 1 failed")
}

func TestCopiedNoticeGoesWithTheNextKey(t *testing.T) {
	be := withProfile(acmeProfile(t, 4))
	dr := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	dr.press(runeKey('c'))
	dr.mustShow("Copied the client ID to the clipboard.")
	dr.press(runeKey('1'))
	dr.mustNotShow("Copied the client ID")
}

func TestSelectedRowIsMarkedWithoutColour(t *testing.T) {
	be := withProfile(acmeProfile(t, 6))
	_ = be.PutMailboxes("acme.example", []core.Mailbox{
		{Email: "administrator@acme.example", OwnerKind: core.OwnerUser},
		{Email: "sales@acme.example", OwnerKind: core.OwnerACD},
	})
	dr := newDriver(t, fakeDeps(be, &fakeEngine{authorized: true}, "acme.example"), 80, 24) // NO_COLOR
	dr.press(enter())
	dr.mustShow("2 passed, 0 failed")
	dr.mustShow("› ✓ administrator@")
	dr.press(keyCode(tea.KeyDown))
	dr.mustShow("› ✓ sales@acme.example")
	dr.mustShow("  ✓ administrator@")
}

// The test step's "all" is `mailoauth test --all`: the default sender too.
func TestAllMailboxesIncludesTheDefaultSender(t *testing.T) {
	be := withProfile(acmeProfile(t, 6))
	_ = be.PutMailboxes("acme.example", []core.Mailbox{{Email: "sales@acme.example", OwnerKind: core.OwnerACD}})
	eng := &fakeEngine{authorized: true}
	dr := newDriver(t, fakeDeps(be, eng, "acme.example"), 80, 24)
	dr.mustShow("● all (2)")
	dr.press(enter())
	if _, mbs, _ := eng.last(); !slices.Equal(mbs, []string{"administrator@acme.example", "sales@acme.example"}) {
		t.Fatalf("all ran %v, want the default sender and sales@", mbs)
	}
}

// blockingEngine runs until its context ends, as a check stuck on a slow
// server does.
type blockingEngine struct{ started chan struct{} }

func (e *blockingEngine) Run(ctx context.Context, req core.RunRequest) (core.RunReport, error) {
	close(e.started)
	<-ctx.Done()
	out := make([]core.MailboxResult, len(req.Mailboxes))
	for i, m := range req.Mailboxes {
		out[i] = core.MailboxResult{Mailbox: m}
	}
	return core.RunReport{Results: out}, nil
}

func TestCancelledVerificationSaysCancelledNotTimeout(t *testing.T) {
	be := withProfile(acmeProfile(t, 4))
	nc := true
	eng := &blockingEngine{started: make(chan struct{})}
	h := start(t, newModel(deps{backend: be, engine: eng, profile: "acme.example", noColor: &nc}), 80, 24)
	h.waitFor("Authorize the scope")
	h.send(enter())
	h.waitFor("Minting a token")
	h.send(keyCode(tea.KeyEscape))
	h.waitFor("The check was cancelled before it finished.")
	if scr := h.p.screen(); strings.Contains(strings.ToLower(scr), "timed out") || strings.Contains(scr, "Verified") {
		t.Fatalf("a cancel is shown as something else:\n%s", scr)
	}
	h.final()
}

// chattyEngine sends more events than the test step buffers and reports
// when its run has returned.
type chattyEngine struct{ returned chan struct{} }

func (e *chattyEngine) Run(ctx context.Context, req core.RunRequest) (core.RunReport, error) {
	defer close(e.returned)
	for range 5000 {
		req.OnEvent(core.Event{Kind: core.EventStarted, Mailbox: req.Mailboxes[0]})
	}
	return core.RunReport{Results: []core.MailboxResult{{Mailbox: req.Mailboxes[0], OK: true}}}, nil
}

// A run nobody reads any more (superseded by r, or the wizard ended) must
// end: its workers hold IMAP sessions.
func TestAbandonedTestRunDoesNotBlockItsWorkers(t *testing.T) {
	be := withProfile(acmeProfile(t, 6))
	eng := &chattyEngine{returned: make(chan struct{})}
	m := newModel(fakeDeps(be, &fakeEngine{}, "acme.example"))
	w := m.w
	w.engine = eng
	w.setup.profile = acmeProfile(t, 6)
	w.setup.boxes = newMailboxList(nil)
	ts := newTestStep(w.common)
	_ = ts.run([]string{"administrator@acme.example"}, true) // its reader is never run
	ts.cancel()
	select {
	case <-eng.returned:
	case <-time.After(30 * time.Second): // a deadline for a hang, not a speed goal
		t.Fatal("the abandoned run's event sends block its workers")
	}
}

// cancelSavingEngine runs until its context ends, then saves each mailbox
// as cancelled through req.Results, as core.Run does.
type cancelSavingEngine struct{ returned chan struct{} }

func (e *cancelSavingEngine) Run(ctx context.Context, req core.RunRequest) (core.RunReport, error) {
	defer close(e.returned)
	<-ctx.Done()
	var out []core.MailboxResult
	for _, m := range req.Mailboxes {
		out = append(out, core.MailboxResult{Mailbox: m, Notes: []string{"cancelled"}})
	}
	return core.RunReport{Results: out, SaveErr: req.Results.SaveResults(req.Profile.Domain, out)}, nil
}

// A run superseded by another (r) records nothing: the step never shows
// its results, and they must not land over the newer run's.
func TestSupersededTestRunSavesNothing(t *testing.T) {
	be := withProfile(acmeProfile(t, 6))
	m := newModel(fakeDeps(be, &fakeEngine{}, "acme.example"))
	w := m.w
	old := &cancelSavingEngine{returned: make(chan struct{})}
	w.engine = old
	w.setup.profile = acmeProfile(t, 6)
	w.setup.boxes = newMailboxList(nil)
	ts := newTestStep(w.common)
	_ = ts.run([]string{"administrator@acme.example"}, true)
	w.engine = &fakeEngine{authorized: true}
	_ = ts.run([]string{"sales@acme.example"}, true)
	select {
	case <-old.returned:
	case <-time.After(30 * time.Second): // a deadline for a hang, not a speed goal
		t.Fatal("the superseded run did not end")
	}
	rs, _ := be.Results("acme.example")
	if r, ok := rs["administrator@acme.example"]; ok {
		t.Fatalf("the superseded run saved %+v", r)
	}
}
