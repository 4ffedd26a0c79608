package tui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core/proxy"
)

// proxyPage is the summary's page for host products that cannot use OAuth:
// the settings of mailoauth proxy, and each mailbox's proxy password, made
// on request and shown only until the page is left (only its hash is kept).
//
// A password is saved only together with showing it: its hash is made off
// the update loop and saved when it comes back to the page that asked for
// it, so leaving the page meanwhile saves nothing (no mailbox gets a
// password nobody saw). Replacing a mailbox's password, which a product may
// be logging in with, is asked first.
type proxyPage struct {
	open    bool
	boxes   []string
	hasPW   map[string]bool
	shown   map[string]string // passwords made on this visit
	pending *proxyRequest     // the password being made
	confirm string            // the mailbox whose password would be replaced
	err     error
	// fingerprint is the SHA-256 of the store's proxy certificate, read
	// when the page opens ("" when there is none yet); certErr says why
	// the stored one cannot be used.
	fingerprint string
	certErr     error
	// the list of mailboxes, fitted by setSize to the room the settings
	// above it leave
	scrollList
	// tooTall is a page that leaves the list no row of its own (setSize)
	tooTall bool
}

// proxyRequest is one request for a new proxy password; its result counts
// only while it is the page's pending request.
type proxyRequest struct{ domain, mailbox string }

// proxyPasswordMsg is a proxy password and its hash, made off the update
// loop (argon2id takes a moment); nothing is saved yet.
type proxyPasswordMsg struct {
	req            *proxyRequest
	password, hash string
	err            error
}

func (pp *proxyPage) enter(w *common) {
	*pp = proxyPage{open: true, hasPW: map[string]bool{}, shown: map[string]string{}}
	pp.fingerprint, pp.certErr = storedFingerprint(w.backend)
	ms, err := w.backend.Mailboxes(w.setup.profile.Domain)
	if err != nil {
		pp.err = err
		return
	}
	for _, m := range ms {
		pp.boxes = append(pp.boxes, m.Email)
		if ok, err := w.backend.HasProxyPassword(w.setup.profile.Domain, m.Email); err == nil {
			pp.hasPW[m.Email] = ok
		} else {
			pp.err = err
		}
	}
	slices.Sort(pp.boxes)
}

// storedFingerprint is the fingerprint mailoauth proxy prints for the
// certificate it keeps in the store, loaded as the proxy loads it so that
// both show the same; "" when the store has none yet.
func storedFingerprint(be backend) (string, error) {
	c, k, found, err := be.ProxyCertificate()
	if err != nil || !found {
		return "", err
	}
	cert, err := proxy.LoadCertificate(c, k, "in the store")
	if err != nil {
		return "", err
	}
	return proxy.Fingerprint(cert), nil
}

// close leaves the page; the passwords shown are gone for good, and a
// password still being made is dropped unsaved.
func (pp *proxyPage) close() { *pp = proxyPage{} }

func (pp *proxyPage) update(w *common, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case proxyPasswordMsg:
		if !pp.open || msg.req != pp.pending {
			return nil, true // the page was left meanwhile: nothing saved
		}
		pp.pending = nil
		mb := msg.req.mailbox
		err := msg.err
		if err == nil {
			err = w.backend.SetProxyPassword(msg.req.domain, mb, msg.hash)
		}
		if err != nil {
			pp.err = err
			return nil, true
		}
		pp.shown[mb], pp.hasPW[mb] = msg.password, true
		w.setNotice("Made the proxy password of " + mb + ": note it now, it is shown only on this page.")
		return nil, true
	case tea.KeyPressMsg:
		if pp.confirm != "" {
			return pp.confirmReplace(w, msg)
		}
		switch {
		case key.Matches(msg, w.keys.Proxy.Close):
			if pp.pending != nil {
				w.setNotice("No new proxy password for " + pp.pending.mailbox + ": the page was left before it was shown.")
			}
			pp.close()
			return nil, true
		case pp.overflows() && key.Matches(msg, w.keys.Screen.MoreDown, w.keys.Screen.MoreUp):
			return nil, false // the wizard pages the screen, as its ↓ more marker says
		case pp.moveKey(w.keys.List, msg):
			pp.clampTo(len(pp.boxes))
			return nil, true
		case key.Matches(msg, w.keys.Proxy.Password) && len(pp.boxes) > 0 && pp.pending == nil:
			mb := pp.boxes[pp.cursor]
			if pp.hasPW[mb] {
				pp.confirm, pp.err = mb, nil
				return nil, true
			}
			return pp.makePassword(w, mb), true
		}
	}
	return nil, false
}

