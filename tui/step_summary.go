package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// summaryStep shows what was configured and what to do next in the host
// product; from here the admin re-tests or edits a step.
type summaryStep struct {
	*common
	room
	passed, failed, tested int
	assigned, consented    int
	err                    error
	// vp scrolls the summary when it is taller than its room
	vp    viewport.Model
	proxy proxyPage // for products that only know passwords
}

func newSummaryStep(c *common) *summaryStep { return &summaryStep{common: c} }

// saveProfileMsg asks the root to save the profile as it stands.
type saveProfileMsg struct{}

func (s *summaryStep) Init() tea.Cmd {
	s.proxy.close() // the summary opens on itself; a password being made is dropped
	if s.setup.cred == nil && len(s.setup.profile.Credential) > 0 {
		s.setup.cred, _ = s.setup.profile.LoadCredential()
	}
	s.loadUpgrade()
	if s.setup.boxes != nil {
		s.assigned = len(s.setup.boxes.items)
	} else if ms, err := s.backend.Mailboxes(s.setup.profile.Domain); err == nil {
		s.assigned = len(ms)
	}
	s.consented = 0
	if s.setup.cred != nil && s.setup.cred.Kind == core.KindOAuthClient {
		if cs, err := s.backend.ConsentStates(s.setup.profile.Domain, s.setup.cred.ClientID); err == nil {
			for _, c := range cs {
				if c.Consented {
					s.consented++
				}
			}
		}
	}
	s.passed, s.failed, s.tested = 0, 0, 0
	rs, err := s.backend.Results(s.setup.profile.Domain)
	s.err = err
	for _, r := range rs {
		s.tested++
		if r.OK {
			s.passed++
		} else {
			s.failed++
		}
	}
	if s.setup.profile.WizardStep < int(numSteps) {
		s.setup.profile.WizardStep = int(numSteps)
		return func() tea.Msg { return saveProfileMsg{} }
	}
	return nil
}

func (s *summaryStep) Update(msg tea.Msg) (tea.Cmd, bool) {
	if _, made := msg.(proxyPasswordMsg); s.proxy.open || made {
		return s.proxy.update(s.common, msg)
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, false
	}
	switch {
	case key.Matches(k, s.keys.Summary.Finish):
		return tea.Quit, true
	case key.Matches(k, s.keys.Summary.Proxy):
		s.proxy.enter(s.common)
		return nil, true
	case key.Matches(k, s.keys.Summary.Retest):
		return goToStepThen(stepTest, runTestsMsg{}), true
	case key.Matches(k, s.keys.Summary.EditStep):
		return goToStep(stepID(k.Code - '1')), true
	case key.Matches(k, s.keys.Summary.CopyToken):
		s.setNotice("Copied the token command to the clipboard.")
		return tea.SetClipboard(tokenCommand(s.common)), true
	case key.Matches(k, s.keys.Summary.CopyClientID) && s.setup.cred != nil && s.setup.cred.Kind == core.KindOAuthClient:
		s.setNotice("Copied the client ID to the clipboard.")
		return tea.SetClipboard(s.setup.cred.ClientID), true
	case key.Matches(k, s.keys.Summary.CopyCallback) && s.setup.cred != nil && s.setup.cred.Kind == core.KindOAuthClient:
		s.setNotice("Copied the callback URL to the clipboard.")
		return tea.SetClipboard(core.HostSettings(&s.setup.profile, s.setup.cred).CallbackURL), true
	case key.Matches(k, s.keys.List.Down):
		s.vp.ScrollDown(1)
		return nil, true
	case key.Matches(k, s.keys.List.Up):
		s.vp.ScrollUp(1)
		return nil, true
	case key.Matches(k, s.keys.Screen.MoreDown):
		s.vp.ScrollDown(max(1, s.roomH-2))
		return nil, true
	case key.Matches(k, s.keys.Screen.MoreUp):
		s.vp.ScrollUp(max(1, s.roomH-2))
		return nil, true
	}
	return nil, false
}

