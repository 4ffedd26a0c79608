package tui

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// stepID numbers the wizard's steps in the order of the procedure.
type stepID int

const (
	stepProfile stepID = iota
	stepDomain
	stepCredentials
	stepAuthorize
	stepMailboxes
	stepTest
	stepSummary
	numSteps
)

var stepNames = [numSteps]string{"Profile", "Domain", "Credentials", "Authorize", "Mailboxes", "Test", "Summary"}

// common is the context every component embeds, as soft-serve's
// common.Common is for its components: the engine and store (deps), the
// styles and keymap, the spinner, the terminal's size and the status line
// the screen shows under every step. The rendering helpers (title, field,
// errView…) are its methods. What the wizard has gathered about the
// profile is not part of it: that is setup, one setupState the steps read
// and change (setup.go).
type common struct {
	deps
	styles  Styles
	keys    keymap
	spinner spinner.Model
	spin    bool

	width, height int

	statusLine

	// setup is the profile being set up and what goes with it
	setup *setupState
}

// statusLine is the message above the help: what the last action did or
// why it failed. It belongs to the screen rather than to the setup: any
// component writes it, the wizard shows it in the footer and clears it
// on every change of step, and it is never saved with the profile.
type statusLine struct {
	status    string
	statusErr bool
	// notice: the status is a passing remark ("Copied …"), cleared by the
	// next key so it never describes an older action
	notice bool
}

// wizard is the root: the steps, which one is current, and the screen
// around them.
type wizard struct {
	*common
	help help.Model

	cur   stepID
	steps [numSteps]component
	// consent replaces the authorize step for an OAuth client profile
	consent *consentStep

	confirmQuit bool
	// scroll is the page of a screen taller than the terminal (layout.go)
	scroll int
	// upgradeIntro: upgrade mode's first screen is showing
	upgradeIntro bool
}

// model is the root tea.Model.
type model struct{ w *wizard }

func newModel(d deps) model {
	nc := noColor()
	if d.noColor != nil {
		nc = *d.noColor
	}
	w := &wizard{common: &common{deps: d, styles: NewStyles(true, nc), keys: defaultKeymap(),
		width: 80, height: 24, setup: newSetupState()}, help: help.New()}
	w.help.Styles = w.styles.Help
	w.spinner = spinner.New(spinner.WithSpinner(spinner.Dot))
	w.steps = [numSteps]component{
		stepProfile:     newProfileStep(w.common),
		stepDomain:      newDomainStep(w.common),
		stepCredentials: newCredentialsStep(w.common),
		stepAuthorize:   newAuthorizeStep(w.common),
		stepMailboxes:   newMailboxesStep(w.common),
		stepTest:        newTestStep(w.common),
		stepSummary:     newSummaryStep(w.common),
	}
	w.consent = newConsentStep(w.common)
	w.upgradeIntro = d.upgrade
	return model{w: w}
}

func (m model) Init() tea.Cmd {
	w := m.w
	cmds := []tea.Cmd{tea.RequestBackgroundColor}
	if w.setup.profile.Domain == "" {
		cmds = append(cmds, w.start())
	}
	return tea.Batch(cmds...)
}

// start opens the preselected profile or the profile list.
func (w *wizard) start() tea.Cmd {
	if w.deps.profile != "" {
		d, err := core.NormalizeDomain(w.deps.profile)
		if err == nil {
			ps, _ := w.backend.ListProfiles()
			for _, p := range ps {
				if p.Domain == d {
					return w.resumeProfile(p, w.stateOf(d))
				}
			}
			w.newProfile()
			w.setup.profile.Domain = d
			return w.goTo(stepDomain)
		}
	}
	return w.goTo(stepProfile)
}

func (w *wizard) step() component { return w.stepAt(w.cur) }

// stepAt is the screen of a step: step 4 is the consent-screen checklist
// and first consent for an OAuth client, the delegation for a service account.
func (w *wizard) stepAt(id stepID) component {
	if id == stepAuthorize && w.setup.isOAuthClient() {
		return w.consent
	}
	return w.steps[id]
}

// stepName is a step's name in the step list.
func (w *wizard) stepName(id stepID) string {
	if id == stepAuthorize && w.setup.isOAuthClient() {
		return "Consent"
	}
	return stepNames[id]
}

// goTo makes id the current step.
func (w *wizard) goTo(id stepID) tea.Cmd {
	w.cur = id
	w.scroll = 0
	w.status, w.statusErr = "", false
	w.confirmQuit = false
	cmd := w.stepAt(id).Init()
	w.fit()
	return cmd
}

