package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// authorizeStep shows what to enter in the Admin console for domain-wide
// delegation and verifies it by minting a token for the default sender.
type authorizeStep struct {
	calendar, contacts bool
	running            bool
	cancelFn           context.CancelFunc
	gen                int
	result             *core.MailboxResult
	verified           bool
	note               string
	// keep checking
	keep      bool
	attempt   int
	countdown int
	scopesWas []string
}

type verifyDoneMsg struct {
	gen    int
	result core.MailboxResult
	note   string
}

type countdownMsg struct{ gen int }

var (
	keyCopy        = b([]string{"c", "s"}, "c/s", "copy")
	keyCopyID      = b([]string{"c"}, "c", "copy client ID")
	keyCopyScopes  = b([]string{"s"}, "s", "copy scopes")
	keyCalendar    = b([]string{"1"}, "1", "± Calendar")
	keyContacts    = b([]string{"2"}, "2", "± Contacts")
	keyVerify      = b([]string{"v"}, "v", "verify")
	keyKeep        = b([]string{"k"}, "k", "keep checking")
	keySkip        = b([]string{"n"}, "n", "continue unverified")
	keySandboxAuth = b([]string{"a"}, "a", "authorize in sandbox Admin console")
)

const maxBackoff = 5 * time.Minute

func (a *authorizeStep) enter(w *wizard) tea.Cmd {
	a.calendar, a.contacts = false, false
	for _, s := range w.profile.ScopeList() {
		a.calendar = a.calendar || s == core.ScopeCalendar
		a.contacts = a.contacts || s == core.ScopeContacts
	}
	a.scopesWas = w.profile.ScopeList()
	if w.cred == nil && len(w.profile.Credential) > 0 {
		w.cred, _ = w.profile.LoadCredential()
	}
	return nil
}

func (a *authorizeStep) scopes() []string {
	s := []string{core.ScopeMail}
	if a.calendar {
		s = append(s, core.ScopeCalendar)
	}
	if a.contacts {
		s = append(s, core.ScopeContacts)
	}
	return s
}

func (a *authorizeStep) clientID(w *wizard) string {
	if w.cred == nil {
		return ""
	}
	return w.cred.ClientID
}

// verify mints a token for the default sender; authorize first plays the
// sandbox's Admin console.
func (a *authorizeStep) verify(w *wizard, sandboxAuthorize bool) tea.Cmd {
	a.cancel()
	w.profile.Scopes = a.scopes()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancelFn, a.running = cancel, true
	a.gen++
	a.countdown = 0
	gen, p, eng := a.gen, w.profile, w.engine
	clientID := a.clientID(w)
	var authorize func(string, []string)
	if sandboxAuthorize && w.sandbox != nil {
		authorize = w.sandbox.Authorize
	}
	run := func() tea.Msg {
		note := ""
		if authorize != nil {
			// exactly the scopes on the screen, as an admin pastes them
			authorize(clientID, p.Scopes)
			note = "Authorized client " + clientID + " for " + strings.Join(p.Scopes, ",") + " in the sandbox Admin console."
		}
		rs := eng.Run(ctx, p, []string{p.DefaultSender}, []core.CheckName{core.CheckToken}, nil)
		var r core.MailboxResult
		if len(rs) > 0 {
			r = rs[0]
		}
		if ctx.Err() != nil && !r.OK {
			// cancelled by the user (esc), not timed out: core's finding
			r = core.MailboxResult{Mailbox: p.DefaultSender, Finding: core.Diagnose(ctx.Err(),
				core.DiagContext{Domain: p.Domain, Scopes: p.Scopes, Endpoints: p.Endpoints, Check: core.CheckToken})}
		}
		return verifyDoneMsg{gen: gen, result: r, note: note}
	}
	return tea.Batch(run, w.startSpinner())
}

func (a *authorizeStep) update(w *wizard, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case verifyDoneMsg:
		if msg.gen != a.gen {
			return nil, false
		}
		a.running, a.cancelFn = false, nil
		r := msg.result
		a.result = &r
		a.note = msg.note
		a.verified = r.OK
		if r.OK {
			a.keep = false
			a.attempt = 0
			return nil, false
		}
		if a.keep {
			a.attempt++
			d := 5 * time.Second << min(a.attempt-1, 6)
			if d > maxBackoff {
				d = maxBackoff
			}
			a.countdown = int(d / time.Second)
			return a.tick(w), false
		}
		return nil, false
	case countdownMsg:
		if msg.gen != a.gen || !a.keep || a.running {
			return nil, false
		}
		a.countdown--
		if a.countdown <= 0 {
			return a.verify(w, false), false
		}
		return a.tick(w), false
	case tea.KeyPressMsg:
		if a.running {
			return nil, !key.Matches(msg, keyInterrupt, keyEsc)
		}
		switch {
		case key.Matches(msg, w.gkeys.Next):
			if a.verified {
				return a.save(w), true
			}
			return a.verify(w, false), true
		case key.Matches(msg, keyVerify):
			return a.verify(w, false), true
		case key.Matches(msg, keySandboxAuth) && w.sandbox != nil:
			return a.verify(w, true), true
		case key.Matches(msg, keyCopyID):
			w.setNotice("Copied the client ID to the clipboard.")
			return tea.SetClipboard(a.clientID(w)), true
		case key.Matches(msg, keyCopyLink), key.Matches(msg, keyOpenLink):
			return a.link(w, key.Matches(msg, keyOpenLink)), true
		case key.Matches(msg, keyCopyScopes):
			w.setNotice("Copied the scopes to the clipboard.")
			return tea.SetClipboard(strings.Join(a.scopes(), ",")), true
		case key.Matches(msg, keyCalendar):
			a.calendar = !a.calendar
			a.verified = false
		case key.Matches(msg, keyContacts):
			a.contacts = !a.contacts
			a.verified = false
		case key.Matches(msg, keyKeep):
			a.keep = !a.keep
			a.attempt = 0
			if a.keep {
				return a.verify(w, false), true
			}
			a.countdown = 0
			a.gen++
		case key.Matches(msg, keySkip):
			return a.save(w), true
		case key.Matches(msg, keyEsc) && a.keep:
			a.keep, a.countdown = false, 0
			a.gen++
		default:
			return nil, false
		}
		return nil, true
	}
	return nil, false
}

