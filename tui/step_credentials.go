package tui

import (
	"bytes"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// credentialsStep first asks which path the profile takes (service account
// or OAuth client), then loads the service-account key (JSON or legacy
// .p12) or the OAuth client (oauthForm).
type credentialsStep struct {
	*common
	room
	// choosing shows the choice of path; kind is the chosen one.
	choosing bool
	kind     credKind
	choice   int
	entered  bool
	oc       *oauthForm

	path                   fileField
	p12pw, p12email, p12id textinput.Model
	focus                  keyField
	data                   []byte // the key as loaded or pasted
	source                 string // where data came from
	isP12                  bool
	policy                 bool             // showing what to do when key creation is blocked
	loaded                 *core.Credential // the key as parsed
	err                    error
	changed                bool
}

func newCredentialsStep(cm *common) *credentialsStep {
	c := &credentialsStep{common: cm,
		path:     newFileField("/path/to/service-account.json (or paste the JSON)", core.CredentialFile),
		p12pw:    newInput(core.DefaultP12Password),
		p12email: newInput("mailer@project.iam.gserviceaccount.com"),
		p12id:    newInput("104715287395062714451"),
	}
	c.p12pw.EchoMode = textinput.EchoPassword
	c.p12pw.SetValue(core.DefaultP12Password)
	return c
}

// keyField names the fields of the service-account key form; the .p12
// ones show only for a legacy .p12 key.
type keyField int

const (
	kfPath keyField = iota
	kfP12Password
	kfP12Email
	kfP12ID
)

// credKind is the credential path of a profile.
type credKind int

const (
	credServiceAccount credKind = iota
	credOAuthClient
)

// credChoices are the two paths, with when to choose each.
var credChoices = [...]struct{ name, when string }{
	credServiceAccount: {"Service account (domain-wide delegation)",
		"Google Workspace: one key for every mailbox of the domain, no user involved."},
	credOAuthClient: {"OAuth client (per-mailbox consent)",
		"Webex Connect / Creatio style, or a mailbox outside a Workspace domain: each mailbox owner consents once."},
}

// storedKind is the path of the profile's stored credential.
func (s *setupState) storedKind() (credKind, bool) {
	if len(s.profile.Credential) == 0 {
		return 0, false
	}
	c := s.cred
	if c == nil {
		var err error
		if c, err = s.profile.LoadCredential(); err != nil {
			return 0, false
		}
	}
	if c.Kind == core.KindOAuthClient {
		return credOAuthClient, true
	}
	return credServiceAccount, true
}

func (c *credentialsStep) Init() tea.Cmd {
	if c.oc == nil {
		c.oc = newOAuthForm(c)
	}
	if !c.entered {
		c.entered = true
		if k, ok := c.setup.storedKind(); ok {
			c.kind, c.choice = k, int(k)
		} else {
			c.choosing = true
			if _, err := c.setup.profile.MailboxRule().Address(c.setup.profile.DefaultSender); core.FindingOf(err) != nil && core.FindingOf(err).Code == core.CodeMailboxOutsideDomain {
				// only an OAuth client can serve this sender
				c.choice = int(credOAuthClient)
			}
		}
	}
	if c.choosing {
		return nil
	}
	if c.kind == credOAuthClient {
		return c.oc.enter()
	}
	return c.enterServiceAccount()
}

func (c *credentialsStep) enterServiceAccount() tea.Cmd {
	c.focus = kfPath
	c.err = nil
	c.changed = false
	switch {
	case c.data != nil:
		// keep what was loaded before going back
	case len(c.setup.profile.Credential) > 0 && !c.setup.isOAuthClient():
		c.data = c.setup.profile.Credential
		c.source = "the key stored in this profile"
		c.p12pw.SetValue(orDefault(c.setup.profile.P12Password, core.DefaultP12Password))
		c.p12email.SetValue(c.setup.profile.P12ClientEmail)
		c.p12id.SetValue(c.setup.profile.P12ClientID)
		c.parse()
	case c.sandbox != nil && c.sandbox.CredentialPath != "":
		c.path.SetValue(c.sandbox.CredentialPath)
		c.load()
	case c.sandbox != nil && len(c.sandbox.Credential) > 0:
		c.data = c.sandbox.Credential
		c.source = "the sandbox's service-account key"
		c.parse()
	}
	c.changed = false
	return c.focusField()
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (c *credentialsStep) inputs() []*textinput.Model {
	if c.isP12 {
		return []*textinput.Model{kfPath: &c.path.Model, kfP12Password: &c.p12pw, kfP12Email: &c.p12email, kfP12ID: &c.p12id}
	}
	return []*textinput.Model{kfPath: &c.path.Model}
}

func (c *credentialsStep) focusField() tea.Cmd {
	return focusOnly(c.inputs(), c.focus)
}

// load reads the file named in the path field.
func (c *credentialsStep) load() {
	c.loaded, c.err, c.data = nil, nil, nil
	if strings.TrimSpace(c.path.Value()) == "" {
		c.path.loadedFrom = c.path.Value()
		c.err = core.Inputf("enter the path of the service-account key file, or paste the JSON key")
		return
	}
	p := c.path.path()
	data, err := c.path.read()
	if err != nil {
		c.err = err
		return
	}
	c.data, c.source = data, p
	c.parse()
}

// parse validates c.data with core.
func (c *credentialsStep) parse() {
	c.loaded, c.err = nil, nil
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(c.data, []byte("\xef\xbb\xbf")))
	wasP12 := c.isP12
	c.isP12 = len(trimmed) > 0 && trimmed[0] == 0x30
	if c.isP12 && !wasP12 && c.focus == kfPath {
		c.focus = kfP12Email
		if c.p12email.Value() != "" {
			c.focus = kfP12ID
		}
	}
	cred, err := core.ParseCredential(c.data, c.opts())
	if err == nil {
		err = cred.RequireServiceAccount()
	}
	if err != nil {
		c.err = err
		return
	}
	c.loaded = cred
}

func (c *credentialsStep) opts() core.CredentialOptions {
	if !c.isP12 {
		return core.CredentialOptions{}
	}
	return core.CredentialOptions{P12Password: c.p12pw.Value(), ClientEmail: c.p12email.Value(), ClientID: c.p12id.Value()}
}

func (c *credentialsStep) Update(msg tea.Msg) (tea.Cmd, bool) {
	if c.choosing {
		return c.updateChoice(msg)
	}
	if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, c.keys.Global.Esc) {
		// back to the choice of path; esc there goes to step 2
		c.choosing, c.policy = true, false
		return nil, true
	}
	if c.kind == credOAuthClient {
		return c.oc.update(msg)
	}
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, c.keys.Credentials.Policy):
			c.policy = !c.policy
			return nil, true
		case c.policy:
			if key.Matches(k, c.keys.Global.Next) {
				c.policy = false
			}
			return nil, true
		}
	}
	return updateFileForm(c.keys, c, &c.path, &c.focus, msg)
}

