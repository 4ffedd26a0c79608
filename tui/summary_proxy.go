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
type proxyPage struct {
	open    bool
	boxes   []string
	hasPW   map[string]bool
	shown   map[string]string // passwords made on this visit
	cursor  int
	working string // the mailbox whose password is being made
	err     error
}

// proxyPasswordMsg is a proxy password made (and its hash saved) off the
// update loop: argon2id takes a moment.
type proxyPasswordMsg struct {
	mailbox, password string
	err               error
}

func (pp *proxyPage) enter(w *common) {
	*pp = proxyPage{open: true, hasPW: map[string]bool{}, shown: map[string]string{}}
	ms, err := w.backend.Mailboxes(w.profile.Domain)
	if err != nil {
		pp.err = err
		return
	}
	for _, m := range ms {
		pp.boxes = append(pp.boxes, m.Email)
		if ok, err := w.backend.HasProxyPassword(w.profile.Domain, m.Email); err == nil {
			pp.hasPW[m.Email] = ok
		} else {
			pp.err = err
		}
	}
	slices.Sort(pp.boxes)
}

// close leaves the page; the passwords shown are gone for good.
func (pp *proxyPage) close() { *pp = proxyPage{} }

func (pp *proxyPage) update(w *common, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case proxyPasswordMsg:
		pp.working = ""
		if msg.err != nil {
			pp.err = msg.err
			return nil, true
		}
		if pp.open {
			pp.shown[msg.mailbox], pp.hasPW[msg.mailbox] = msg.password, true
			w.setNotice("Made the proxy password of " + msg.mailbox + ": note it now, it is shown only on this page.")
		}
		return nil, true
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, km.Proxy.Close):
			pp.close()
			return nil, true
		case key.Matches(msg, km.List.Down):
			pp.cursor = min(pp.cursor+1, max(len(pp.boxes)-1, 0))
			return nil, true
		case key.Matches(msg, km.List.Up):
			pp.cursor = max(pp.cursor-1, 0)
			return nil, true
		case key.Matches(msg, km.Proxy.Password) && len(pp.boxes) > 0 && pp.working == "":
			mb, domain, be := pp.boxes[pp.cursor], w.profile.Domain, w.backend
			pp.working, pp.err = mb, nil
			return func() tea.Msg {
				pw, hash, err := proxy.NewPassword()
				if err == nil {
					err = be.SetProxyPassword(domain, mb, hash)
				}
				return proxyPasswordMsg{mailbox: mb, password: pw, err: err}
			}, true
		}
	}
	return nil, false
}

func (pp *proxyPage) view(w *common, width, height int) string {
	st := w.styles
	lw := 12
	hs := proxy.HostSettings(proxy.DefaultIMAPAddr, proxy.DefaultSMTPAddr)
	var b strings.Builder
	b.WriteString(w.title("For products that only know passwords: mailoauth proxy",
		"Run `"+cmdPrefix(w)+"proxy` on this server (as a service: mailoauth-proxy.service); it logs in to Gmail with each mailbox's token.", width) + "\n\n")
	b.WriteString(st.Heading.Render("In the host product") + "\n")
	b.WriteString(w.kvWrap("IMAP", hs.IMAP.String(), lw, width) + "\n")
	b.WriteString(w.kvWrap("SMTP", hs.SMTP.String(), lw, width) + "\n")
	b.WriteString(w.kvWrap("Auth", hs.Auth, lw, width) + "\n")
	b.WriteString(w.kvWrap("Username", hs.Username, lw, width) + "\n")
	b.WriteString(w.kvWrap("Certificate", "the proxy's own, "+proxy.CertificateAdvice, lw, width) + "\n")
	b.WriteString("\n" + st.Heading.Render("Proxy passwords") + "\n")
	if len(pp.boxes) == 0 {
		b.WriteString(st.Muted.Render(wrap("No mailboxes yet: add them in step 5.", width)) + "\n")
	}
	// the list scrolls with the cursor
	rows := max(height-17, 3) // what the list leaves of the page
	first := max(0, min(pp.cursor-rows/2, len(pp.boxes)-rows))
	for i := first; i < len(pp.boxes) && i < first+rows; i++ {
		mb := pp.boxes[i]
		mark := "  "
		if i == pp.cursor {
			mark = "› "
		}
		state := st.Muted.Render("no proxy password yet")
		switch {
		case pp.working == mb:
			state = st.Muted.Render("making one…")
		case pp.shown[mb] != "":
			// on a line of its own, so a narrow terminal never cuts it
			state = st.Muted.Render("new proxy password:") + "\n    " + st.OK.Render(pp.shown[mb]) + st.Muted.Render("  (shown once)")
		case pp.hasPW[mb]:
			state = st.Muted.Render("set (" + hint(km.Proxy.Password, "makes a new one") + ")")
		}
		b.WriteString(mark + fmt.Sprintf("%-*s", min(32, width/2), mb) + " " + state + "\n")
	}
	if pp.err != nil {
		b.WriteString(w.errView(pp.err, width) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func (pp *proxyPage) keys(w *common) stepKeys {
	return keyMap([]key.Binding{km.Proxy.Password, km.Proxy.Close}, []key.Binding{km.Summary.Scroll}, false, false, false)
}
