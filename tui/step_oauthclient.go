package tui

import (
	"bytes"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// oauthForm loads the OAuth client of the consent path: the client JSON
// downloaded from the Cloud console (a path with completion, or pasted), or
// the client ID and secret entered by hand, plus the redirect URI when it
// is the host product's callback. Validation is core's.
type oauthForm struct {
	*common
	// owner is the credentials step the form is part of
	owner                *credentialsStep
	path                 fileField
	id, secret, redirect textinput.Model
	focus                oauthField
	data                 []byte // the client JSON as loaded, pasted or built
	source               string
	fromJSON             [2]string        // client ID and secret as the JSON had them
	loaded               *core.Credential // the client as parsed
	err                  error
	errField             oauthField
	changed              bool
	entered              bool
}

// oauthField names the OAuth client form's fields.
type oauthField int

const (
	ocPath oauthField = iota
	ocID
	ocSecret
	ocRedirect
	ocFields
)

func newOAuthForm(owner *credentialsStep) *oauthForm {
	f := &oauthForm{common: owner.common, owner: owner,
		path:     newFileField("/path/to/client_secret_….json (or paste the JSON)", core.CredentialFile),
		id:       newInput("123456789012-abc….apps.googleusercontent.com"),
		secret:   newInput("GOCSPX-…"),
		redirect: newInput("empty: 127.0.0.1 on this machine"),
	}
	f.secret.EchoMode = textinput.EchoPassword
	return f
}

func (f *oauthForm) inputs() []*textinput.Model {
	return []*textinput.Model{ocPath: &f.path.Model, ocID: &f.id, ocSecret: &f.secret, ocRedirect: &f.redirect}
}

func (f *oauthForm) enter() tea.Cmd {
	f.err = nil
	if !f.entered {
		f.entered = true
		switch {
		case f.setup.isOAuthClient():
			f.data = f.setup.profile.Credential
			f.source = "the client stored in this profile"
			f.redirect.SetValue(f.setup.profile.RedirectURI)
			f.parseJSON()
		case f.sandbox != nil && f.sandbox.ClientPath != "":
			f.path.SetValue(f.sandbox.ClientPath)
			f.load()
		}
		f.changed = false
	}
	return f.focusField()
}

func (f *oauthForm) focusField() tea.Cmd {
	return focusOnly(f.inputs(), f.focus)
}

// load reads the client JSON named in the path field.
func (f *oauthForm) load() {
	p := f.path.path()
	f.loaded, f.err = nil, nil
	var cred *core.Credential
	raw, err := f.path.read()
	if err == nil {
		cred, err = core.ParseCredential(raw, core.CredentialOptions{})
	}
	if err == nil {
		err = cred.RequireOAuthClient()
	}
	if err != nil {
		f.err, f.errField = err, ocPath
		return
	}
	f.data, f.source = raw, p
	f.fromJSON = [2]string{cred.ClientID, cred.ClientSecret}
	f.id.SetValue(cred.ClientID)
	f.secret.SetValue(cred.ClientSecret)
	f.loaded = cred
}

// parseJSON validates f.data as an OAuth client JSON.
func (f *oauthForm) parseJSON() {
	f.loaded, f.err = nil, nil
	cred, err := core.ParseCredential(f.data, core.CredentialOptions{})
	if err == nil {
		err = cred.RequireOAuthClient()
	}
	if err != nil {
		f.err, f.errField = err, ocPath
		return
	}
	f.loaded = cred
	f.fromJSON = [2]string{cred.ClientID, cred.ClientSecret}
	f.id.SetValue(cred.ClientID)
	f.secret.SetValue(cred.ClientSecret)
}

// byHand reports whether the client ID or secret fields differ from the
// loaded JSON (or there is none): the client is then the one entered.
func (f *oauthForm) byHand() bool {
	return f.data == nil || strings.TrimSpace(f.id.Value()) != f.fromJSON[0] || strings.TrimSpace(f.secret.Value()) != f.fromJSON[1]
}

func (f *oauthForm) update(msg tea.Msg) (tea.Cmd, bool) {
	return updateFileForm(f.keys, f, &f.path, &f.focus, msg)
}

func (f *oauthForm) pasted(data []byte, source string, err error) {
	if err != nil {
		f.loaded, f.data, f.err, f.errField = nil, nil, err, ocPath
		return
	}
	f.data, f.source, f.changed = data, source, true
	f.parseJSON()
}

func (f *oauthForm) edited(oauthField) { f.changed = true }

// validate builds the credential from the fields: the JSON when loaded and
// unchanged, else the client ID and secret by hand; then the redirect URI.
func (f *oauthForm) validate() (*core.Credential, []byte, error) {
	if v := strings.TrimSpace(f.path.Value()); v != "" && f.path.Value() != f.path.loadedFrom {
		f.load()
		if f.err != nil {
			return nil, nil, f.err
		}
	}
	cred, data := f.loaded, f.data
	if f.byHand() {
		if f.data == nil && strings.TrimSpace(f.id.Value()) == "" && strings.TrimSpace(f.secret.Value()) == "" {
			f.errField = ocPath
			return nil, nil, core.Inputf("enter the path of the OAuth client JSON (or paste it), or the client ID and client secret")
		}
		var err error
		cred, err = core.NewOAuthClientCredential(f.id.Value(), f.secret.Value(), nil)
		if err != nil {
			f.errField = ocID
			if strings.TrimSpace(f.id.Value()) != "" && core.ValidateOAuthClientID(f.id.Value()) == nil {
				f.errField = ocSecret
			}
			return nil, nil, err
		}
		data = core.OAuthClientFileJSON(cred, f.setup.profile.Endpoints)
	} else if cred == nil {
		f.errField = ocPath
		return nil, nil, f.err
	}
	if r := strings.TrimSpace(f.redirect.Value()); r != "" {
		probe := &core.Credential{Kind: core.KindOAuthClient, ClientID: cred.ClientID, ClientSecret: "x", RedirectURIs: []string{r}}
		if err := probe.RequireOAuthClient(); err != nil {
			f.errField = ocRedirect
			return nil, nil, err
		}
	}
	return cred, data, nil
}

// save stores the client and moves on to the consent step.
func (f *oauthForm) save() tea.Cmd {
	cred, data, err := f.validate()
	f.err = err
	if err != nil {
		f.focus = f.errField
		return f.focusField()
	}
	f.loaded, f.data = cred, data
	if f.byHand() {
		f.source = "entered by hand"
		f.fromJSON = [2]string{cred.ClientID, cred.ClientSecret}
	}
	if !bytes.Equal(f.setup.profile.Credential, data) {
		f.setup.profile.Credential = data
	}
	f.setup.profile.P12Password, f.setup.profile.P12ClientEmail, f.setup.profile.P12ClientID = "", "", ""
	f.setup.profile.RedirectURI = strings.TrimSpace(f.redirect.Value())
	f.setup.cred = cred
	f.changed = false
	f.owner.changed = false
	return nextStep(stepCredentials)
}

func (f *oauthForm) view(width, height int) string {
	s := f.styles
	out := f.title("OAuth client",
		"Cloud console > "+core.CredentialsSection+" > OAuth client ID (Web application): its downloaded JSON, or its ID and secret.", width) + "\n\n"
	out += f.field("Client JSON file ("+hint(f.keys.Form.Complete, "completes")+"; or paste the JSON)", &f.path.Model, f.focus == ocPath, width) + "\n"
	if f.focus == ocSecret || f.focus == ocID || f.byHand() || height >= 30 {
		out += f.field("or Client ID", &f.id, f.focus == ocID, width) + "\n"
		out += f.field("and Client secret", &f.secret, f.focus == ocSecret, width) + "\n"
	} else {
		out += "  " + s.Muted.Render(truncate("or the client ID and secret by hand ("+keyName(f.keys.Form.Down)+")", max(width-2, 10))) + "\n"
	}
	out += f.field("Redirect URI (only if it is the host product's callback)", &f.redirect, f.focus == ocRedirect, width) + "\n\n"
	switch {
	case f.err != nil:
		out += f.errView(f.err, width)
	case f.loaded != nil && !f.byHand():
		lw := 13
		c := f.loaded
		typ := "Web application"
		if c.ClientType == "installed" {
			typ = "Desktop app"
		}
		out += s.OK.Render("✓ OAuth client, type "+typ) + "\n"
		if f.source != strings.TrimSpace(f.path.Value()) {
			out += f.kvWrap("From", f.source, lw, width) + "\n"
		}
		out += f.kvWrap("Client ID", c.ClientID, lw, width) + "\n"
		if c.ProjectID != "" {
			out += f.kvWrap("Project", c.ProjectID, lw, width) + "\n"
		}
		out += f.kvWrap("Redirect URIs", orDefault(strings.Join(c.RedirectURIs, " "), "— (none listed)"), lw, width) + "\n"
		out += f.kvWrap("Secret", c.Fingerprint, lw, width) + "\n"
		out += s.Muted.Render(wrap("Compare these with the Cloud console. The client secret itself is never shown.", width))
	default:
		out += s.Muted.Render(wrap("Press "+keyTitle(f.keys.Global.Next)+" to check the client: the secret is kept sealed, only its fingerprint is shown.", width))
	}
	return out
}

func (f *oauthForm) helpKeyMap() stepKeys {
	return f.keyMap([]key.Binding{f.keys.Form.Complete}, []key.Binding{f.keys.Credentials.BackToChoice}, true, true, true)
}

func (f *oauthForm) focusedEmpty() bool { return f.inputs()[f.focus].Value() == "" }
