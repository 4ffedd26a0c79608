package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/consent"
)

// consentStep is step 4 of an OAuth client profile: the consent-screen
// checklist (core.ConsentChecklist), each value copyable, then "Generate
// token" for the default sender, which runs its consent.
type consentStep struct {
	*common
	room
	flow       *consentFlow
	userType   string // "", "internal", "external": the profile's ConsentUserType
	publishing string // "", "testing", "production"
	orig       [2]string
	paste      bool
	state      core.ConsentState
	err        error
}

func newConsentStep(c *common) *consentStep { return &consentStep{common: c} }

func (c *consentStep) Init() tea.Cmd {
	if c.flow == nil {
		c.flow = newConsentFlow()
	}
	c.userType, c.publishing = c.setup.profile.ConsentUserType, c.setup.profile.ConsentPublishing
	c.orig = [2]string{c.userType, c.publishing}
	if c.setup.cred == nil && len(c.setup.profile.Credential) > 0 {
		c.setup.cred, _ = c.setup.profile.LoadCredential()
	}
	if !c.flow.active() {
		c.paste = pasteByDefault(c.common)
	}
	c.refresh()
	return nil
}

// refresh reads the default sender's consent state.
func (c *consentStep) refresh() {
	p := c.setup.profile
	authz, err := consent.New(&p, c.backend.TokenCache(p.Domain), nil)
	c.err = err
	if err == nil {
		c.state = authz.State(p.DefaultSender)
	}
}

// verified: the default sender's consent is stored.
func (c *consentStep) verified() bool {
	if c.flow.phase == cfDone {
		return c.flow.err == nil && c.flow.grant != nil
	}
	return c.state.Consented && !c.flow.active()
}

// profileWith is the profile with the consent-screen choices of this screen.
func (c *consentStep) profileWith() core.Profile {
	p := c.setup.profile
	p.ConsentUserType, p.ConsentPublishing = c.userType, c.publishing
	return p
}

func (c *consentStep) checklist() []core.ChecklistItem {
	if c.setup.cred == nil {
		return nil
	}
	p := c.profileWith()
	return core.ConsentChecklist(&p, c.setup.cred)
}

// copyValue is what item i puts on the clipboard: what to type or choose
// in the console rather than the advice around it.
func (c *consentStep) copyValue(i int, it core.ChecklistItem) string {
	label := strings.ToLower(it.Item)
	switch {
	case strings.HasPrefix(label, "user type"):
		if c.userType == "external" {
			return "External"
		}
		return "Internal"
	case strings.HasPrefix(label, "publishing"):
		if c.publishing == "testing" {
			return "Testing"
		}
		return "In production"
	case strings.HasPrefix(label, "test users"):
		seen := map[string]bool{}
		var out []string
		add := func(e string) {
			if e != "" && !seen[e] && len(out) < core.MaxTestUsers {
				seen[e] = true
				out = append(out, e)
			}
		}
		add(c.setup.profile.DefaultSender)
		if c.setup.boxes != nil {
			for _, e := range c.setup.boxes.emails() {
				add(e)
			}
		} else if ms, err := c.backend.Mailboxes(c.setup.profile.Domain); err == nil {
			for _, m := range ms {
				add(m.Email)
			}
		}
		return strings.Join(out, ", ")
	}
	return it.Value
}

func cycle(v string, values ...string) string {
	for i, x := range values {
		if x == v {
			return values[(i+1)%len(values)]
		}
	}
	return values[0]
}