// cmdPrefix is how the summary's commands start: with --db when a plain
// mailoauth would not find this store (storeFlag).
func cmdPrefix(w *common) string {
	if w.dbPath != "" {
		return "mailoauth --db " + w.dbPath + " "
	}
	return "mailoauth "
}

// tokenCommand is the command that prints a fresh access token for the
// default sender, as the summary shows it and t copies it.
func tokenCommand(w *common) string {
	return cmdPrefix(w) + "token " + w.setup.profile.DefaultSender
}

// headline says how the profile stands: configured, or configured with
// mailboxes that failed their last test (and what to press).
func (s *summaryStep) headline() string {
	d := s.setup.profile.Domain
	retest := "press " + hint(s.keys.Summary.Retest, "to re-test") + ", " + s.stepKey(stepMailboxes) + " to edit mailboxes"
	switch {
	case s.failed == 1:
		return d + " is configured, but 1 mailbox failed its last test: " + retest
	case s.failed > 1:
		return fmt.Sprintf("%s is configured, but %d mailboxes failed their last test: %s", d, s.failed, retest)
	case s.tested == 0:
		return d + " is configured, but not tested yet: press " + hint(s.keys.Summary.Retest, "to test it")
	}
	return "Done: " + d + " is configured and passed its last test"
}

func (s *summaryStep) View() string {
	width := s.roomW
	if s.proxy.open {
		return s.proxy.view(s.common, width)
	}
	return viewportPage(s.vp, s.keys.Screen.MoreDown, s.keys.Screen.MoreUp, s.styles.Muted)
}

// SetSize gives the viewport the summary's lines and its room less the
// line that says there is more; the viewport keeps its offset within them.
func (s *summaryStep) SetSize(width, height int) {
	s.setRoom(width, height)
	if s.proxy.open {
		s.proxy.setSize(s.common, width, height)
		return
	}
	s.vp.SetWidth(width)
	s.vp.SetHeight(max(height-1, 1))
	s.vp.SetContentLines(s.lines(width))
}