func (a *authorizeStep) tick(w *wizard) tea.Cmd {
	gen := a.gen
	tick := w.tick
	if tick == nil {
		tick = tea.Tick
	}
	return tick(time.Second, func(time.Time) tea.Msg { return countdownMsg{gen: gen} })
}

func (a *authorizeStep) save(w *wizard) tea.Cmd {
	a.keep = false
	a.gen++
	w.profile.Scopes = a.scopes()
	a.scopesWas = w.profile.Scopes
	return w.advance(stepAuthorize)
}

func (a *authorizeStep) view(w *wizard, width, height int) string {
	s := w.styles
	out := w.title("Authorize the scope (domain-wide delegation)", core.DelegationSteps(), width) + "\n\n"
	lw := 10
	out += w.copyable("Client ID", orDefault(a.clientID(w), "(load a key first)"), "c copy", lw, width) + "\n"
	// the whole scope string, wrapped only after its commas
	out += w.copyable("Scopes", strings.Join(a.scopes(), ","), "s copy", lw, width) + "\n"
	box := func(on bool) string {
		if on {
			return "[x]"
		}
		return "[ ]"
	}
	out += s.Muted.Render(fmt.Sprintf("%s %s 1 Calendar   %s 2 Contacts", strings.Repeat(" ", lw), box(a.calendar), box(a.contacts))) + "\n"
	if id := a.clientID(w); id != "" {
		out += a.linkView(w, id, lw, width) + "\n"
	}
	if a.result == nil {
		out += s.Muted.Render(wrap("Google notes the change can take from minutes to hours to take effect.", width)) + "\n"
	}
	out += "\n"

	if a.note != "" && !a.running {
		out += s.Muted.Render(wrap(a.note, width)) + "\n"
	}
	switch {
	case a.running:
		out += w.spinner.View() + " Minting a token for " + w.profile.DefaultSender + "…  " + s.Muted.Render(helpText(keyEsc))
	case a.result != nil && a.result.OK:
		out += s.OK.Render("✓ Verified: a token was minted for "+w.profile.DefaultSender+".") + "\n" +
			s.Muted.Render("Press Enter to continue.")
	case a.result != nil:
		f := a.result.Finding
		if f == nil {
			f = core.NewFinding(core.CodeTokenFailed, "No token could be minted for "+w.profile.DefaultSender+".", "Check the client ID and scopes in the Admin console.")
		}
		out += w.findingView(linkShown(f, a.clientID(w), a.scopes()), width)
		if !a.keep {
			hint := "k keeps checking · v verifies again · n continues unverified"
			if w.sandbox != nil {
				hint = "a authorizes in the sandbox Admin console · " + hint
			}
			out += "\n" + s.Muted.Render(wrap(hint, width))
		}
	default:
		out += s.Muted.Render(wrap("Press Enter to verify: the wizard mints a token for "+w.profile.DefaultSender+".", width))
	}
	if a.keep && !a.running && a.countdown > 0 {
		out += "\n" + s.Warn.Render(fmt.Sprintf("Keep checking: attempt %d, next check in %ds", a.attempt+1, a.countdown)) + s.Muted.Render("  (k stop)")
	}
	return out
}

func (a *authorizeStep) keys(w *wizard) stepKeys {
	if a.running {
		return keyMap(w.gkeys, []key.Binding{keyEsc}, nil, false, false, false)
	}
	next := w.gkeys.Next
	if !a.verified {
		next = keyVerifyEnter
	}
	short := []key.Binding{next}
	more := []key.Binding{keyCopyID, keyCopyScopes, keyCopyLink, keyOpenLink, keyVerify, keyKeep, keyCalendar, keyContacts, keySkip}
	switch {
	case w.sandbox != nil && !a.verified:
		// the demo's next move, named as the issue asks
		short = append(short, keySandboxAuth, keyCopy)
	case a.verified:
		short = append(short, keyCopy)
	default:
		short = append(short, keyKeep, keyCopy)
	}
	return keyMap(w.gkeys, short, more, false, a.verified, false)
}

func (a *authorizeStep) dirty() bool {
	return strings.Join(a.scopes(), ",") != strings.Join(a.scopesWas, ",")
}
func (a *authorizeStep) typing() bool { return false }
func (a *authorizeStep) busy() bool   { return a.running }
func (a *authorizeStep) cancel() {
	if a.cancelFn != nil {
		a.cancelFn()
	}
}
