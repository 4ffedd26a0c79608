package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// The upgrade assistant's own screens (`mailoauth upgrade` on a terminal):
// the first screen says what the legacy setup was and what it risked, and
// the summary says which mailboxes switched to OAuth and which still sign
// in with a password, so nothing of the upgrade is told only after the
// wizard ends.

// upgradeState is what the store says of the upgrade, read when a screen
// that shows it is entered (never by a view).
type upgradeState struct {
	pending []string                      // mailboxes still on their password
	results map[string]core.MailboxResult // their last tests
	err     error
}

// loadUpgrade reads the upgrade's state for the current profile.
func (c *common) loadUpgrade() {
	if !c.upgrade {
		return
	}
	u := upgradeState{}
	if u.pending, u.err = c.backend.PendingUpgrades(c.setup.profile.Domain); u.err == nil {
		u.results, _ = c.backend.Results(c.setup.profile.Domain)
	}
	c.setup.upg = u
}

// upgradeIntroKeys handles a key on the first screen; handled reports
// whether it was the screen's.
func (w *wizard) upgradeIntroKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	if key.Matches(msg, w.keys.Upgrade.Start) {
		w.upgradeIntro = false
		return nil, true
	}
	return nil, false
}

func (w *wizard) upgradeIntroKeys() stepKeys {
	return w.keyMap([]key.Binding{w.keys.Upgrade.Start}, nil, false, false, false)
}

// upgradeIntroView is the first screen of upgrade mode.
func (w *wizard) upgradeIntroView(width int) string {
	s := w.styles
	var b strings.Builder
	b.WriteString(w.title("Upgrade from passwords to OAuth",
		"This is the upgrade assistant: the domain and mailboxes come from the legacy password setup; the credential and its authorization are left to do.", width) + "\n\n")
	for _, l := range w.upgradeLines {
		b.WriteString(s.Text.Render(wrap(l, width)) + "\n")
	}
	if w.setup.upg.err == nil {
		b.WriteString(s.Text.Render(wrap(fmt.Sprintf("%d mailbox(es) of %s still sign in with a password.", len(w.setup.upg.pending), w.setup.profile.Domain), width)) + "\n")
	}
	if len(w.upgradeRisks) > 0 {
		b.WriteString("\n" + s.Heading.Render("What the legacy setup risked") + "\n")
		for _, r := range w.upgradeRisks {
			b.WriteString(s.Warn.Render(wrap("! "+r.Summary, width)) + "\n")
			if r.Fix != "" {
				b.WriteString(s.Text.Render(wrap(r.Fix, width)) + "\n")
			}
		}
	}
	b.WriteString("\n" + s.Heading.Render("How it goes") + "\n")
	b.WriteString(s.Text.Render(wrap(fmt.Sprintf("Load the credential (step 3) and authorize it (step 4), then test (step 6): each mailbox that passes switches to OAuth and its password is erased from the store; the others keep theirs until they pass. %s starts at step %d.", keyTitle(w.keys.Upgrade.Start), w.cur+1), width)))
	return b.String()
}

// upgradeStatus is the summary's account of the upgrade: how many
// mailboxes switched, and each one still on its password with why.
func (c *common) upgradeStatus(total, width int) string {
	s := c.styles
	pending := c.setup.upg.pending
	if c.setup.upg.err != nil {
		return s.Error.Render(wrap("✗ "+sentence(c.setup.upg.err.Error()), width)) + "\n"
	}
	var b strings.Builder
	b.WriteString("\n" + s.Heading.Render("Upgrade") + "\n")
	if len(pending) == 0 {
		b.WriteString(s.OK.Render(wrap(fmt.Sprintf("Every mailbox of %s is on OAuth; no password is left in the store.", c.setup.profile.Domain), width)) + "\n")
		return b.String()
	}
	b.WriteString(s.Warn.Render(wrap(fmt.Sprintf("%d of %d mailbox(es) switched to OAuth; %d still sign in with a password (kept, sealed, until its checks pass):",
		max(total-len(pending), 0), total, len(pending)), width)) + "\n")
	for _, m := range pending {
		why := "not tested yet"
		if r, ok := c.setup.upg.results[m]; ok && r.Finding != nil {
			why = "[" + string(r.Finding.Code) + "] " + r.Finding.Summary
		} else if ok && r.OK {
			why = "passed, switch pending"
		}
		b.WriteString(s.Text.Render(wrap("  "+m+": "+why, width)) + "\n")
	}
	b.WriteString(s.Muted.Render(wrap("Fix them ("+hint(c.keys.Summary.Retest, "re-tests")+"; step 5 for consents), or run `mailoauth upgrade` again later: it picks up only these.", width)) + "\n")
	return b.String()
}

// upgradeBadge marks upgrade mode in the header.
func (c *common) upgradeBadge() string {
	if !c.upgrade {
		return ""
	}
	return c.styles.Badge.Render("UPGRADE")
}