// advance saves the profile with its resume point past from and moves on.
func (w *wizard) advance(from stepID) tea.Cmd {
	next := from + 1
	if w.upgrade && next == stepMailboxes && !w.setup.isOAuthClient() {
		// the legacy setup brought the mailboxes; with an OAuth client
		// each still needs its owner's consent, given on that step (c)
		next = stepTest
	}
	if next >= numSteps {
		return tea.Quit
	}
	if w.setup.profile.WizardStep < int(next)+1 {
		w.setup.profile.WizardStep = int(next) + 1
	}
	note, err := w.saveProfile()
	if err != nil {
		return nil
	}
	if note != "" {
		w.resetSteps() // they show the store's profile from here on
	}
	cmd := w.goTo(next)
	if note != "" {
		w.setStatus(note)
	}
	return cmd
}

// saveProfile saves the profile; when it went on top of someone else's
// change, the session takes what the store now holds and note says so.
func (w *wizard) saveProfile() (note string, err error) {
	saved, others, err := w.backend.SyncProfile(w.setup.profile)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			w.reloadAfterConflict(err)
			return "", err
		}
		w.setErr("Could not save the profile: " + err.Error())
		return "", err
	}
	w.setup.isNew = false
	if others == "" {
		return "", nil
	}
	w.adoptStored(saved)
	return "Saved; the profile was also changed by " + others + ", so the profile and mailboxes shown are reloaded from the store.", nil
}

func (l *statusLine) setErr(s string)    { l.status, l.statusErr, l.notice = s, true, false }
func (l *statusLine) setStatus(s string) { l.status, l.statusErr, l.notice = s, false, false }

// setNotice shows a remark about the key just pressed until the next key.
func (l *statusLine) setNotice(s string) { l.status, l.statusErr, l.notice = s, false, true }

// newProfile starts a new profile, prefilled in sandbox mode.
func (w *wizard) newProfile() {
	w.setup.begin(core.Profile{Scopes: []string{core.ScopeMail}}, true)
	if sb := w.sandbox; sb != nil {
		w.setup.profile.Domain = sb.Domain
		w.setup.profile.DefaultSender = sb.Sender
		w.setup.profile.Endpoints = sb.Endpoints
	}
	w.resetSteps()
}

// openProfile loads an existing profile and resumes it.
func (w *wizard) openProfile(p core.Profile) tea.Cmd {
	w.setup.begin(p, false)
	w.resetSteps()
	w.resumeSandbox()
	resume := stepID(p.WizardStep - 1)
	if resume < stepDomain {
		resume = stepDomain
	}
	if resume >= numSteps {
		resume = stepSummary
	}
	return w.goTo(resume)
}

func (w *wizard) resetSteps() {
	w.steps[stepDomain] = newDomainStep(w.common)
	w.steps[stepCredentials] = newCredentialsStep(w.common)
	w.steps[stepAuthorize] = newAuthorizeStep(w.common)
	w.steps[stepMailboxes] = newMailboxesStep(w.common)
	w.steps[stepTest] = newTestStep(w.common)
	w.steps[stepSummary] = newSummaryStep(w.common)
	if w.consent != nil {
		w.consent.cancel()
	}
	w.consent = newConsentStep(w.common)
}

// resumeSandbox points a profile stored by an earlier sandbox run at this
// run's sandbox: its endpoints (new ports), its key and, once the
// authorize step was done, its delegation, as Google would remember them.
func (w *wizard) resumeSandbox() {
	sb := w.sandbox
	if sb == nil || w.setup.profile.Domain != sb.Domain {
		return
	}
	w.setup.profile.Endpoints = sb.Endpoints
	c := w.setup.cred
	// an OAuth client of an earlier sandbox is unknown to this one, which
	// has its own: use it (the consents then have to be given again)
	if c != nil && c.Kind == core.KindOAuthClient && c.TokenURI != core.GoogleTokenURL && len(sb.ClientJSON) > 0 {
		if nc, err := core.ParseCredential(sb.ClientJSON, core.CredentialOptions{}); err == nil && nc.ClientID != c.ClientID {
			w.setup.profile.Credential, w.setup.cred = sb.ClientJSON, nc
		}
		return
	}
	// a sandbox key names its own token URL, which core prefers over the
	// endpoints: point it at this run's token endpoint
	if c != nil && c.TokenURI != "" && c.TokenURI != core.GoogleTokenURL && c.TokenURI != sb.Endpoints.TokenURL {
		w.setup.profile.Credential = bytes.ReplaceAll(w.setup.profile.Credential, []byte(c.TokenURI), []byte(sb.Endpoints.TokenURL))
		if nc, err := w.setup.profile.LoadCredential(); err == nil {
			w.setup.cred, c = nc, nc
		}
	}
	if c == nil || c.PrivateKey == nil || sb.RegisterKey == nil {
		return
	}
	sb.RegisterKey(c.ClientEmail, c.ClientID, &c.PrivateKey.PublicKey, c.PrivateKeyID)
	if w.setup.profile.WizardStep > int(stepAuthorize)+1 && sb.Authorize != nil {
		sb.Authorize(c.ClientID, w.setup.profile.ScopeList())
	}
}