// confirmReplace answers the question whether to replace the mailbox's
// proxy password.
func (pp *proxyPage) confirmReplace(w *common, k tea.KeyPressMsg) (tea.Cmd, bool) {
	mb := pp.confirm
	switch {
	case key.Matches(k, w.keys.Proxy.Replace):
		pp.confirm = ""
		return pp.makePassword(w, mb), true
	case key.Matches(k, w.keys.Proxy.Keep):
		pp.confirm = ""
		w.setNotice("Kept the proxy password of " + mb + ".")
	case key.Matches(k, w.keys.Global.Interrupt):
		return nil, false
	}
	return nil, true
}

// makePassword starts making the mailbox's new proxy password.
func (pp *proxyPage) makePassword(w *common, mailbox string) tea.Cmd {
	req := &proxyRequest{domain: w.setup.profile.Domain, mailbox: mailbox}
	pp.pending, pp.err = req, nil
	return func() tea.Msg {
		pw, hash, err := proxy.NewPassword()
		return proxyPasswordMsg{req: req, password: pw, hash: hash, err: err}
	}
}

// setSize fits the list to the rows the view leaves it; the wizard calls
// it after every update, so the view and overflows need not count again.
func (pp *proxyPage) setSize(w *common, width, height int) {
	rows := pp.listRows(w, width, height)
	pp.tooTall = len(pp.boxes) > 0 && rows < 1
	pp.scrollList = pp.fitted(len(pp.boxes), rows)
}

// listRows is how many mailboxes the list shows: the rows the settings
// above it and the question and error below it leave, less a line for each
// password shown (it takes a line of its own), so that a password just
// made is on screen with its mailbox even while a notice takes room.
func (pp *proxyPage) listRows(w *common, width, height int) int {
	return height - lineCount(pp.head(w, width)) - lineCount(pp.tail(w, width)) - len(pp.shown)
}

// overflows reports a page that leaves the list no row of its own: the
// screen is taller than its room, and pgup/pgdn page it (layout.go)
// rather than the one row the list shows.
func (pp *proxyPage) overflows() bool { return pp.tooTall }

// head is the page above the list: the proxy's settings and the heading of
// the passwords.
func (pp *proxyPage) head(w *common, width int) string {
	st := w.styles
	lw := 11 // "Certificate"; the Auth line then fits 80 columns
	hs := proxy.HostSettings(proxy.DefaultIMAPAddr, proxy.DefaultSMTPAddr)
	var b strings.Builder
	b.WriteString(w.title("For products that only know passwords: mailoauth proxy",
		"Run `"+cmdPrefix(w)+"proxy` here (mailoauth-proxy.service); it logs in to Gmail with each mailbox's token.", width) + "\n\n")
	b.WriteString(st.Heading.Render("In the host product") + "\n")
	b.WriteString(w.kvWrap("IMAP", hs.IMAP.String(), lw, width) + "\n")
	b.WriteString(w.kvWrap("SMTP", hs.SMTP.String(), lw, width) + "\n")
	// the proxy may listen elsewhere: the product follows its flags
	b.WriteString(w.kvWrap("", "`mailoauth proxy`'s defaults, or those of --imap/--smtp (POP3 only: --pop3/--pop3s)", lw, width) + "\n")
	b.WriteString(w.kvWrap("Auth", hs.Auth, lw, width) + "\n")
	b.WriteString(w.kvWrap("Username", hs.Username, lw, width) + "\n")
	b.WriteString(pp.certificate(w, lw, width) + "\n")
	b.WriteString("\n" + st.Heading.Render("Proxy passwords") + "\n")
	if len(pp.boxes) == 0 {
		b.WriteString(st.Muted.Render(wrap("No mailboxes yet: add them in step 5.", width)) + "\n")
	}
	return b.String()
}

