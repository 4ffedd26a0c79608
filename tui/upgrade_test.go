package tui

import (
	"maps"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
	"github.com/mailoauth/mailoauth/store"
	"github.com/mailoauth/mailoauth/store/storetest"
)

// TestUpgradeWizard is `mailoauth upgrade` on a terminal: a password setup
// imported by the store's upgrade functions opens with domain and
// mailboxes done; after the credentials and their authorization, the test
// step moves the mailboxes that pass to OAuth and erases their passwords,
// and the one Google does not know stays on its password with its finding.
func TestUpgradeWizard(t *testing.T) {
	sb, st, db := sandboxWithStore(t, sandbox.Options{Domain: "example.test", Users: 3})

	// IMAP without encryption: a risk the first screen must show
	// ghost is not a user in Google; it sorts first, so its row is the
	// one the test step's cursor starts on.
	passwords, risks := importLegacy(t, st, core.LegacyServer{Host: "imap.gmail.com", Port: 143, Security: "none"}, "Legacy-Wizard-", "-5tKp", "ghost", "user1", "user2", "user3")
	if _, err := st.TakeBackup(); err != nil { // a backup holding the 4 passwords
		t.Fatal(err)
	}

	h := start(t, New(Config{Store: st, Actor: "wizard upgrade test", Profile: "example.test", Upgrade: true, Sandbox: sb,
		UpgradeSummary: []string{"Legacy setup legacy.json: 4 mailbox(es); 4 new in the store, 4 waiting for OAuth (passwords sealed), 0 already on OAuth."},
		UpgradeRisks:   risks}), 120, 40)
	// the first screen: upgrade mode, what the legacy file held and risked
	h.walk("Upgrade from passwords to OAuth")
	h.mustShow("the upgrade's first screen", "UPGRADE", "Legacy setup legacy.json: 4 mailbox(es)", "4 mailbox(es) of example.test still sign in with a password",
		"What the legacy setup risked", "! The legacy IMAP server imap.gmail.com:143 was used without encryption (security none)",
		"enter start the upgrade")
	h.send(enter())
	h.waitUntil("the credentials step", func(s string) bool {
		return strings.Contains(s, "Fingerprint") || strings.Contains(s, "Service account (domain-wide delegation)")
	})
	h.mustShow("the upgrade mode and steps", "UPGRADE", "✓ 2 Domain", "● 3 Credentials", "○ 4 Authorize", "✓ 5 Mailboxes", "○ 6 Test")
	if !strings.Contains(h.p.screen(), "Fingerprint") {
		h.walk(enter(), "Fingerprint") // the path: service account
	}
	// the sandbox's key; a: the sandbox's Admin console authorizes the client ID
	h.walk(enter(), "Authorize the scope", runeKey('a'), "Verified", enter())
	// the legacy setup brought the mailboxes: straight to the test
	// all is the default sender and the 4 legacy mailboxes, as `mailoauth test --all`
	runAll(h, "all (5)", "4 passed, 1 failed")
	h.mustShow("the failing mailbox's finding", "ghost@example.test", "Fix:")
	// as `mailoauth upgrade` says: the backup still holds the passwords;
	// then the summary, still in the wizard: which mailboxes switched,
	// which not and why
	h.walk(keyCode(tea.KeyDown), "switched to OAuth", "1 backup(s) still hold legacy passwords",
		enter(), "3 of 4 mailbox(es) switched to OAuth; 1 still sign in with a password", "ghost@example.test: [unknown_user]")
	h.final()

	onlyPending(t, st, passwords, "ghost@example.test", core.CodeUnknownUser)
	storetest.NoneInFile(t, db, slices.Collect(maps.Values(passwords))...)
}