// startSpinner starts the spinner's ticks if they are not running.
func (c *common) startSpinner() tea.Cmd {
	if c.spin {
		return nil
	}
	c.spin = true
	return c.spinner.Tick
}

func (m model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.w.update(msg)
	m.w.fit()
	return m, cmd
}

func (w *wizard) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		w.width, w.height = msg.Width, msg.Height
		return nil
	case tea.BackgroundColorMsg:
		w.styles = NewStyles(msg.IsDark(), w.styles.NoColor)
		w.help.Styles = w.styles.Help
		return nil
	case spinner.TickMsg:
		if !w.step().busy() {
			w.spin = false
			return nil
		}
		var cmd tea.Cmd
		w.spinner, cmd = w.spinner.Update(msg)
		return cmd
	case tea.KeyPressMsg:
		return w.handleKey(msg)
	}
	if cmd, ok := w.navigate(msg); ok {
		return cmd
	}
	cmd, _ := w.step().Update(msg)
	return cmd
}

func (w *wizard) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	st := w.step()
	if w.notice {
		w.status, w.notice = "", false
	}
	if w.confirmQuit {
		switch {
		case key.Matches(msg, w.keys.Global.Yes):
			st.cancel()
			return tea.Quit
		case key.Matches(msg, w.keys.Global.No, w.keys.Global.Interrupt):
			w.confirmQuit = false
		}
		return nil
	}
	if w.width < minWidth || w.height < minHeight {
		// the screen says what size it needs; nothing else is shown to act on
		if key.Matches(msg, w.keys.Global.Quit) {
			st.cancel()
			return tea.Quit
		}
		return nil
	}
	if key.Matches(msg, w.keys.Global.Interrupt) {
		if st.busy() {
			st.cancel()
			w.setStatus("Cancelled.")
			return nil
		}
		return w.requestQuit()
	}
	// F1 toggles help everywhere; ? too, unless it is a character typed
	// into a non-empty text field
	if key.Matches(msg, w.keys.Global.F1) || (key.Matches(msg, w.keys.Global.Question) && (!st.typing() || fieldEmpty(st))) {
		w.help.ShowAll = !w.help.ShowAll
		return nil
	}
	if key.Matches(msg, w.keys.Global.Esc) && st.busy() {
		st.cancel()
		w.setStatus("Cancelled.")
		return nil
	}
	if w.upgradeIntro {
		if cmd, handled := w.upgradeIntroKey(msg); handled {
			return cmd
		}
		if key.Matches(msg, w.keys.Global.Quit) {
			return w.requestQuit()
		}
		return nil
	}
	if cmd, handled := st.Update(msg); handled {
		return cmd
	}
	if w.scrollKey(msg) {
		return nil
	}
	switch {
	case key.Matches(msg, w.keys.Global.Q) && !st.typing():
		return w.requestQuit()
	case key.Matches(msg, w.keys.Global.Back):
		if w.cur > stepProfile && !st.busy() {
			prev := w.cur - 1
			if prev == stepProfile && w.deps.profile != "" {
				return nil
			}
			return w.goTo(prev)
		}
	}
	return nil
}

// emptyField is implemented by steps whose focused text field can be
// empty, where ? then toggles help rather than typing a "?".
type emptyField interface{ focusedEmpty() bool }

func fieldEmpty(st component) bool {
	e, ok := st.(emptyField)
	return ok && e.focusedEmpty()
}

func (w *wizard) requestQuit() tea.Cmd {
	if w.step().dirty() {
		w.confirmQuit = true
		return nil
	}
	w.step().cancel()
	return tea.Quit
}

// cleanup stops running operations and removes the sandbox's temporary key.
func (w *wizard) cleanup() {
	for _, st := range w.steps {
		if st != nil {
			st.cancel()
		}
	}
	if w.consent != nil {
		w.consent.cancel()
	}
	if w.sandbox != nil && w.sandbox.CredentialPath != "" {
		_ = os.RemoveAll(filepath.Dir(w.sandbox.CredentialPath))
	}
}
