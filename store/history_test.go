package store

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/history"
)

func passed(mailbox string, at time.Time, checks ...core.CheckName) core.MailboxResult {
	r := core.MailboxResult{Mailbox: mailbox, OK: true, CheckedAt: at}
	for _, c := range checks {
		r.Checks = append(r.Checks, core.CheckResult{Name: c, OK: true, Duration: 12 * time.Millisecond})
	}
	return r
}

func failedAt(mailbox string, at time.Time, code core.Code) core.MailboxResult {
	return core.MailboxResult{Mailbox: mailbox, CheckedAt: at,
		Checks:  []core.CheckResult{{Name: core.CheckToken, OK: false, Duration: 3 * time.Millisecond}},
		Finding: core.NewFinding(code, "it failed.", "fix it.")}
}

func TestHistoryRecordsEveryRunWithFailureStart(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "example.com")
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 15 * time.Minute) }
	a := "a@example.com"
	runs := []core.MailboxResult{
		passed(a, at(0), core.CheckToken, core.CheckIMAP, core.CheckSMTP),
		failedAt(a, at(1), core.CodeDelegationNotAuthorized),
		failedAt(a, at(2), core.CodeDelegationNotAuthorized),
		passed(a, at(3), core.CheckToken, core.CheckIMAP),
		failedAt(a, at(4), core.CodeUserSuspended),
		failedAt(a, at(5), core.CodeUserSuspended),
		// A cancelled run says nothing about the mailbox.
		{Mailbox: a, CheckedAt: at(6), Finding: core.NewFinding(core.CodeCancelled, "cancelled.", "again.")},
	}
	for _, r := range runs[:3] { // one transaction per run, as test and watch do
		if err := s.SaveResult("example.com", r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveResults("example.com", runs[3:]); err != nil { // and several in one
		t.Fatal(err)
	}
	_ = s.SaveResult("example.com", passed("b@example.com", at(0), core.CheckToken))

	es, err := s.History("example.com", a, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sums := history.Summarize(es)
	if len(sums) != 3 {
		t.Fatalf("want token, imap and smtp histories of %s, got %+v", a, sums)
	}
	tok := sums[0]
	if tok.Check != core.CheckToken || tok.Runs != 6 || tok.Failures != 4 || tok.Periods != 2 {
		t.Errorf("token history: runs %d failures %d periods %d, want 6, 4, 2", tok.Runs, tok.Failures, tok.Periods)
	}
	if !tok.Failing() || tok.Last.Code != core.CodeUserSuspended || !tok.FailingSince.Equal(at(4)) {
		t.Errorf("the current failure should be user_suspended since %v, got failing=%v %s since %v", at(4), tok.Failing(), tok.Last.Code, tok.FailingSince)
	}
	if e := tok.Entries[2]; e.Code != core.CodeDelegationNotAuthorized || !e.Since.Equal(at(1)) {
		t.Errorf("the second failure of the first period should carry its start %v: %+v", at(1), e)
	}
	if sums[1].Check != core.CheckIMAP || sums[1].Runs != 2 || sums[1].Failing() {
		t.Errorf("imap history: %+v", sums[1])
	}
	if got := history.Marks(tok.Entries, 8); got != "··✓✗✗✓✗✗" {
		t.Errorf("marks %q", got)
	}

	// The last runs of each check, without reading the rest.
	last, err := s.RecentHistory("example.com", 2)
	if err != nil {
		t.Fatal(err)
	}
	var lastTok []core.HistoryEntry
	for _, e := range last {
		if e.Mailbox == a && e.Check == core.CheckToken {
			lastTok = append(lastTok, e)
		}
	}
	if len(last) != 2+2+1+1 || len(lastTok) != 2 || !lastTok[0].Time.Equal(at(4)) || !lastTok[1].Time.Equal(at(5)) {
		t.Errorf("RecentHistory(2): %d entries, token %+v", len(last), lastTok)
	}

	recent, _ := s.History("example.com", a, at(4))
	if len(recent) != 2 {
		t.Errorf("--since the fifth run: want its 2 entries, got %d", len(recent))
	}
	all, _ := s.History("example.com", "", time.Time{})
	if len(all) != len(es)+1 {
		t.Errorf("every mailbox: want %d entries, got %d", len(es)+1, len(all))
	}
}

func TestHistoryBoundedInTheWritingTransaction(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "example.com")
	a := "a@example.com"
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var rs []core.MailboxResult
	for i := range HistoryMaxPerCheck + 5 {
		rs = append(rs, failedAt(a, t0.Add(time.Duration(i)*time.Minute), core.CodeUnknownUser))
	}
	if err := s.SaveResults("example.com", rs); err != nil {
		t.Fatal(err)
	}
	es, _ := s.History("example.com", a, time.Time{})
	if len(es) != HistoryMaxPerCheck {
		t.Fatalf("want at most %d entries, got %d", HistoryMaxPerCheck, len(es))
	}
	if !es[0].Time.Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("the oldest entries should go first; the oldest kept is %v", es[0].Time)
	}
	// The failure's start outlives the pruned entries.
	if h := history.Summarize(es)[0]; !h.FailingSince.Equal(t0) {
		t.Errorf("failing since %v, want %v", h.FailingSince, t0)
	}
	// An entry older than HistoryMaxAge before the newest goes too.
	if err := s.SaveResult("example.com", passed(a, t0.Add(HistoryMaxAge+6*time.Minute), core.CheckToken)); err != nil {
		t.Fatal(err)
	}
	es, _ = s.History("example.com", a, time.Time{})
	if len(es) != HistoryMaxPerCheck || !es[0].Time.Equal(t0.Add(6*time.Minute)) {
		t.Errorf("after a write %v later: %d entries from %v", HistoryMaxAge, len(es), es[0].Time)
	}
	if err := s.SaveResult("example.com", passed(a, t0.Add(2*HistoryMaxAge+10*time.Minute), core.CheckToken)); err != nil {
		t.Fatal(err)
	}
	es, _ = s.History("example.com", a, time.Time{})
	if len(es) != 1 {
		t.Errorf("after 60 days only the newest entry is younger than %v; kept %d", HistoryMaxAge, len(es))
	}
	// Removing the mailbox removes its history.
	_ = s.PutMailbox("example.com", core.Mailbox{Email: a}, actor)
	if err := s.DeleteMailbox("example.com", a, actor); err != nil {
		t.Fatal(err)
	}
	if es, _ = s.History("example.com", a, time.Time{}); len(es) != 0 {
		t.Errorf("history of a removed mailbox: %d entries", len(es))
	}
}