// TestUpgradeVerifyKeepsThePassword: step 4's Verify mints a token for the
// default sender, which proves the delegation, not that IMAP and SMTP work
// with OAuth. A default sender that still signs in with a password keeps
// it until the test step passes (the upgrade screen's promise); Verify
// used to switch it and erase its password.
func TestUpgradeVerifyKeepsThePassword(t *testing.T) {
	sb, st, _ := sandboxWithStore(t, sandbox.Options{Domain: "example.test", Users: 1})
	passwords, risks := importLegacy(t, st, core.LegacyServer{Host: "imap.gmail.com", Port: 993, Security: "ssl"}, "Legacy-Verify-", "-9qLw", "admin", "user1")
	h := start(t, New(Config{Store: st, Actor: "wizard upgrade test", Profile: "example.test", Upgrade: true, Sandbox: sb,
		UpgradeRisks: risks}), 120, 40)
	h.walk("Upgrade from passwords to OAuth", enter())
	h.waitUntil("the credentials step", func(s string) bool {
		return strings.Contains(s, "Fingerprint") || strings.Contains(s, "Service account (domain-wide delegation)")
	})
	if !strings.Contains(h.p.screen(), "Fingerprint") {
		h.walk(enter(), "Fingerprint")
	}
	h.walk(enter(), "Authorize the scope", runeKey('a'), "Verified")
	pending, err := st.PendingUpgrades("example.test")
	if err != nil || !slices.Equal(pending, []string{"admin@example.test", "user1@example.test"}) {
		t.Fatalf("pending after Verify: %v %v (want both: a token proves no mail flows)", pending, err)
	}
	if _, got, ok, err := st.PendingLogin("example.test", "admin@example.test"); err != nil || !ok || got != passwords["admin@example.test"] {
		t.Fatalf("the default sender lost its password at Verify: ok %v, err %v", ok, err)
	}
	// the test step still switches both
	h.walk(enter())
	runAll(h, "all (2)", "2 passed")
	if pending, err := st.PendingUpgrades("example.test"); err != nil || len(pending) != 0 {
		t.Fatalf("pending after the test step: %v %v", pending, err)
	}
}

// TestUpgradeWizardOAuthClient is `mailoauth upgrade` on a terminal with an
// OAuth client: after the client (step 3) and the default sender's consent
// (step 4) the wizard stops at the mailbox step, where each owner's consent
// is started with c, and only then tests. The mailboxes that consented
// switch to OAuth and lose their passwords; the one without consent stays
// on its password with consent_required, and its fix (step 5, c) is one
// esc away and upgrades it.
func TestUpgradeWizardOAuthClient(t *testing.T) {
	sb, st, db := sandboxWithStore(t, sandbox.Options{Domain: "example.test", Users: 3, AutoConsent: true})

	passwords, _ := importLegacy(t, st, core.LegacyServer{Host: "imap.gmail.com", Port: 993, Security: "ssl"}, "Legacy-Consent-", "-9qWz", "admin", "user1", "user2", "user3")

	h := start(t, New(Config{Store: st, Actor: "wizard upgrade test", Profile: "example.test", Upgrade: true, Sandbox: sb}), 120, 40)
	// the OAuth client, with the sandbox's client JSON
	h.walk("Upgrade from passwords to OAuth", enter(), "How will the product sign in",
		keyCode(tea.KeyDown), enter(), "Web application", enter(), "Consent screen")
	// the consents are still to do: the mailbox step is no longer done
	h.mustShow("the upgrade wizard's steps", "✓ 2 Domain", "✓ 3 Credentials", "● 4 Consent", "○ 5 Mailboxes", "○ 6 Test")

	// step 4: Generate token, the default sender's consent; step 5: not
	// skipped; the cursor starts on the first mailbox without consent, so
	// c twice consents user1 and user2
	h.walk(enter(), "Waiting for Google's answer", runeKey('a'), "Token generated", enter(), "Assign mailboxes")
	h.mustShow("the consents and what they are for", "1 of 4 consented", "switches to OAuth")
	for i, mb := range []string{"user1@example.test", "user2@example.test"} {
		consentInSandbox(h, mb)
		h.walk(itoa(i+2) + " of 4 consented")
	}
	h.send(enter()) // user3 left without consent
	runAll(h, "all (4)", "3 passed, 1 failed")
	h.mustShow("the failing mailbox's finding", "user3@example.test [consent_required]", "has not granted consent", "step 5 (Mailboxes)", "`mailoauth upgrade`", "start its consent (c)")

	onlyPending(t, st, passwords, "user3@example.test", core.CodeConsentRequired)

	// the fix, from where it is shown: esc to step 5, c on user3 (the
	// cursor is on it), back to the test and retry the failed one
	h.walk(keyCode(tea.KeyEscape), "3 of 4 consented")
	consentInSandbox(h, "user3@example.test")
	h.walk("4 of 4 consented", enter(), "Test the mailboxes", runeKey('f'))
	waitRunDone(h, "4 passed, 0 failed")
	h.final()

	if pending, err := st.PendingUpgrades("example.test"); err != nil || len(pending) != 0 {
		t.Fatalf("pending after consent and retry: %v %v", pending, err)
	}
	storetest.NoneInFile(t, db, slices.Collect(maps.Values(passwords))...)
	for m := range passwords {
		if _, _, ok, _ := st.PendingLogin("example.test", m); ok {
			t.Errorf("%s keeps its password after the upgrade", m)
		}
	}
}