func (c *credentialsStep) pasted(data []byte, source string, err error) {
	if err != nil {
		c.loaded, c.data, c.err = nil, nil, err
		return
	}
	c.data, c.source, c.changed = data, source, true
	c.parse()
}

// edited: a .p12 field edited re-parses the key with it.
func (c *credentialsStep) edited(field keyField) {
	c.changed = true
	if field != kfPath && c.data != nil {
		c.parse()
	}
}

// save loads the key if the path changed, then stores it and moves on.
func (c *credentialsStep) save() tea.Cmd {
	if c.path.Value() != "" && c.path.Value() != c.path.loadedFrom {
		c.load()
		if c.loaded != nil && c.isP12 && c.p12id.Value() == "" {
			return c.focusField()
		}
		if c.err != nil || c.loaded == nil {
			return c.focusField()
		}
	}
	if c.data == nil {
		c.err = core.Inputf("enter the path of the service-account key file, or paste the JSON key")
		return nil
	}
	if c.loaded == nil {
		c.parse()
		if c.loaded == nil {
			return c.focusField()
		}
	}
	// The default sender must be one this credential can serve: core's
	// rule and finding (an outside sender was accepted at step 2 only
	// for an OAuth client).
	if _, err := (core.MailboxRule{Domain: c.setup.profile.Domain, Kind: c.loaded.Kind}).Address(c.setup.profile.DefaultSender); err != nil {
		c.err = err
		return c.focusField()
	}
	c.setup.profile.Credential = c.data
	c.setup.profile.RedirectURI = "" // the OAuth client path's only
	c.setup.profile.P12Password, c.setup.profile.P12ClientEmail, c.setup.profile.P12ClientID = "", "", ""
	if c.isP12 {
		o := c.opts()
		c.setup.profile.P12Password, c.setup.profile.P12ClientEmail, c.setup.profile.P12ClientID = o.P12Password, o.ClientEmail, o.ClientID
	}
	c.setup.cred = c.loaded
	c.changed = false
	return nextStep(stepCredentials)
}

func (c *credentialsStep) updateChoice(msg tea.Msg) (tea.Cmd, bool) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, false
	}
	switch {
	case key.Matches(k, c.keys.List.Up, c.keys.List.Down, c.keys.Form.Next):
		c.choice = 1 - c.choice
	case key.Matches(k, c.keys.Credentials.ChooseNumber):
		c.choice = int(k.Code - '1')
	case key.Matches(k, c.keys.Global.Next):
		c.choosing = false
		if credKind(c.choice) != c.kind {
			c.kind = credKind(c.choice)
			c.changed = true
		}
		if c.kind == credOAuthClient {
			return c.oc.enter(), true
		}
		return c.enterServiceAccount(), true
	default:
		return nil, false
	}
	return nil, true
}

