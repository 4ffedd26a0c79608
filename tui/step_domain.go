package tui

import (
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// domainStep asks for the Workspace domain and the default sender. It is a
// component (nav.go).
type domainStep struct {
	*common
	room
	domain, sender textinput.Model
	focus          domainField
	err            error
	orig           [dfFields]string // the values as stored
	// outsideOK is the outside sender the admin pressed Enter on once,
	// having been told only an OAuth client can serve it
	outsideOK string
}

// domainField names the domain step's fields.
type domainField int

const (
	dfDomain domainField = iota
	dfSender
	dfFields
)

func newDomainStep(c *common) *domainStep {
	return &domainStep{common: c, domain: newInput("yourcompany.example"), sender: newInput("administrator@yourcompany.example")}
}

func (d *domainStep) Init() tea.Cmd {
	d.domain.SetValue(d.setup.profile.Domain)
	d.sender.SetValue(d.setup.profile.DefaultSender)
	d.orig = [dfFields]string{dfDomain: d.setup.profile.Domain, dfSender: d.setup.profile.DefaultSender}
	d.err = nil
	d.focus = dfDomain
	if !d.setup.isNew {
		d.focus = dfSender
	}
	return d.focusField()
}

func (d *domainStep) inputs() []*textinput.Model {
	return []*textinput.Model{dfDomain: &d.domain, dfSender: &d.sender}
}

func (d *domainStep) focusField() tea.Cmd {
	return focusOnly(d.inputs(), d.focus)
}

func (d *domainStep) Update(msg tea.Msg) (tea.Cmd, bool) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, d.keys.Global.Next):
			return d.save(), true
		case key.Matches(k, d.keys.Form.Next, d.keys.Form.Down, d.keys.Form.Up):
			if d.setup.isNew { // else the domain is shown, not edited
				d.focus = wrapAround(d.focus, 1, dfFields)
			}
			return d.focusField(), true
		case key.Matches(k, d.keys.Global.Esc, d.keys.Form.Prev, d.keys.Global.Interrupt):
			return nil, false
		}
	}
	in := d.inputs()[d.focus]
	var cmd tea.Cmd
	*in, cmd = in.Update(msg)
	// fill in the sender's domain as the admin types a new domain
	if d.focus == dfDomain && d.orig[dfSender] == "" {
		if dom, err := core.NormalizeDomain(d.domain.Value()); err == nil {
			d.sender.SetValue("administrator@" + dom)
		}
	}
	_, isKey := msg.(tea.KeyPressMsg)
	_, isPaste := msg.(tea.PasteMsg)
	return cmd, isKey || isPaste
}

// save validates with core and stores the profile.
func (d *domainStep) save() tea.Cmd {
	dom, err := core.NormalizeDomain(d.domain.Value())
	if err != nil {
		d.err = err
		d.focus = dfDomain
		return d.focusField()
	}
	sender, outside, err := senderRule(d.common, dom, d.sender.Value())
	if err != nil {
		d.err = err
		d.focus = dfSender
		return d.focusField()
	}
	if outside && d.outsideOK != sender {
		// said plainly before moving on: Enter again goes on
		d.outsideOK = sender
		d.focus = dfSender
		d.setStatus("Press " + keyTitle(d.keys.Global.Next) + " again to go on and choose an OAuth client at step 3, or change the sender.")
		return d.focusField()
	}
	d.err = nil
	d.setup.profile.Domain, d.setup.profile.DefaultSender = dom, sender
	d.domain.SetValue(dom)
	d.sender.SetValue(sender)
	d.orig = [dfFields]string{dfDomain: dom, dfSender: sender}
	return nextStep(stepDomain)
}

// senderRule validates the default sender with the profile's mailbox rule
// (core.MailboxRule), the one the CLI applies. A profile with no credential
// yet has no rule of its own: its credential is chosen at step 3, and an
// OAuth client there accepts any domain, so an outside sender is accepted
// now (outside reports it) and step 3 then refuses a service account for it.
func senderRule(w *common, domain, addr string) (sender string, outside bool, err error) {
	rule := w.setup.profile.MailboxRule()
	rule.Domain = domain
	sender, err = rule.Address(addr)
	if f := core.FindingOf(err); f != nil && f.Code == core.CodeMailboxOutsideDomain && rule.Kind == "" {
		rule.Kind = core.KindOAuthClient
		sender, err = rule.Address(addr)
		return sender, err == nil, err
	}
	return sender, false, err
}

// outsideFinding is core's finding for a sender outside the domain of a
// profile whose credential is still to be chosen (which credential kinds
// can serve it); nil otherwise.
func (d *domainStep) outsideFinding() *core.Finding {
	dom, err := core.NormalizeDomain(d.domain.Value())
	if err != nil {
		return nil
	}
	if _, outside, err := senderRule(d.common, dom, d.sender.Value()); err != nil || !outside {
		return nil
	}
	_, err = core.MailboxRule{Domain: dom, Kind: core.KindServiceAccount}.Address(d.sender.Value())
	return core.FindingOf(err)
}

func (d *domainStep) View() string {
	width := d.roomW
	s := d.styles
	out := d.title("Google Workspace domain",
		"The domain whose mailboxes the product uses, and a default sender mailbox in it.", width) + "\n\n"
	if d.setup.isNew {
		out += d.field("Workspace domain", &d.domain, d.focus == dfDomain, width) + "\n\n"
	} else {
		out += "  " + s.Label.Render("Workspace domain") + "\n  " + s.Value.Render(d.setup.profile.Domain) + "\n\n"
	}
	out += d.field("Default sender", &d.sender, d.focus == dfSender, width) + "\n"
	if f := d.outsideFinding(); f != nil {
		dom, _ := core.NormalizeDomain(d.domain.Value())
		out += "\n" + s.Warn.Render(wrap("! "+f.Summary+" "+core.OutsideDomainServedBy(dom), width)) + "\n"
	}
	out += "\n"
	if d.err != nil {
		out += d.errView(d.err, width) + "\n\n"
	}
	out += s.Heading.Render("Before you continue") + "\n"
	// a reminder, not a checkbox: nothing here can check it (the test step does)
	out += s.Text.Render(wrap("IMAP must be enabled for the domain's users: "+core.GmailAccessConsolePath+" > POP and IMAP access (clear \"Disable POP and IMAP access for all users\").", width))
	return out
}

func (d *domainStep) helpKeyMap() stepKeys {
	return d.keyMap([]key.Binding{d.keys.Form.Next}, nil, true, true, true)
}

func (d *domainStep) ShortHelp() []key.Binding  { return d.helpKeyMap().short }
func (d *domainStep) FullHelp() [][]key.Binding { return d.helpKeyMap().full }
func (d *domainStep) dirty() bool {
	return d.domain.Value() != d.orig[dfDomain] || d.sender.Value() != d.orig[dfSender]
}
func (d *domainStep) typing() bool { return true }

// focusedEmpty lets ? open help from an empty field.
func (d *domainStep) focusedEmpty() bool {
	return d.inputs()[d.focus].Value() == ""
}
func (d *domainStep) busy() bool { return false }
func (d *domainStep) cancel()    {}

func (d *domainStep) SetSize(width, height int) {
	d.setRoom(width, height)
	sizeFields(width, &d.domain, &d.sender)
}
