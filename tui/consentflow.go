package tui

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/consent"
)

// consentFlow is one mailbox's consent on the OAuth client path, shared by
// the consent step (the default sender's "Generate token") and the mailbox
// step. It runs the steps `mailoauth authorize` runs (core's Begin, Wait or
// Submit, Finish), each from a command, so every check, bound and message
// is core's.
type consentFlow struct {
	phase    consentPhase
	mailbox  string
	paste    bool // paste-back instead of the loopback listener
	pending  *consent.Pending
	input    textinput.Model
	inputErr error
	grant    *core.Grant
	err      error
	gen      int
	cancelFn context.CancelFunc
	// sandboxNote says what the sandbox's "browser" did
	sandboxNote string
}

// consentWait bounds the wait for the answer; 0 is core's
// DefaultConsentWait. Only tests change it, to see core's finding when no
// answer came.
var consentWait time.Duration

type consentPhase int

const (
	cfIdle consentPhase = iota
	cfPreparing
	cfWaiting // the URL is shown; the loopback listener or the paste field waits
	cfExchanging
	cfDone
)

// flowID tells the flows of the consent and mailbox steps apart.
type flowID int

const (
	flowStep flowID = iota
	flowMailbox
)

type consentReadyMsg struct {
	id      flowID
	gen     int
	pending *consent.Pending
	err     error
}

type consentAnswerMsg struct {
	id     flowID
	gen    int
	answer string
	err    error
}

type consentDoneMsg struct {
	id    flowID
	gen   int
	grant *core.Grant
	err   error
}

func newConsentFlow() *consentFlow {
	f := &consentFlow{input: newInput("http://127.0.0.1/callback?state=…&code=4/0A… (or just the code)")}
	return f
}

// pasteByDefault reports whether consent comes back by paste: on a remote
// session, or when the redirect URI is the host product's callback, which
// no listener here can receive.
func pasteByDefault(w *common) bool {
	if w.setup.pasteChoice != nil {
		return *w.setup.pasteChoice // the administrator's m on the consent step
	}
	if w.remote {
		return true
	}
	c := w.setup.cred
	if c == nil {
		return false
	}
	return !core.IsLoopbackURI(core.ConsentRedirectURI(&w.setup.profile, c, false))
}

func (f *consentFlow) running() bool {
	return f.phase == cfPreparing || f.phase == cfExchanging || (f.phase == cfWaiting && !f.paste)
}

// active reports an attempt that has started and not ended.
func (f *consentFlow) active() bool {
	return f.phase == cfPreparing || f.phase == cfWaiting || f.phase == cfExchanging
}

func (f *consentFlow) cancel() {
	if f.cancelFn != nil {
		f.cancelFn()
		f.cancelFn = nil
	}
	if f.pending != nil {
		f.pending.Close()
	}
	f.gen++
}

// abort ends the attempt and forgets it.
func (f *consentFlow) abort() {
	f.cancel()
	f.phase, f.pending, f.inputErr = cfIdle, nil, nil
	f.input.Blur()
}

// retryHint completes the fix of core's "no answer in time" finding with
// the wizard's way to try again: g, in the consent and the mailbox step.
func (c *common) retryHint() string { return "press " + hint(c.keys.Consent.Generate, "to try again") }

