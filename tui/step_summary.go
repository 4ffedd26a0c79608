package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// summaryStep shows what was configured and what to do next in the host
// product; from here the admin re-tests or edits a step.
type summaryStep struct {
	passed, failed, tested int
	boxes, consented       int
	err                    error
	offset                 int
	proxy                  proxyPage // for products that only know passwords
}

var (
	keyRetest = b([]string{"r"}, "r", "re-test")
	keyEditSt = b([]string{"2", "3", "4", "5"}, "2-5", "edit step")
	keyFinish = b([]string{"enter"}, "enter", "finish")
	keyScroll = b([]string{"up", "down"}, "↑↓", "scroll")
	// the values a host product needs pasted, copied whole (OSC 52)
	keyCopyToken    = b([]string{"t"}, "t", "copy command")
	keyCopyClientID = b([]string{"i"}, "i", "copy client ID")
	keyCopyCallback = b([]string{"u"}, "u", "copy callback URL")
)

func (s *summaryStep) enter(w *wizard) tea.Cmd {
	if w.cred == nil && len(w.profile.Credential) > 0 {
		w.cred, _ = w.profile.LoadCredential()
	}
	w.loadUpgrade()
	if w.boxes != nil {
		s.boxes = len(w.boxes.items)
	} else if ms, err := w.backend.Mailboxes(w.profile.Domain); err == nil {
		s.boxes = len(ms)
	}
	s.consented = 0
	if w.cred != nil && w.cred.Kind == core.KindOAuthClient {
		if cs, err := w.backend.ConsentStates(w.profile.Domain, w.cred.ClientID); err == nil {
			for _, c := range cs {
				if c.Consented {
					s.consented++
				}
			}
		}
	}
	s.passed, s.failed, s.tested = 0, 0, 0
	rs, err := w.backend.Results(w.profile.Domain)
	s.err = err
	for _, r := range rs {
		s.tested++
		if r.OK {
			s.passed++
		} else {
			s.failed++
		}
	}
	if w.profile.WizardStep < int(numSteps) {
		w.profile.WizardStep = int(numSteps)
		if note, err := w.saveProfile(); err == nil && note != "" {
			w.setStatus(note)
		}
	}
	return nil
}

func (s *summaryStep) update(w *wizard, msg tea.Msg) (tea.Cmd, bool) {
	if _, made := msg.(proxyPasswordMsg); s.proxy.open || made {
		return s.proxy.update(w, msg)
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, false
	}
	switch {
	case key.Matches(k, keyFinish):
		return tea.Quit, true
	case key.Matches(k, keyProxy):
		s.proxy.enter(w)
		return nil, true
	case key.Matches(k, keyRetest):
		return goToStepThen(stepTest, runTestsMsg{}), true
	case key.Matches(k, keyEditSt):
		return w.goTo(stepID(k.Code - '1')), true
	case key.Matches(k, keyCopyToken):
		w.setNotice("Copied the token command to the clipboard.")
		return tea.SetClipboard(tokenCommand(w)), true
	case key.Matches(k, keyCopyClientID) && w.cred != nil && w.cred.Kind == core.KindOAuthClient:
		w.setNotice("Copied the client ID to the clipboard.")
		return tea.SetClipboard(w.cred.ClientID), true
	case key.Matches(k, keyCopyCallback) && w.cred != nil && w.cred.Kind == core.KindOAuthClient:
		w.setNotice("Copied the callback URL to the clipboard.")
		return tea.SetClipboard(core.HostSettings(&w.profile, w.cred).CallbackURL), true
	case key.Matches(k, keyDown):
		s.offset++
		return nil, true
	case key.Matches(k, keyUp):
		s.offset = max(0, s.offset-1)
		return nil, true
	}
	return nil, false
}

// cmdPrefix is how the summary's commands start: the demo's store is a
// temporary file, which the commands must be told with --db.
func cmdPrefix(w *wizard) string {
	if w.sandbox != nil && w.sandbox.DBPath != "" {
		return "mailoauth --db " + w.sandbox.DBPath + " "
	}
	return "mailoauth "
}

// tokenCommand is the command that prints a fresh access token for the
// default sender, as the summary shows it and t copies it.
func tokenCommand(w *wizard) string {
	return cmdPrefix(w) + "token " + w.profile.DefaultSender
}

// headline says how the profile stands: configured, or configured with
// mailboxes that failed their last test (and what to press).
func (s *summaryStep) headline(w *wizard) string {
	d := w.profile.Domain
	switch {
	case s.failed == 1:
		return d + " is configured, but 1 mailbox failed its last test: press r to re-test, 5 to edit mailboxes"
	case s.failed > 1:
		return fmt.Sprintf("%s is configured, but %d mailboxes failed their last test: press r to re-test, 5 to edit mailboxes", d, s.failed)
	case s.tested == 0:
		return d + " is configured, but not tested yet: press r to test it"
	}
	return "Done: " + d + " is configured and passed its last test"
}

func (s *summaryStep) view(w *wizard, width, height int) string {
	if s.proxy.open {
		return s.proxy.view(w, width, height)
	}
	st := w.styles
	lines := s.lines(w, width)
	if over := len(lines) - height + 1; over > 0 {
		off := min(s.offset, over) // as setSize keeps it
		lines = lines[off : off+height-1]
		if off < over {
			lines = append(lines, st.Muted.Render("↓ more (j / ↓)"))
		} else {
			lines = append(lines, st.Muted.Render("↑ top (k / ↑)"))
		}
	}
	return strings.Join(lines, "\n")
}