func (c *credentialsStep) choiceView(width int) string {
	s := c.styles
	out := c.title("Credentials", "How will the product sign in to Gmail? Choose the kind of Google credential.", width) + "\n\n"
	for i, ch := range credChoices {
		name := fmt.Sprintf("%s %s", c.keys.Credentials.ChooseNumber.Keys()[i], ch.name) // its key chooses it
		if i == c.choice {
			name = s.Selected.Render(name)
		}
		out += c.cursorLine(i == c.choice, name) + "\n"
		out += s.Muted.Render(indent(wrap(ch.when, max(width-4, 10)), 4)) + "\n\n"
	}
	if k, ok := c.setup.storedKind(); ok {
		out += s.Muted.Render(wrap("This profile uses "+credChoices[k].name+"; choosing the other replaces it when you save.", width))
	}
	return out
}

// indent puts n spaces before every line of s.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

func (c *credentialsStep) View() string {
	width, height := c.roomW, c.roomH
	if c.choosing {
		return c.choiceView(width)
	}
	if c.kind == credOAuthClient {
		return c.oc.view(width, height)
	}
	if c.policy {
		return keyPolicyView(c.common, width)
	}
	s := c.styles
	out := c.title("Service-account key",
		"Load the JSON key downloaded from "+core.ServiceAccountsConsolePath+" > Keys (or a legacy .p12 key).", width) + "\n\n"
	out += c.field("Key file ("+hint(c.keys.Form.Complete, "completes")+"; or paste the JSON)", &c.path.Model, c.focus == kfPath, width) + "\n"
	if c.isP12 {
		out += c.field(".p12 password", &c.p12pw, c.focus == kfP12Password, width) + "\n"
		out += c.field("Service account e-mail", &c.p12email, c.focus == kfP12Email, width) + "\n"
		out += c.field("Client ID (OAuth 2 Client ID)", &c.p12id, c.focus == kfP12ID, width) + "\n"
	}
	out += "\n"
	switch {
	case c.err != nil:
		out += c.errView(c.err, width)
	case c.loaded != nil:
		lw := 13
		out += s.OK.Render("✓ "+c.loaded.Kind.Describe()) + "\n"
		out += c.kvWrap("From", c.source, lw, width) + "\n"
		out += c.kvWrap("Client ID", c.loaded.ClientID, lw, width) + "\n"
		out += c.kvWrap("Client e-mail", c.loaded.ClientEmail, lw, width) + "\n"
		out += c.kvWrap("Project", orDefault(c.loaded.ProjectID, "—"), lw, width) + "\n"
		out += c.kvWrap("Key ID", orDefault(c.loaded.PrivateKeyID, "—"), lw, width) + "\n"
		out += c.kvWrap("Fingerprint", c.loaded.Fingerprint, lw, width) + "\n"
		out += s.Muted.Render(wrap("Compare these with the Google Cloud console. The private key itself is never shown.", width))
	default:
		out += s.Muted.Render(wrap("Press "+keyTitle(c.keys.Global.Next)+" to load the key.", width))
	}
	if c.loaded == nil && !c.isP12 { // whoever has a .p12 has a key already
		out += "\n\n" + s.Muted.Render(wrap(core.KeyPolicyHint+" "+hint(c.keys.Credentials.Policy, "shows what to do."), width))
	}
	return out
}

func (c *credentialsStep) ShortHelp() []key.Binding  { return c.helpKeyMap().short }
func (c *credentialsStep) FullHelp() [][]key.Binding { return c.helpKeyMap().full }

func (c *credentialsStep) helpKeyMap() stepKeys {
	if c.choosing {
		return c.keyMap([]key.Binding{c.keys.Credentials.Choose}, []key.Binding{c.keys.Credentials.ChooseNumber}, true, true, false)
	}
	if c.kind == credOAuthClient {
		return c.oc.helpKeyMap()
	}
	if c.policy {
		return c.keyMap([]key.Binding{c.keys.Credentials.PolicyBack}, nil, false, false, false)
	}
	return c.keyMap([]key.Binding{c.keys.Form.Complete}, []key.Binding{c.keys.Credentials.Policy}, true, true, true)
}
func (c *credentialsStep) dirty() bool {
	return c.changed || (c.oc != nil && c.oc.changed)
}
func (c *credentialsStep) typing() bool { return !c.choosing && !c.policy }

// focusedEmpty lets ? open help from an empty field.
func (c *credentialsStep) focusedEmpty() bool {
	if c.kind == credOAuthClient {
		return c.oc.focusedEmpty()
	}
	ins := c.inputs()
	return ins[min(c.focus, keyField(len(ins)-1))].Value() == ""
}
func (c *credentialsStep) busy() bool { return false }
func (c *credentialsStep) cancel()    {}

func (c *credentialsStep) SetSize(width, height int) {
	c.setRoom(width, height)
	sizeFields(width, &c.path.Model, &c.p12pw, &c.p12email, &c.p12id)
	if c.oc != nil {
		sizeFields(width, &c.oc.path.Model, &c.oc.id, &c.oc.secret, &c.oc.redirect)
	}
}