func (c *consentStep) Update(msg tea.Msg) (tea.Cmd, bool) {
	if cmd, handled := c.flow.update(c.common, flowStep, msg); handled {
		return cmd, true
	} else if cmd != nil {
		return cmd, false
	}
	if _, ok := msg.(consentDoneMsg); ok {
		c.refresh()
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || c.flow.running() {
		return nil, ok && c.flow.running() && !key.Matches(k, c.keys.Global.Interrupt)
	}
	items := c.checklist()
	switch {
	case key.Matches(k, c.keys.Global.Next):
		if c.verified() {
			return c.save(), true
		}
		return c.flow.start(c.common, flowStep, c.setup.profile.DefaultSender, c.paste), true
	case key.Matches(k, c.keys.Consent.Generate):
		return c.flow.start(c.common, flowStep, c.setup.profile.DefaultSender, c.paste), true
	case key.Matches(k, c.keys.Consent.CopyItem) && int(k.Code-'1') < len(items):
		i := int(k.Code - '1')
		c.setNotice("Copied " + shortLabel(items[i].Item) + " to the clipboard.")
		return tea.SetClipboard(c.copyValue(i, items[i])), true
	case key.Matches(k, c.keys.Consent.UserType):
		c.userType = cycle(c.userType, "", "internal", "external")
	case key.Matches(k, c.keys.Consent.Publishing):
		c.publishing = cycle(c.publishing, "", "production", "testing")
	case key.Matches(k, c.keys.Consent.PasteMode):
		c.paste = !c.paste
		choice := c.paste
		c.setup.pasteChoice = &choice
		c.flow.abort()
		if c.paste {
			c.setStatus("Consent by paste-back: paste the address the browser ends on.")
		} else {
			c.setStatus("Consent through this machine's 127.0.0.1 listener.")
		}
	case key.Matches(k, c.keys.Consent.SkipToken):
		return c.save(), true
	default:
		return nil, false
	}
	return nil, true
}

func (c *consentStep) save() tea.Cmd {
	c.flow.abort()
	c.setup.profile.ConsentUserType, c.setup.profile.ConsentPublishing = c.userType, c.publishing
	c.orig = [2]string{c.userType, c.publishing}
	return nextStep(stepAuthorize)
}

// shortLabel is a checklist item's name in a few words, for the column
// left of its value (the full name is shown when there is room).
func shortLabel(item string) string {
	if i := strings.Index(item, " ("); i > 0 {
		item = item[:i]
	}
	switch l := strings.ToLower(item); {
	case strings.HasPrefix(l, "publishing"):
		return "Publishing"
	case strings.HasPrefix(l, "authorized domains"):
		return "Domains"
	case strings.HasPrefix(l, "authorized redirect"):
		return "Redirect URI"
	}
	return item
}

func (c *consentStep) View() string {
	width, height := c.roomW, c.roomH
	s := c.styles
	out := c.title("Consent screen, then a first token",
		"Set in "+core.APIsConsolePath+":", width) + "\n\n"
	items := c.checklist()
	finished := c.flow.phase == cfDone
	if finished {
		// the result (or the finding) first: at 80x24 it would not fit
		// under the wrapped checklist, which follows it
		out += c.flow.view(c.common, width) + "\n\n"
	}
	if c.flow.active() {
		// the consent URL and the paste field need the room
		items = nil
		out += s.Muted.Render(wrap("The checklist returns when this consent ends ("+hint(c.keys.Flow.Cancel, "cancels it")+").", width)) + "\n\n"
	}
	compact := c.flow.phase != cfIdle
	lw := 12
	for i, it := range items {
		n := "  " // the key that copies it
		if keys := c.keys.Consent.CopyItem.Keys(); i < len(keys) {
			n = s.Key.Render(keys[i]) + " "
		}
		switch {
		case height >= 34 && !compact:
			out += n + s.Label.Render(strings.TrimLeft(indent(wrap(it.Item, max(width-2, 10)), 2), " ")) + "\n" + s.Value.Render(indent(wrap(it.Value, max(width-2, 10)), 2)) + "\n"
		default:
			// wrapped, never cut: each value is what the console wants
			v := strings.Split(wrap(it.Value, max(width-lw-3, 10)), "\n")
			out += n + s.Label.Render(padRight(shortLabel(it.Item), lw)) + " " + s.Value.Render(v[0]) + "\n"
			for _, l := range v[1:] {
				out += strings.Repeat(" ", lw+3) + s.Value.Render(l) + "\n"
			}
		}
	}
	if len(items) > 0 {
		out += "\n"
	}
	if c.err != nil {
		return out + c.errView(c.err, width)
	}
	if finished {
		return strings.TrimRight(out, "\n")
	}
	if c.flow.phase != cfIdle {
		return out + c.flow.view(c.common, width)
	}
	sender := c.setup.profile.DefaultSender
	if c.state.Consented {
		out += s.OK.Render(wrap("✓ "+sender+" gave consent ("+c.state.Describe()+", refresh token "+c.state.Fingerprint+").", width)) + "\n"
		out += s.Muted.Render(wrap("Press "+keyTitle(c.keys.Global.Next)+" to continue, "+hint(c.keys.Consent.Generate, "to generate a token again")+".", width))
		return out
	}
	m := keyName(c.keys.Consent.PasteMode)
	how := "the browser then returns to 127.0.0.1 here (" + m + ": paste instead)"
	if c.paste {
		how = "then paste the address the browser ends on (" + m + ": listen on 127.0.0.1 instead)"
		if c.remote {
			how = "then paste the address the browser ends on (this session is remote: its 127.0.0.1 is the server's)"
		}
	}
	out += s.Text.Render(wrap(keyTitle(c.keys.Consent.GenerateEnter)+" generates a token: sign in as "+sender+" and choose Allow; "+how+".", width))
	return out
}

func (c *consentStep) ShortHelp() []key.Binding  { return c.helpKeyMap().short }
func (c *consentStep) FullHelp() [][]key.Binding { return c.helpKeyMap().full }

func (c *consentStep) helpKeyMap() stepKeys {
	if fk, more := c.flow.keys(c.common); fk != nil {
		return c.keyMap(fk, more, false, false, c.typing())
	}
	next := c.keys.Global.Next
	if !c.verified() {
		next = c.keys.Consent.GenerateEnter
	}
	short := []key.Binding{next, c.keys.Consent.CopyItem, c.keys.Consent.Settings}
	more := []key.Binding{c.keys.Consent.Generate, c.keys.Consent.UserType, c.keys.Consent.Publishing, c.keys.Consent.PasteMode, c.keys.Consent.SkipToken}
	return c.keyMap(short, more, false, true, false)
}

func (c *consentStep) dirty() bool {
	return c.userType != c.orig[0] || c.publishing != c.orig[1]
}
func (c *consentStep) typing() bool {
	return c.flow != nil && c.flow.phase == cfWaiting && c.flow.paste
}
func (c *consentStep) focusedEmpty() bool { return c.flow.input.Value() == "" }
func (c *consentStep) busy() bool         { return c.flow != nil && c.flow.running() }
func (c *consentStep) cancel() {
	if c.flow != nil {
		c.flow.abort()
	}
}

// showEnd: while the address is pasted, the field and its error are what
// the screen must show (endFirst).
func (c *consentStep) showEnd() bool { return c.flow != nil && c.flow.answering() }

func (c *consentStep) SetSize(width, height int) {
	c.setRoom(width, height)
	if c.flow != nil {
		sizeFields(width, &c.flow.input)
	}
}