// importLegacy imports a legacy password setup of example.test, as
// `mailoauth upgrade` does, with Gmail's SMTP, the given IMAP server and a
// mailbox per name (password prefix+name+suffix), and returns the
// passwords by address and the risks the plan found.
func importLegacy(t *testing.T, st *store.Store, imap core.LegacyServer, prefix, suffix string, names ...string) (map[string]string, []*core.Finding) {
	t.Helper()
	legacy := &core.LegacyConfig{Domain: "example.test", DefaultSender: "admin@example.test",
		IMAP: imap, SMTP: core.LegacyServer{Host: "smtp.gmail.com", Port: 465, Security: "ssl"}}
	passwords := map[string]string{}
	for _, m := range names {
		email := m + "@example.test"
		passwords[email] = prefix + m + suffix
		legacy.Mailboxes = append(legacy.Mailboxes, core.LegacyMailbox{Email: email, DisplayName: m, OwnerKind: "user",
			OwnerName: m, Username: email, Password: passwords[email]})
	}
	plan := core.PlanUpgrade(legacy, nil, nil, nil)
	plan.Profile.WizardStep = int(stepCredentials) + 1 // as `mailoauth upgrade` imports it
	if err := st.ImportLegacy(plan, "upgrade test"); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.PendingUpgrades("example.test"); len(p) != len(names) {
		t.Fatalf("pending after the import: %v", p)
	}
	return passwords, plan.Risks
}

// onlyPending checks the store after the upgrade's test step: only left
// still waits for OAuth and keeps its password, its result holds the
// finding code, and every other mailbox lost its password.
func onlyPending(t *testing.T, st *store.Store, passwords map[string]string, left string, code core.Code) {
	t.Helper()
	pending, err := st.PendingUpgrades("example.test")
	if err != nil || len(pending) != 1 || pending[0] != left {
		t.Fatalf("pending after the test step: %v %v", pending, err)
	}
	for m, pw := range passwords {
		_, got, ok, err := st.PendingLogin("example.test", m)
		switch {
		case err != nil:
			t.Fatal(err)
		case m == left && (!ok || got != pw):
			t.Errorf("%s, still pending, lost its password: ok %v", m, ok)
		case m != left && ok:
			t.Errorf("%s passed but keeps its password", m)
		}
	}
	rs, err := st.Results("example.test")
	if err != nil {
		t.Fatal(err)
	}
	if r := rs[left]; r.OK || r.Finding == nil || r.Finding.Code != code {
		t.Errorf("%s's stored result: %+v", left, r)
	}
}

// consentInSandbox consents mb at the mailbox step, the cursor on it: c
// starts its consent, the sandbox's a grants it, enter goes back to the list.
func consentInSandbox(h *harness, mb string) {
	h.t.Helper()
	h.walk(runeKey('c'), "Consent of "+mb, "Waiting for Google's answer", runeKey('a'), "Token generated: "+mb, enter())
}

// runAll waits for the test step, checks that it offers all (offer), runs
// it and waits until it reports want with nothing left to go.
func runAll(h *harness, offer, want string) {
	h.t.Helper()
	h.waitFor("Test the mailboxes")
	h.mustShow("the test step's offer", offer)
	h.send(enter())
	waitRunDone(h, want)
}