// setSize keeps the scroll offset within the summary's lines.
func (s *summaryStep) setSize(w *wizard, width, height int) {
	if s.proxy.open {
		return
	}
	s.offset = max(0, min(s.offset, len(s.lines(w, width))-height+1))
}

// lines is the whole summary, line by line.
func (s *summaryStep) lines(w *wizard, width int) []string {
	st := w.styles
	p := w.profile
	lw := 12
	var b strings.Builder
	b.WriteString(w.title(s.headline(w), "", width) + "\n\n")
	b.WriteString(w.kv("Sender", p.DefaultSender, lw) + "\n")
	oauth := w.cred != nil && w.cred.Kind == core.KindOAuthClient
	if c := w.cred; c != nil && oauth {
		b.WriteString(w.kv("Key", c.Kind.Describe(), lw) + "\n")
	} else if c != nil {
		b.WriteString(w.kv("Key", c.Kind.Describe(), lw) + "\n")
		b.WriteString(w.kvWrap("Client ID", c.ClientID, lw, width) + "\n")
		if c.ClientEmail != "" {
			b.WriteString(w.kvWrap("Account", c.ClientEmail, lw, width) + "\n")
		}
		b.WriteString(w.kvWrap("Fingerprint", c.Fingerprint, lw, width) + "\n")
	}
	b.WriteString(w.kv("Scopes", strings.Join(p.ScopeList(), ","), lw) + "\n")
	boxes := fmt.Sprintf("%d assigned", s.boxes)
	if oauth {
		boxes += fmt.Sprintf(", %d consented", s.consented)
	}
	b.WriteString(w.kv("Mailboxes", boxes, lw) + "\n")
	if w.upgrade {
		b.WriteString(w.upgradeStatus(s.boxes, width))
	}
	if s.tested > 0 {
		res := fmt.Sprintf("%d passed, %d failed", s.passed, s.failed)
		if s.failed > 0 {
			res = st.Error.Render(res)
		} else {
			res = st.OK.Render(res)
		}
		b.WriteString(w.kv("Last test", res, lw) + "\n")
	} else {
		b.WriteString(w.kv("Last test", st.Warn.Render("not run yet (r runs it)"), lw) + "\n")
	}
	hs := core.HostSettings(&p, w.cred)
	if oauth {
		c := w.cred
		b.WriteString("\n" + st.Heading.Render("In the host product's OAuth settings (Webex, Creatio)") + "\n")
		b.WriteString(w.copyable("Client ID", c.ClientID, "i copy", lw, width) + "\n")
		b.WriteString(w.kvWrap("Secret", c.Fingerprint+" (the secret itself: export --include-secrets)", lw, width) + "\n")
		b.WriteString(w.copyable("Callback URL", hs.CallbackURL, "u copy", lw, width) + "\n")
		b.WriteString(w.kvWrap("Auth URL", hs.AuthURL, lw, width) + "\n")
		b.WriteString(w.kvWrap("Token URL", hs.TokenURL, lw, width) + "\n")
		b.WriteString(w.kvWrap("Scope", strings.Join(hs.Scopes, " "), lw, width) + "\n")
		b.WriteString(st.Muted.Render(wrap("Each mailbox owner then gives consent once in the product (or here: step 5, c).", width)) + "\n")
		b.WriteString("\n" + st.Heading.Render("Mail servers") + "\n")
	} else {
		b.WriteString("\n" + st.Heading.Render("In the host product (Gmail / Workspace mail settings)") + "\n")
	}
	b.WriteString(w.kvWrap("IMAP", hs.IMAP.String(), lw, width) + "\n")
	b.WriteString(w.kvWrap("SMTP", hs.SMTP.String(), lw, width) + "\n")
	b.WriteString(w.kvWrap("Auth", hs.Auth, lw, width) + "\n")
	b.WriteString(w.kvWrap("Username", hs.Username, lw, width) + "\n")
	b.WriteString("\n" + st.Heading.Render("Tokens and export") + "\n")
	b.WriteString(st.Muted.Render(wrap("A fresh access token (msmtp passwordeval, mbsync PassCmd); t copies it:", width)) + "\n")
	b.WriteString(st.Code.Render(indent(wrap(tokenCommand(w), width-2), 2)) + "\n")
	b.WriteString(st.Muted.Render("The settings for the host product:") + "\n")
	b.WriteString(st.Code.Render(indent(wrap(cmdPrefix(w)+"export --format json", width-2), 2)) + "\n")
	b.WriteString(st.Muted.Render(wrap("No OAuth in the product? x: mailoauth proxy, its passwords.", width)) + "\n")
	if w.sandbox != nil {
		b.WriteString(st.Muted.Render(wrap("The demo's store is a temporary file, removed when the wizard ends: run these from another terminal meanwhile.", width)) + "\n")
	}
	if s.err != nil {
		b.WriteString(w.errView(s.err, width) + "\n")
	}
	return strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
}

func (s *summaryStep) keys(w *wizard) stepKeys {
	if s.proxy.open {
		return s.proxy.keys(w)
	}
	more := []key.Binding{keyProxy} // t is on the short line already
	if w.cred != nil && w.cred.Kind == core.KindOAuthClient {
		more = append(more, keyCopyClientID, keyCopyCallback)
	}
	// scrolling is named on the screen itself (↓ more) when there is more
	more = append(more, keyScroll)
	return keyMap(w.gkeys, []key.Binding{keyFinish, keyRetest, keyEditSt, keyCopyToken}, more, false, false, false)
}
func (s *summaryStep) dirty() bool  { return false }
func (s *summaryStep) typing() bool { return false }
func (s *summaryStep) busy() bool   { return false }
func (s *summaryStep) cancel()      {}