func TestCredentialLoadedKeptUntilTheCredentialChanges(t *testing.T) {
	t.Parallel()
	s, p := storeWithProfile(t, "example.com")
	first, _ := s.Profile("example.com")
	if first.CredentialLoaded.IsZero() {
		t.Fatal("a saved credential has no load time")
	}
	old := first.CredentialLoaded.Add(-48 * time.Hour)
	// Another save with the same credential keeps its load time; simulate
	// an old one by saving it through the record, as a profile loaded days ago.
	if err := s.update(func(tx *bolt.Tx) error {
		b, _ := s.profileBucket(tx, "example.com")
		rec, err := s.readProfile(b, "example.com")
		if err != nil {
			return err
		}
		rec.Profile.Credential, rec.Profile.P12Password, rec.Profile.CredentialLoaded = nil, "", old
		raw, _ := json.Marshal(rec)
		return b.Put([]byte(profileKey), raw)
	}); err != nil {
		t.Fatal(err)
	}
	p.WizardStep = 6
	if err := s.SaveProfile(p, actor); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Profile("example.com"); !got.CredentialLoaded.Equal(old) {
		t.Errorf("a save without a new credential moved its load time to %v, want %v", got.CredentialLoaded, old)
	}
	p.Credential = []byte(strings.Replace(string(p.Credential), "sa@", "sb@", 1))
	if err := s.SaveProfile(p, actor); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Profile("example.com"); !got.CredentialLoaded.After(old) {
		t.Errorf("a new credential kept the old load time %v", got.CredentialLoaded)
	}
}