// lines is the whole summary, line by line.
func (s *summaryStep) lines(width int) []string {
	st := s.styles
	p := s.setup.profile
	lw := 12
	var b strings.Builder
	b.WriteString(s.title(s.headline(), "", width) + "\n\n")
	b.WriteString(s.kv("Sender", p.DefaultSender, lw) + "\n")
	oauth := s.setup.cred != nil && s.setup.cred.Kind == core.KindOAuthClient
	if c := s.setup.cred; c != nil && oauth {
		b.WriteString(s.kv("Key", c.Kind.Describe(), lw) + "\n")
	} else if c != nil {
		b.WriteString(s.kv("Key", c.Kind.Describe(), lw) + "\n")
		b.WriteString(s.kvWrap("Client ID", c.ClientID, lw, width) + "\n")
		if c.ClientEmail != "" {
			b.WriteString(s.kvWrap("Account", c.ClientEmail, lw, width) + "\n")
		}
		b.WriteString(s.kvWrap("Fingerprint", c.Fingerprint, lw, width) + "\n")
	}
	b.WriteString(s.kv("Scopes", strings.Join(p.ScopeList(), ","), lw) + "\n")
	boxes := fmt.Sprintf("%d assigned", s.assigned)
	if oauth {
		boxes += fmt.Sprintf(", %d consented", s.consented)
	}
	b.WriteString(s.kv("Mailboxes", boxes, lw) + "\n")
	if s.upgrade {
		b.WriteString(s.upgradeStatus(s.assigned, width))
	}
	if s.tested > 0 {
		res := fmt.Sprintf("%d passed, %d failed", s.passed, s.failed)
		if s.failed > 0 {
			res = st.Error.Render(res)
		} else {
			res = st.OK.Render(res)
		}
		b.WriteString(s.kv("Last test", res, lw) + "\n")
	} else {
		b.WriteString(s.kv("Last test", st.Warn.Render("not run yet ("+hint(s.keys.Summary.Retest, "runs it")+")"), lw) + "\n")
	}
	hs := core.HostSettings(&p, s.setup.cred)
	if oauth {
		c := s.setup.cred
		b.WriteString("\n" + st.Heading.Render("In the host product's OAuth settings (Webex, Creatio)") + "\n")
		b.WriteString(s.copyable("Client ID", c.ClientID, hint(s.keys.Summary.CopyClientID, "copy"), lw, width) + "\n")
		b.WriteString(s.kvWrap("Secret", c.Fingerprint+" (the secret itself: export --include-secrets)", lw, width) + "\n")
		b.WriteString(s.copyable("Callback URL", hs.CallbackURL, hint(s.keys.Summary.CopyCallback, "copy"), lw, width) + "\n")
		b.WriteString(s.kvWrap("Auth URL", hs.AuthURL, lw, width) + "\n")
		b.WriteString(s.kvWrap("Token URL", hs.TokenURL, lw, width) + "\n")
		b.WriteString(s.kvWrap("Scope", strings.Join(hs.Scopes, " "), lw, width) + "\n")
		b.WriteString(st.Muted.Render(wrap("Each mailbox owner then gives consent once in the product (or here: step 5, "+keyName(s.keys.Mailboxes.Consent)+").", width)) + "\n")
		b.WriteString("\n" + st.Heading.Render("Mail servers") + "\n")
	} else {
		b.WriteString("\n" + st.Heading.Render("In the host product (Gmail / Workspace mail settings)") + "\n")
	}
	b.WriteString(s.kvWrap("IMAP", hs.IMAP.String(), lw, width) + "\n")
	b.WriteString(s.kvWrap("SMTP", hs.SMTP.String(), lw, width) + "\n")
	b.WriteString(s.kvWrap("Auth", hs.Auth, lw, width) + "\n")
	b.WriteString(s.kvWrap("Username", hs.Username, lw, width) + "\n")
	b.WriteString("\n" + st.Heading.Render("Tokens and export") + "\n")
	b.WriteString(st.Muted.Render(wrap("A fresh access token (msmtp passwordeval, mbsync PassCmd); "+hint(s.keys.Summary.CopyToken, "copies it")+":", width)) + "\n")
	b.WriteString(st.Code.Render(indent(wrap(tokenCommand(s.common), width-2), 2)) + "\n")
	b.WriteString(st.Muted.Render("The settings for the host product:") + "\n")
	b.WriteString(st.Code.Render(indent(wrap(cmdPrefix(s.common)+"export --profile "+s.setup.profile.Domain+" --format json", width-2), 2)) + "\n")
	b.WriteString(st.Muted.Render(wrap("No OAuth in the product? "+keyName(s.keys.Summary.Proxy)+": mailoauth proxy, its passwords.", width)) + "\n")
	if s.sandbox != nil {
		b.WriteString(st.Muted.Render(wrap("The demo's store is a temporary file, removed when the wizard ends: run these from another terminal meanwhile.", width)) + "\n")
	}
	if s.err != nil {
		b.WriteString(s.errView(s.err, width) + "\n")
	}
	return strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
}

func (s *summaryStep) ShortHelp() []key.Binding  { return s.helpKeyMap().short }
func (s *summaryStep) FullHelp() [][]key.Binding { return s.helpKeyMap().full }

func (s *summaryStep) helpKeyMap() stepKeys {
	if s.proxy.open {
		return s.proxy.keys(s.common)
	}
	more := []key.Binding{s.keys.Summary.Proxy} // t is on the short line already
	if s.setup.cred != nil && s.setup.cred.Kind == core.KindOAuthClient {
		more = append(more, s.keys.Summary.CopyClientID, s.keys.Summary.CopyCallback)
	}
	// scrolling is named on the screen itself (↓ more) when there is more
	more = append(more, s.keys.Summary.Scroll)
	return s.keyMap([]key.Binding{s.keys.Summary.Finish, s.keys.Summary.Retest, s.keys.Summary.EditStep, s.keys.Summary.CopyToken}, more, false, false, false)
}
func (s *summaryStep) dirty() bool  { return false }
func (s *summaryStep) typing() bool { return false }
func (s *summaryStep) busy() bool   { return false }
func (s *summaryStep) cancel()      {}