// start begins the consent of mailbox with core's Begin: listener (or
// paste), consent URL, preflight, browser.
func (f *consentFlow) start(w *common, id flowID, mailbox string, paste bool) tea.Cmd {
	f.cancel()
	f.mailbox, f.paste = mailbox, paste
	f.grant, f.err, f.inputErr, f.pending, f.sandboxNote = nil, nil, nil, nil, ""
	f.input.SetValue("")
	p := w.setup.profile
	authz, err := consent.New(&p, w.backend.TokenCache(p.Domain), nil)
	if err != nil {
		f.phase, f.err = cfDone, err
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancelFn = cancel
	f.phase = cfPreparing
	gen := f.gen
	opts := consent.Options{Paste: paste, OpenBrowser: w.openBrowser, Retry: w.retryHint(), Wait: consentWait, Clock: w.clock}
	run := func() tea.Msg {
		pc, err := authz.Begin(ctx, mailbox, opts)
		return consentReadyMsg{id: id, gen: gen, pending: pc, err: err}
	}
	return tea.Batch(run, w.startSpinner())
}

// update handles the flow's messages and keys; handled reports a key used.
func (f *consentFlow) update(w *common, id flowID, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case consentReadyMsg:
		if msg.id != id || msg.gen != f.gen {
			if msg.pending != nil {
				msg.pending.Close()
			}
			return nil, false
		}
		if msg.err != nil {
			f.phase, f.err = cfDone, msg.err
			return nil, false
		}
		f.phase, f.pending = cfWaiting, msg.pending
		if f.paste {
			return f.input.Focus(), false
		}
		return tea.Batch(f.waitLoopback(id), w.startSpinner()), false
	case consentAnswerMsg:
		if msg.id != id || msg.gen != f.gen {
			return nil, false
		}
		if msg.err != nil {
			f.cancel()
			f.phase, f.err = cfDone, msg.err
			return nil, false
		}
		return f.answer(w, id, msg.answer), false
	case consentDoneMsg:
		if msg.id != id || msg.gen != f.gen {
			return nil, false
		}
		f.cancel()
		f.phase, f.grant, f.err = cfDone, msg.grant, msg.err
		if msg.err == nil && msg.grant != nil {
			w.setStatus("Consent of " + msg.grant.Mailbox + " stored.")
		}
		return nil, false
	case tea.PasteMsg:
		if f.phase == cfWaiting && f.paste {
			var cmd tea.Cmd
			f.input, cmd = f.input.Update(msg)
			return cmd, true
		}
	case tea.KeyPressMsg:
		if f.phase != cfWaiting {
			return nil, false
		}
		switch {
		case key.Matches(msg, w.keys.Flow.OpenURL) && !f.paste:
			if w.openBrowser != nil && w.openBrowser(f.pending.URL) {
				w.setStatus("Opened the consent URL in a browser.")
				return nil, true
			}
			w.setStatus("No browser here: copied the consent URL to the clipboard instead.")
			return tea.SetClipboard(f.pending.URL), true
		case key.Matches(msg, w.keys.Flow.CopyURL) && !f.paste:
			w.setStatus("Copied the consent URL to the clipboard.")
			return tea.SetClipboard(f.pending.URL), true
		case key.Matches(msg, w.keys.Flow.CopyURLPaste) && f.paste:
			w.setStatus("Copied the consent URL to the clipboard.")
			return tea.SetClipboard(f.pending.URL), true
		case key.Matches(msg, w.keys.Flow.SandboxOK) && w.sandbox != nil && !f.paste,
			key.Matches(msg, w.keys.Flow.SandboxOKPaste) && w.sandbox != nil && f.paste:
			return f.sandboxAllow(w, id), true
		case key.Matches(msg, w.keys.Flow.Cancel):
			f.abort()
			w.setStatus("Consent cancelled.")
			return nil, true
		}
		if f.paste {
			if key.Matches(msg, w.keys.Flow.Submit) {
				return f.answer(w, id, f.input.Value()), true
			}
			if key.Matches(msg, w.keys.Global.Interrupt) {
				return nil, false
			}
			var cmd tea.Cmd
			f.input, cmd = f.input.Update(msg)
			return cmd, true
		}
	}
	return nil, false
}

// cancellable is a context the flow's cancel ends, besides what it ended
// before.
func (f *consentFlow) cancellable() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	prev := f.cancelFn
	f.cancelFn = func() {
		cancel()
		if prev != nil {
			prev()
		}
	}
	return ctx, cancel
}

// waitLoopback waits, with core's Wait, for Google's redirect to the
// listener; core bounds the wait and words the finding when none came.
func (f *consentFlow) waitLoopback(id flowID) tea.Cmd {
	pc, gen := f.pending, f.gen
	ctx, cancel := f.cancellable()
	return func() tea.Msg {
		defer cancel()
		u, err := pc.Wait(ctx)
		return consentAnswerMsg{id: id, gen: gen, answer: u, err: err}
	}
}

// answer takes the redirected address (or code) with core's Submit, then
// Finish exchanges the code. A pasted answer that is not one stays in the
// field with core's sentence.
func (f *consentFlow) answer(w *common, id flowID, in string) tea.Cmd {
	code, err := f.pending.Submit(in)
	if err != nil {
		if f.paste && core.FindingOf(err) == nil {
			f.inputErr = err
			return nil
		}
		f.cancel()
		f.phase, f.err = cfDone, err
		return nil
	}
	f.inputErr = nil
	f.input.Blur()
	f.phase = cfExchanging
	pc, gen := f.pending, f.gen
	ctx, cancel := f.cancellable()
	run := func() tea.Msg {
		defer cancel()
		g, err := pc.Finish(ctx, code)
		return consentDoneMsg{id: id, gen: gen, grant: g, err: err}
	}
	return tea.Batch(run, w.startSpinner())
}

