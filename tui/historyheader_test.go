package tui

import (
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// TestTestStepHistoryHeaderFitsAt80x24: at 80x24 the test step's "Recent
// checks" header ran past the content column and was cut mid-word ("adds
// its ro") with no sign; it fits whole.
func TestTestStepHistoryHeaderFitsAt80x24(t *testing.T) {
	t.Setenv(store.KeyEnv, "")
	st, _ := openTestStore(t, "m.db")
	be := &storeBackend{s: st, actor: "test"}
	if err := st.SaveProfile(acmeProfile(t, 6), "test"); err != nil {
		t.Fatal(err)
	}
	// an untested mailbox: the profile resumes at the test step
	_ = be.PutMailboxes("acme.example", []core.Mailbox{{Email: "sales@acme.example", OwnerKind: core.OwnerACD}})
	r := core.MailboxResult{Mailbox: "administrator@acme.example", OK: true, CheckedAt: time.Now().Add(-time.Hour),
		Checks: []core.CheckResult{{Name: core.CheckToken, OK: true}}}
	if err := st.SaveResults("acme.example", []core.MailboxResult{r}); err != nil {
		t.Fatal(err)
	}
	nc := true
	d := newDriver(t, deps{backend: be, engine: &fakeEngine{authorized: true}, profile: "acme.example", noColor: &nc}, 80, 24)
	d.mustShow(historyHeader)
}
