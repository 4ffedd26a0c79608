package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// acmeStoreAtTestStep is a store holding acme.example up to the test step,
// and the wizard's backend on it.
func acmeStoreAtTestStep(t *testing.T) (*store.Store, *storeBackend) {
	t.Helper()
	st, _ := openTestStore(t, "m.db")
	if err := st.SaveProfile(acmeProfile(t, 6), "test"); err != nil {
		t.Fatal(err)
	}
	return st, &storeBackend{s: st, actor: "test"}
}

// The test step shows each mailbox's recent runs from the store (as
// `mailoauth watch` or earlier tests left them) and since when a failure
// lasts, before and after a run.
func TestTestStepShowsHistoryAndFailureStart(t *testing.T) {
	st, be := acmeStoreAtTestStep(t)
	_ = be.PutMailboxes("acme.example", []core.Mailbox{
		{Email: "broken@acme.example", OwnerKind: core.OwnerWorkgroup},
		{Email: "sales@acme.example", OwnerKind: core.OwnerACD},
	})
	// Two earlier watch rounds: broken@ has failed since the first.
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	imapOff := core.NewFinding(core.CodeIMAPDisabled, "IMAP is disabled.", "Enable it.")
	for i, at := range []time.Time{start.Add(-15 * time.Minute), start, start.Add(15 * time.Minute)} {
		rs := []core.MailboxResult{{Mailbox: "sales@acme.example", OK: true, CheckedAt: at,
			Checks: []core.CheckResult{{Name: core.CheckToken, OK: true}, {Name: core.CheckIMAP, OK: true}}}}
		b := core.MailboxResult{Mailbox: "broken@acme.example", OK: i == 0, CheckedAt: at,
			Checks: []core.CheckResult{{Name: core.CheckToken, OK: true}, {Name: core.CheckIMAP, OK: i == 0}}}
		if i > 0 {
			b.Finding = imapOff
		}
		if err := st.SaveResults("acme.example", append(rs, b)); err != nil {
			t.Fatal(err)
		}
	}
	since := start.Local().Format("01-02 15:04")
	d := newDriver(t, fakeDeps(be, &fakeEngine{authorized: true}, "acme.example"), 100, 30)
	d.mustShow("Recent checks")
	d.mustShow("✓✗✗ failing since " + since + " [imap_disabled]")
	d.mustShow("✓✓✓ ok (0/3 failed)")

	// A run adds to it; the failing row's detail keeps the failure's start.
	d.press(enter())
	d.mustShow("2 passed, 1 failed")
	d.mustShow("History ")
	d.mustShow("History ✓✗✗✗ failing since " + since + " [imap_disabled]")

	// A watcher beside the wizard records a recovery: the step shows it at
	// its next re-read, without a run.
	fixed := core.MailboxResult{Mailbox: "broken@acme.example", OK: true, CheckedAt: time.Now(),
		Checks: []core.CheckResult{{Name: core.CheckToken, OK: true}, {Name: core.CheckIMAP, OK: true}}}
	if err := st.SaveResults("acme.example", []core.MailboxResult{fixed}); err != nil {
		t.Fatal(err)
	}
	d.mustNotShow("History ✓✗✗✗✓")
	for i := 0; i < 5 && d.fire(); i++ { // the re-read re-arms itself
		if strings.Contains(d.screen(), "History ✓✗✗✗✓ ok (3/5 failed)") {
			return
		}
	}
	t.Fatalf("the re-read history does not show the recovery:\n%s", d.screen())
}

// TestTestStepHistoryHeaderFitsAt80x24: at 80x24 the test step's "Recent
// checks" header ran past the content column and was cut mid-word ("adds
// its ro") with no sign; it fits whole.
func TestTestStepHistoryHeaderFitsAt80x24(t *testing.T) {
	st, be := acmeStoreAtTestStep(t)
	// an untested mailbox: the profile resumes at the test step
	_ = be.PutMailboxes("acme.example", []core.Mailbox{{Email: "sales@acme.example", OwnerKind: core.OwnerACD}})
	r := core.MailboxResult{Mailbox: "administrator@acme.example", OK: true, CheckedAt: time.Now().Add(-time.Hour),
		Checks: []core.CheckResult{{Name: core.CheckToken, OK: true}}}
	if err := st.SaveResults("acme.example", []core.MailboxResult{r}); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, fakeDeps(be, &fakeEngine{authorized: true}, "acme.example"), 80, 24)
	d.mustShow(historyHeader)
}