// certificate is what the product does with the proxy's certificate: pin
// the fingerprint the proxy prints (on lines of its own, so that it is cut
// only at its colons), or trust it; before there is one, which command
// makes it.
func (pp *proxyPage) certificate(w *common, lw, width int) string {
	switch {
	case pp.certErr != nil:
		return w.kvWrap("Certificate", pp.certErr.Error(), lw, width)
	case pp.fingerprint == "":
		return w.kvWrap("Certificate", "none yet: `"+cmdPrefix(w)+"proxy cert` makes it (so does the proxy's first start)", lw, width)
	}
	out := w.kvWrap("Certificate", "pin SHA-256, or trust `"+cmdPrefix(w)+"proxy cert`", lw, width)
	for _, l := range strings.Split(wrap(pp.fingerprint, width-2), "\n") {
		out += "\n  " + w.styles.Value.Render(l)
	}
	return out
}

// tail is the page below the list: the question whether to replace a
// password, and an error.
func (pp *proxyPage) tail(w *common, width int) string {
	var b strings.Builder
	if pp.confirm != "" {
		b.WriteString(w.styles.Warn.Render(wrap(fmt.Sprintf("Replace %s's proxy password? Products using it then need the new one. %s, %s.",
			pp.confirm, hint(w.keys.Proxy.Replace, "replaces it"), hint(w.keys.Proxy.Keep, "keeps it")), width)) + "\n")
	}
	if pp.err != nil {
		b.WriteString(w.errView(pp.err, width) + "\n")
	}
	return b.String()
}

func (pp *proxyPage) view(w *common, width int) string {
	st := w.styles
	var b strings.Builder
	b.WriteString(pp.head(w, width))
	// the list as setSize fitted it
	sl := pp.scrollList
	for i := sl.offset; i < len(pp.boxes) && i < sl.offset+sl.pageSize; i++ {
		mb := pp.boxes[i]
		mark := "  "
		if i == sl.cursor {
			mark = "› "
		}
		state := st.Muted.Render("no proxy password yet")
		switch {
		case pp.pending != nil && pp.pending.mailbox == mb:
			state = st.Muted.Render("making one…")
		case pp.shown[mb] != "":
			// on a line of its own, so a narrow terminal never cuts it
			state = st.Muted.Render("new proxy password:") + "\n    " + st.OK.Render(pp.shown[mb]) + st.Muted.Render("  (shown once)")
		case pp.hasPW[mb]:
			state = st.Muted.Render("set (" + hint(w.keys.Proxy.Password, "makes a new one") + ")")
		}
		b.WriteString(mark + fmt.Sprintf("%-*s", min(32, width/2), mb) + " " + state + "\n")
	}
	b.WriteString(pp.tail(w, width))
	return strings.TrimRight(b.String(), "\n")
}

func (pp *proxyPage) keys(w *common) stepKeys {
	if pp.confirm != "" {
		return stepKeys{short: []key.Binding{w.keys.Proxy.Replace, w.keys.Proxy.Keep}, full: [][]key.Binding{{w.keys.Proxy.Replace, w.keys.Proxy.Keep}}}
	}
	return w.keyMap([]key.Binding{w.keys.Proxy.Password, w.keys.Proxy.Close}, w.keys.List.moves(false), false, false, false)
}
