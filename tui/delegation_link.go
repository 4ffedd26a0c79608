package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// link copies the Admin console link that fills in the delegation form
// (keys.Authorize.CopyLink), or opens it in a browser where there is one
// (keys.Authorize.OpenLink, as the consent step opens the consent URL) and
// copies it where there is none.
func (a *authorizeStep) link(open bool) tea.Cmd {
	id := a.clientID()
	if id == "" {
		a.setNotice("Load a service-account key first (step 3): the link needs its client ID.")
		return nil
	}
	u := core.DelegationLink(id, a.scopes())
	if open && a.openBrowser != nil && a.openBrowser(u) {
		a.setNotice("Opened the delegation link in a browser: check the form and click Authorize.")
		return nil
	}
	if open {
		a.setNotice("No browser here: copied the delegation link to the clipboard instead.")
	} else {
		a.setNotice("Copied the delegation link to the clipboard.")
	}
	return tea.SetClipboard(u)
}

// linkView shows the link whole where it fits on three lines; on a narrow
// screen, one line saying where it leads, with the keys that copy or open
// it whole.
func (a *authorizeStep) linkView(clientID string, lw, width int) string {
	u := core.DelegationLink(clientID, a.scopes())
	keys := hint(a.keys.Authorize.CopyLink, "copy") + " · " + hint(a.keys.Authorize.OpenLink, "open")
	if vw := max(width-lw-1, 10); strings.Count(wrap(u, vw), "\n") < 3 {
		return a.copyable("Link", u, keys, lw, width)
	}
	return a.copyable("Link", core.DelegationLinkShort, keys, lw, width)
}

// linkShown replaces the link in a finding's fix by a pointer to the Link
// line the step shows already, so the screen does not show it twice.
func linkShown(f *core.Finding, clientID string, scopes []string, openLink key.Binding) *core.Finding {
	if f == nil || clientID == "" {
		return f
	}
	g := *f
	g.Fix = strings.Replace(g.Fix, core.DelegationLink(clientID, scopes), "the Link above ("+keyName(openLink)+")", 1)
	return &g
}