// sandboxAllow plays the mailbox owner in the sandbox: it opens the consent
// URL and chooses Allow. With the listener the redirect reaches it; with
// paste-back the address the browser ends on is pasted.
func (f *consentFlow) sandboxAllow(w *common, id flowID) tea.Cmd {
	c, gen, paste, ep, approve := f.pending, f.gen, f.paste, w.setup.profile.Endpoints, w.sandbox.ApproveConsent
	f.sandboxNote = "Sandbox: " + f.mailbox + " opened the consent page and chose Allow."
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		loc, err := sandboxBrowse(ctx, ep, approve, c.URL, !paste)
		if err != nil {
			return consentAnswerMsg{id: id, gen: gen, err: err}
		}
		if !paste {
			return nil // the listener hears the redirect
		}
		return consentAnswerMsg{id: id, gen: gen, answer: loc}
	}
}

// answering reports the paste field shown, waiting for the address.
func (f *consentFlow) answering() bool { return f.phase == cfWaiting && f.paste }

// view renders the attempt in width columns.
func (f *consentFlow) view(w *common, width int) string {
	s := w.styles
	var out string
	switch f.phase {
	case cfPreparing:
		out = w.spinner.View() + " Checking Google's consent page for " + f.mailbox + "…  " + s.Muted.Render(hint(w.keys.Flow.Cancel, ""))
	case cfWaiting:
		out = s.Text.Render(wrap("Open this URL in a browser, sign in as "+f.mailbox+" and choose Allow:", width)) + "\n"
		out += s.Code.Render(wrap(f.pending.URL, width)) + "\n"
		switch {
		case f.paste:
			out += w.field("Then paste the address the browser ends on (or just the code)", &f.input, true, width) + "\n"
			if f.inputErr != nil {
				out += w.errView(f.inputErr, width) + "\n"
			}
		default:
			if f.pending.Opened {
				out += s.Muted.Render(wrap("A browser was opened on it.", width)) + "\n"
			}
			out += w.spinner.View() + " Waiting for Google's answer on " + listenAddr(f.pending.RedirectURI) + "…"
		}
		if f.sandboxNote != "" {
			out += "\n" + s.Muted.Render(wrap(f.sandboxNote, width))
		}
	case cfExchanging:
		out = w.spinner.View() + " Exchanging the code for tokens…"
	case cfDone:
		out = f.resultView(w, width)
	}
	return out
}

// resultView is what "Generate token" shows in the host products: the
// access token's validity and whether a refresh token came, or the finding.
func (f *consentFlow) resultView(w *common, width int) string {
	s := w.styles
	if f.err != nil {
		out := ""
		if f.grant != nil {
			out = s.Muted.Render(wrap(fmt.Sprintf("An access token came (valid %d s) but:", int(f.grant.ExpiresIn.Seconds())), width)) + "\n"
		}
		return out + w.errView(f.err, width)
	}
	g := f.grant
	if g == nil {
		return ""
	}
	lw := 14
	out := s.OK.Render(wrap("✓ Token generated: "+g.Mailbox+" gave consent.", width)) + "\n"
	out += w.kvWrap("Access token", fmt.Sprintf("valid for %d s (until %s)", int(g.ExpiresIn.Seconds()), g.Token.Expiry.Local().Format("15:04:05")), lw, width) + "\n"
	out += w.kvWrap("Refresh token", "received and stored sealed ("+g.RefreshFingerprint+")", lw, width) + "\n"
	out += w.kvWrap("Scopes", strings.Join(g.Scopes, " "), lw, width)
	return out
}

// listenAddr is where the loopback listener listens, for the screen.
func listenAddr(redirect string) string {
	u, err := url.Parse(redirect)
	if err != nil {
		return redirect
	}
	return u.Host
}

// keys are the flow's bindings while it runs (short help line, then the
// rest for the full help); nil when it is not running.
func (f *consentFlow) keys(w *common) (short, more []key.Binding) {
	switch {
	case f.phase == cfWaiting && f.paste:
		// in the paste field Enter obviously submits: it goes to full help
		short = []key.Binding{w.keys.Flow.CopyURLPaste}
		if w.sandbox != nil {
			short = append(short, w.keys.Flow.SandboxOKPaste)
		}
		return append(short, w.keys.Flow.Cancel), []key.Binding{w.keys.Flow.Submit}
	case f.phase == cfWaiting:
		short = []key.Binding{w.keys.Flow.OpenURL, w.keys.Flow.CopyURL}
		if w.sandbox != nil {
			short = append(short, w.keys.Flow.SandboxOK)
		}
		return append(short, w.keys.Flow.Cancel), nil
	case f.running():
		return []key.Binding{w.keys.Flow.Cancel}, nil
	}
	return nil, nil
}
