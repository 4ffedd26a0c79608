package tui

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// probe wraps the root model and keeps its latest frame, so tests wait on
// what the screen shows rather than on the renderer's diff stream.
type probe struct {
	inner tea.Model
	mu    *sync.Mutex
	frame *string
}

func (p probe) Init() tea.Cmd { return p.inner.Init() }

func (p probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	p.inner, cmd = p.inner.Update(msg)
	f := ansi.Strip(p.inner.View().Content)
	p.mu.Lock()
	*p.frame = f
	p.mu.Unlock()
	return p, cmd
}

func (p probe) View() tea.View { return p.inner.View() }

func (p probe) screen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return *p.frame
}

type harness struct {
	t  *testing.T
	tm *teatest.TestModel
	p  probe
}

func start(t *testing.T, m tea.Model, w, h int) *harness {
	t.Helper()
	p := probe{inner: m, mu: &sync.Mutex{}, frame: new(string)}
	tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	return &harness{t: t, tm: tm, p: p}
}

// waitFor waits until the screen contains s.
func (h *harness) waitFor(s string) {
	h.t.Helper()
	h.waitUntil(s, func(scr string) bool { return strings.Contains(scr, s) })
}

// hangGuard is how long waitUntil waits before failing. The wait ends as
// soon as the screen shows what is awaited; the bound only turns a hang
// into a failure, and a shorter one (once 3 s) fails a correct wizard
// under -race on a busy two-core machine, or a whole run of the test step.
const hangGuard = 60 * time.Second

// waitUntil waits until ok(screen) holds, for at most hangGuard.
func (h *harness) waitUntil(what string, ok func(string) bool) {
	h.t.Helper()
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		if ok(h.p.screen()) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("screen never showed %s; last screen:\n%s", what, h.p.screen())
}

// mustShow fails the test unless the screen shows every one of want; what
// names the check.
func (h *harness) mustShow(what string, want ...string) {
	h.t.Helper()
	scr := h.p.screen()
	for _, w := range want {
		if !strings.Contains(scr, w) {
			h.t.Fatalf("%s: the screen lacks %q:\n%s", what, w, scr)
		}
	}
}

// mustNotShow fails the test if the screen shows s; what names the check.
func (h *harness) mustNotShow(what, s string) {
	h.t.Helper()
	if scr := h.p.screen(); strings.Contains(scr, s) {
		h.t.Fatalf("%s: the screen shows %q:\n%s", what, s, scr)
	}
}

func (h *harness) send(msgs ...tea.Msg) {
	for _, m := range msgs {
		h.tm.Send(m)
	}
}

func (h *harness) typeText(s string) { h.tm.Type(s) }

// typed is text a walk types, as a user would.
type typed string

// walk plays a script on the wizard, in order: a string is waited for on
// the screen, typed text is typed, and any other message is sent.
func (h *harness) walk(script ...any) {
	h.t.Helper()
	for _, s := range script {
		switch s := s.(type) {
		case string:
			h.waitFor(s)
		case typed:
			h.typeText(string(s))
		default:
			h.send(s)
		}
	}
}

// final quits and returns the final frame, ANSI stripped.
func (h *harness) final() string {
	h.t.Helper()
	if err := h.tm.Quit(); err != nil {
		h.t.Fatal(err)
	}
	fm := h.tm.FinalModel(h.t, teatest.WithFinalTimeout(5*time.Second))
	return ansi.Strip(fm.View().Content)
}

func enter() tea.KeyPressMsg { return tea.KeyPressMsg{Code: tea.KeyEnter} }

func runeKey(r rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: r, Text: string(r)} }

func keyCode(c rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: c} }

func ctrlKey(r rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: r, Mod: tea.ModCtrl} }

func itoa(n int) string { return strconv.Itoa(n) }

func ansiWidth(s string) int { return ansi.StringWidth(s) }
