package tui

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// TestProfileStepShowsWorkDoneOnTheCommandLine: a profile configured as
// `mailoauth setup` does (the wizard never saw it: no wizard step saved)
// whose `test --all` passed is listed with its real state and opens on its
// summary, not at "step 2 of 7" on the Domain step (issue 9 item 8).
func TestProfileStepShowsWorkDoneOnTheCommandLine(t *testing.T) {
	// Dir: the sandbox writes its CA there, which its endpoints then name
	sb, st, _ := sandboxWithStore(t, sandbox.Options{Domain: "demo.example", Users: 2, Delegate: true, Dir: t.TempDir()})
	// what setup, mailbox import and test --all store
	p := sandboxProfile(sb, sb.ServiceAccountJSON())
	ms := saveSandboxSetup(t, st, sb, p, "cli root@host")
	tester, err := core.NewTesterWith(&p, st.TokenCache("demo.example"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	boxes, _ := st.Mailboxes("demo.example")
	results := core.RunAll(ctx, tester, core.TestTargets(&p, boxes, true, nil), core.RunOptions{Checks: core.AllChecks})
	for _, r := range results {
		if !r.OK {
			t.Fatalf("test --all in the sandbox: %s %v", r.Mailbox, r.Finding)
		}
	}
	if err := st.SaveResults("demo.example", results); err != nil {
		t.Fatal(err)
	}

	h := start(t, New(Config{Store: st, Actor: "wizard test"}), 120, 40)
	row := fmt.Sprintf("service-account key (JSON) · delegation verified · %d mailbox(es) · last test all %d passed",
		len(ms), len(results))
	// the first frames are drawn at 80x24, before the terminal's size
	// arrives: wait for the row on one line at 120 columns
	h.waitFor("demo.example  (complete)")
	h.waitFor(row)
	h.mustShow("the profile row", row, time.Now().Format("2006-01-02 15:"))
	h.mustNotShow("the profile row", "step 2 of 7")
	h.send(enter())
	h.waitFor("demo.example is configured")
	h.final()
}

// TestProfileStepResumesWhereTheWorkStands: each state opens its step.
func TestProfileStepResumesWhereTheWorkStands(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(be *fakeBackend)
		row   string
		step  string
	}{
		{"no credential", func(be *fakeBackend) {
			p := acmeProfile(t, 0)
			p.Credential = nil
			_ = be.SaveProfile(p)
		}, "resumes at step 3 of 7, Credentials", "How will the product sign in"},
		{"credential, no token yet", func(be *fakeBackend) { _ = be.SaveProfile(acmeProfile(t, 0)) },
			"resumes at step 4 of 7, Authorize", "Authorize the scope"},
		{"verified, mailboxes untested", func(be *fakeBackend) {
			_ = be.SaveProfile(acmeProfile(t, 0))
			_ = be.PutMailboxes("acme.example", []core.Mailbox{{Email: "a@acme.example", OwnerKind: core.OwnerUser}})
			_ = be.SaveResults("acme.example", []core.MailboxResult{{Mailbox: "administrator@acme.example", OK: true,
				Checks: []core.CheckResult{{Name: core.CheckToken, OK: true}}, CheckedAt: time.Now()}})
		}, "resumes at step 6 of 7, Test", "Test the mailboxes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := newFakeBackend()
			tc.setup(be)
			d := newDriver(t, fakeDeps(be, &fakeEngine{}, ""), 80, 24)
			d.mustShow(tc.row)
			d.press(enter())
			d.mustShow(tc.step)
		})
	}
}

// TestProfileStepDeletesAfterAsking: d asks, n keeps, y deletes.
func TestProfileStepDeletesAfterAsking(t *testing.T) {
	be := withProfile(acmeProfile(t, 7))
	typo := acmeProfile(t, 2)
	typo.Domain, typo.DefaultSender = "acme.exmaple", "administrator@acme.exmaple"
	_ = be.SaveProfile(typo)
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, ""), 80, 24)
	d.mustShow("acme.exmaple")
	d.press(keyCode(tea.KeyDown), runeKey('d'))
	d.mustShow("Delete profile acme.exmaple with its 0 mailbox(es)")
	d.mustShow("y delete • n keep")
	d.press(runeKey('n'))
	d.mustNotShow("Delete profile")
	if _, ok := be.profiles["acme.exmaple"]; !ok {
		t.Fatal("n deleted the profile")
	}
	d.press(runeKey('d'), runeKey('y'))
	d.mustShow("Deleted profile acme.exmaple")
	d.mustShow("/fake/mailoauth.db.bak")
	d.mustNotShow("acme.exmaple  (")
	if _, ok := be.profiles["acme.exmaple"]; ok {
		t.Fatal("y kept the profile")
	}
	if _, ok := be.profiles["acme.example"]; !ok {
		t.Fatal("the other profile was deleted")
	}
	// d on "Add a new domain profile" deletes nothing
	d.press(keyCode(tea.KeyDown), keyCode(tea.KeyDown), runeKey('d'))
	d.mustNotShow("Delete profile")
}

// TestSandboxResume is a second `wizard --sandbox` run against the same
// store: the sandbox is new (new ports, never saw the stored key), the
// complete profile opens on its summary and re-tests green.
func TestSandboxResume(t *testing.T) {
	st, _ := openTestStore(t, "r.db")
	first, err := sandbox.Start(sandbox.Options{Domain: "demo.example", Users: 2, Delegate: true})
	if err != nil {
		t.Fatal(err)
	}
	p := sandboxProfile(first, first.ServiceAccountJSON())
	p.WizardStep = int(numSteps)
	ms := saveSandboxSetup(t, st, first, p, "test")
	first.Close()

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sb := startSandbox(t, sandbox.Options{Domain: "demo.example", Users: 2, Key: key})
	h := start(t, New(Config{Store: st, Actor: "wizard test", Sandbox: sb}), 80, 24)
	// finished in the wizard but never tested: it opens on its summary
	h.waitFor("demo.example  (resumes at step 7 of 7, Summary)")
	h.send(enter())
	h.waitFor("demo.example is configured")
	h.mustShow("the summary's keys", "r re-test", "2-5 edit step")
	h.send(runeKey('r'))
	waitRunDone(h, itoa(len(ms))+" passed, 0 failed")
	h.final()
}

// A second `wizard --sandbox` on the same store: the new sandbox has its
// own OAuth client, which replaces the earlier one's (Google would not know
// a client of another project either).
func TestSandboxResumeOAuth(t *testing.T) {
	first, st := startOAuthSandbox(t, 1)
	p := sandboxProfile(first, first.OAuthClientJSON())
	p.WizardStep = int(numSteps)
	if err := st.SaveProfile(p, "test"); err != nil {
		t.Fatal(err)
	}
	first.Close()
	sb := startSandbox(t, sandbox.Options{Domain: "demo.example", Users: 1})
	m := New(Config{Store: st, Actor: "wizard test", Sandbox: sb, Profile: "demo.example"}).(model)
	defer m.w.cleanup()
	m.w.start()
	if m.w.setup.cred == nil || m.w.setup.cred.ClientID != sb.OAuthClientID() {
		t.Fatalf("resumed with client %+v, want the new sandbox's %s", m.w.setup.cred, sb.OAuthClientID())
	}
	if !strings.Contains(m.w.render(), "is configured") {
		t.Fatalf("a complete profile should open on its summary:\n%s", m.w.render())
	}
}
