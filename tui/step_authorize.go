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
	*common
	room
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

const maxBackoff = 5 * time.Minute

func newAuthorizeStep(c *common) *authorizeStep { return &authorizeStep{common: c} }

func (a *authorizeStep) Init() tea.Cmd {
	a.calendar, a.contacts = false, false
	for _, s := range a.setup.profile.ScopeList() {
		a.calendar = a.calendar || s == core.ScopeCalendar
		a.contacts = a.contacts || s == core.ScopeContacts
	}
	a.scopesWas = a.setup.profile.ScopeList()
	if a.setup.cred == nil && len(a.setup.profile.Credential) > 0 {
		a.setup.cred, _ = a.setup.profile.LoadCredential()
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

func (a *authorizeStep) clientID() string {
	if a.setup.cred == nil {
		return ""
	}
	return a.setup.cred.ClientID
}

// verify mints a token for the default sender; authorize first plays the
// sandbox's Admin console.
func (a *authorizeStep) verify(sandboxAuthorize bool) tea.Cmd {
	a.cancel()
	a.setup.profile.Scopes = a.scopes()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancelFn, a.running = cancel, true
	a.gen++
	a.countdown = 0
	gen, p, eng := a.gen, a.setup.profile, a.engine
	req := a.runRequest(p, []string{p.DefaultSender}, []core.CheckName{core.CheckToken})
	clientID := a.clientID()
	var authorize func(string, []string)
	if sandboxAuthorize && a.sandbox != nil {
		authorize = a.sandbox.Authorize
	}
	run := func() tea.Msg {
		note := ""
		if authorize != nil {
			// exactly the scopes on the screen, as an admin pastes them
			authorize(clientID, p.Scopes)
			note = "Authorized client " + clientID + " for " + strings.Join(p.Scopes, ",") + " in the sandbox Admin console."
		}
		rep, _ := eng.Run(ctx, req) // an error is each result's finding
		var r core.MailboxResult
		if len(rep.Results) > 0 {
			r = rep.Results[0]
		}
		if ctx.Err() != nil && !r.OK {
			// cancelled by the user (esc), not timed out: core's finding
			r = core.MailboxResult{Mailbox: p.DefaultSender, Finding: core.Diagnose(ctx.Err(),
				core.DiagContext{Domain: p.Domain, Scopes: p.Scopes, Endpoints: p.Endpoints, Check: core.CheckToken})}
		}
		return verifyDoneMsg{gen: gen, result: r, note: note}
	}
	return tea.Batch(run, a.startSpinner())
}

func (a *authorizeStep) Update(msg tea.Msg) (tea.Cmd, bool) {
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
			return a.nextTick(), false
		}
		return nil, false
	case countdownMsg:
		if msg.gen != a.gen || !a.keep || a.running {
			return nil, false
		}
		a.countdown--
		if a.countdown <= 0 {
			return a.verify(false), false
		}
		return a.nextTick(), false
	case tea.KeyPressMsg:
		if a.running {
			return nil, !key.Matches(msg, a.keys.Global.Interrupt, a.keys.Global.Esc)
		}
		switch {
		case key.Matches(msg, a.keys.Global.Next):
			if a.verified {
				return a.save(), true
			}
			return a.verify(false), true
		case key.Matches(msg, a.keys.Authorize.Verify):
			return a.verify(false), true
		case key.Matches(msg, a.keys.Authorize.SandboxAuth) && a.sandbox != nil:
			return a.verify(true), true
		case key.Matches(msg, a.keys.Authorize.CopyID):
			a.setNotice("Copied the client ID to the clipboard.")
			return tea.SetClipboard(a.clientID()), true
		case key.Matches(msg, a.keys.Authorize.CopyLink), key.Matches(msg, a.keys.Authorize.OpenLink):
			return a.link(key.Matches(msg, a.keys.Authorize.OpenLink)), true
		case key.Matches(msg, a.keys.Authorize.CopyScopes):
			a.setNotice("Copied the scopes to the clipboard.")
			return tea.SetClipboard(strings.Join(a.scopes(), ",")), true
		case key.Matches(msg, a.keys.Authorize.Calendar):
			a.calendar = !a.calendar
			a.verified = false
		case key.Matches(msg, a.keys.Authorize.Contacts):
			a.contacts = !a.contacts
			a.verified = false
		case key.Matches(msg, a.keys.Authorize.Keep):
			a.keep = !a.keep
			a.attempt = 0
			if a.keep {
				return a.verify(false), true
			}
			a.countdown = 0
			a.gen++
		case key.Matches(msg, a.keys.Authorize.Skip):
			return a.save(), true
		case key.Matches(msg, a.keys.Global.Esc) && a.keep:
			a.keep, a.countdown = false, 0
			a.gen++
		default:
			return nil, false
		}
		return nil, true
	}
	return nil, false
}

func (a *authorizeStep) nextTick() tea.Cmd {
	gen := a.gen
	tick := a.tick
	if tick == nil {
		tick = tea.Tick
	}
	return tick(time.Second, func(time.Time) tea.Msg { return countdownMsg{gen: gen} })
}

func (a *authorizeStep) save() tea.Cmd {
	a.keep = false
	a.gen++
	a.setup.profile.Scopes = a.scopes()
	a.scopesWas = a.setup.profile.Scopes
	return nextStep(stepAuthorize)
}

func (a *authorizeStep) View() string {
	width := a.roomW
	s := a.styles
	out := a.title("Authorize the scope (domain-wide delegation)", core.DelegationSteps(), width) + "\n\n"
	lw := 10
	out += a.copyable("Client ID", orDefault(a.clientID(), "(load a key first)"), hint(a.keys.Authorize.CopyID, "copy"), lw, width) + "\n"
	// the whole scope string, wrapped only after its commas
	out += a.copyable("Scopes", strings.Join(a.scopes(), ","), hint(a.keys.Authorize.CopyScopes, "copy"), lw, width) + "\n"
	box := func(on bool) string {
		if on {
			return "[x]"
		}
		return "[ ]"
	}
	out += s.Muted.Render(fmt.Sprintf("%s %s %s Calendar   %s %s Contacts", strings.Repeat(" ", lw),
		box(a.calendar), keyName(a.keys.Authorize.Calendar), box(a.contacts), keyName(a.keys.Authorize.Contacts))) + "\n"
	if id := a.clientID(); id != "" {
		out += a.linkView(id, lw, width) + "\n"
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
		out += a.spinner.View() + " Minting a token for " + a.setup.profile.DefaultSender + "…  " + s.Muted.Render(hint(a.keys.Global.Esc, ""))
	case a.result != nil && a.result.OK:
		out += s.OK.Render("✓ Verified: a token was minted for "+a.setup.profile.DefaultSender+".") + "\n" +
			s.Muted.Render("Press "+keyTitle(a.keys.Global.Next)+" to continue.")
	case a.result != nil:
		f := a.result.Finding
		if f == nil {
			f = core.TokenNotMintedFinding(a.setup.profile.DefaultSender)
		}
		out += a.findingView(linkShown(f, a.clientID(), a.scopes(), a.keys.Authorize.OpenLink), width)
		if !a.keep {
			hints := []string{hint(a.keys.Authorize.Keep, "keeps checking"), hint(a.keys.Authorize.Verify, "verifies again"), hint(a.keys.Authorize.Skip, "continues unverified")}
			if a.sandbox != nil {
				hints = append([]string{hint(a.keys.Authorize.SandboxAuth, "authorizes in the sandbox Admin console")}, hints...)
			}
			out += "\n" + s.Muted.Render(wrap(strings.Join(hints, " · "), width))
		}
	default:
		out += s.Muted.Render(wrap("Press "+keyTitle(a.keys.Authorize.VerifyEnter)+" to verify: the wizard mints a token for "+a.setup.profile.DefaultSender+".", width))
	}
	if a.keep && !a.running && a.countdown > 0 {
		out += "\n" + s.Warn.Render(fmt.Sprintf("Keep checking: attempt %d, next check in %ds", a.attempt+1, a.countdown)) + s.Muted.Render("  ("+hint(a.keys.Authorize.Keep, "stop")+")")
	}
	return out
}

func (a *authorizeStep) ShortHelp() []key.Binding  { return a.helpKeyMap().short }
func (a *authorizeStep) FullHelp() [][]key.Binding { return a.helpKeyMap().full }

func (a *authorizeStep) helpKeyMap() stepKeys {
	if a.running {
		return a.keyMap([]key.Binding{a.keys.Global.Esc}, nil, false, false, false)
	}
	next := a.keys.Global.Next
	if !a.verified {
		next = a.keys.Authorize.VerifyEnter
	}
	short := []key.Binding{next}
	more := []key.Binding{a.keys.Authorize.CopyID, a.keys.Authorize.CopyScopes, a.keys.Authorize.CopyLink, a.keys.Authorize.OpenLink, a.keys.Authorize.Verify, a.keys.Authorize.Keep, a.keys.Authorize.Calendar, a.keys.Authorize.Contacts, a.keys.Authorize.Skip}
	switch {
	case a.sandbox != nil && !a.verified:
		// the demo's next move, named as the issue asks
		short = append(short, a.keys.Authorize.SandboxAuth, a.keys.Authorize.Copy)
	case a.verified:
		short = append(short, a.keys.Authorize.Copy)
	default:
		short = append(short, a.keys.Authorize.Keep, a.keys.Authorize.Copy)
	}
	return a.keyMap(short, more, false, a.verified, false)
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

func (a *authorizeStep) SetSize(width, height int) { a.setRoom(width, height) }
