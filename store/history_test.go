package store

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
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
	for i := range HistoryMaxRuns + 5 {
		rs = append(rs, failedAt(a, t0.Add(time.Duration(i)*time.Minute), core.CodeUnknownUser))
	}
	if err := s.SaveResults("example.com", rs); err != nil {
		t.Fatal(err)
	}
	es, _ := s.History("example.com", a, time.Time{})
	if len(es) != HistoryMaxRuns {
		t.Fatalf("want at most %d entries, got %d", HistoryMaxRuns, len(es))
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
	if len(es) != HistoryMaxRuns || !es[0].Time.Equal(t0.Add(6*time.Minute)) {
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

// fixtureEntry is a history entry as testdata/schema2.history.json holds
// it: what the schema-2 code read back from testdata/schema2.db.
type fixtureEntry struct {
	Mailbox string         `json:"mailbox"`
	Check   core.CheckName `json:"check"`
	Time    time.Time      `json:"time"`
	OK      bool           `json:"ok"`
	MS      int64          `json:"ms"`
	Code    core.Code      `json:"code,omitempty"`
	Since   time.Time      `json:"since,omitzero"`
}

func sortedFixtureEntries(es []core.HistoryEntry) []fixtureEntry {
	out := make([]fixtureEntry, 0, len(es))
	for _, e := range es {
		out = append(out, fixtureEntry{e.Mailbox, e.Check, e.Time, e.OK, e.Duration.Milliseconds(), e.Code, e.Since})
	}
	slices.SortFunc(out, func(a, b fixtureEntry) int {
		return cmp.Or(strings.Compare(a.Mailbox, b.Mailbox), strings.Compare(string(a.Check), string(b.Check)), a.Time.Compare(b.Time))
	})
	return out
}

// TestSchema2HistoryMigratedWithEveryEntry: a store whose history the
// schema-2 code wrote (a key per check and run) opens with every entry
// read back as before, failure starts included, and goes on from there.
func TestSchema2HistoryMigratedWithEveryEntry(t *testing.T) {
	t.Parallel()
	path := copyFixtureOf(t, "schema2.db")
	raw, err := os.ReadFile("testdata/schema2.history.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][]fixtureEntry
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, path, Options{})
	if s.SchemaVersion() != schemaVersion {
		t.Errorf("schema %d after opening, want %d", s.SchemaVersion(), schemaVersion)
	}
	if _, err := os.Stat(path + ".schema2.bak"); err != nil {
		t.Errorf("no backup of the schema-2 file before migrating: %v", err)
	}
	for _, d := range []string{"example.com", "second.example"} {
		es, err := s.History(d, "", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		got := sortedFixtureEntries(es)
		for i := range want[d] { // the JSON's times are in UTC, as History's
			want[d][i].Time, want[d][i].Since = want[d][i].Time.UTC(), want[d][i].Since.UTC()
			if want[d][i].Since.Equal(time.Time{}) {
				want[d][i].Since = time.Time{}
			}
		}
		if len(want[d]) == 0 || !reflect.DeepEqual(got, want[d]) {
			t.Errorf("%s: %d entries after migration, %d before; first difference %s", d, len(got), len(want[d]), firstDiff(got, want[d]))
		}
	}
	if err := s.view(func(tx *bolt.Tx) error {
		if domainBucket(tx, "example.com").Bucket([]byte("history")) != nil {
			return errors.New("the schema-2 history bucket is still there")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}

	// It goes on: a's IMAP failure (its last entry, at the fixture's
	// twelfth run) keeps its start, c's 70 runs become 71.
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 123456789, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 15 * time.Minute) }
	imapDown := core.MailboxResult{Mailbox: "a@example.com", CheckedAt: at(12), Checks: []core.CheckResult{
		{Name: core.CheckToken, OK: true}, {Name: core.CheckIMAP, OK: false}}, Finding: core.NewFinding(core.CodeIMAPDisabled, "off.", "on.")}
	if err := s.SaveResults("example.com", []core.MailboxResult{imapDown, passed("c@example.com", at(70), core.CheckToken)}); err != nil {
		t.Fatal(err)
	}
	es, _ := s.History("example.com", "a@example.com", time.Time{})
	for _, h := range history.Summarize(es) {
		if h.Check == core.CheckIMAP && (!h.Failing() || !h.FailingSince.Equal(at(11))) {
			t.Errorf("a's IMAP failure after the migration: failing %v since %v, want since %v", h.Failing(), h.FailingSince, at(11))
		}
	}
	es, _ = s.History("example.com", "c@example.com", time.Time{})
	if sums := history.Summarize(es); len(sums) != 3 || sums[0].Runs != 71 || sums[1].Runs != 70 {
		t.Errorf("c's history after one more run: %+v", sums)
	}
	recent, _ := s.RecentHistory("example.com", 2)
	var cTok []time.Time
	for _, e := range recent {
		if e.Mailbox == "c@example.com" && e.Check == core.CheckToken {
			cTok = append(cTok, e.Time)
		}
	}
	if len(cTok) != 2 || !cTok[0].Equal(at(69)) || !cTok[1].Equal(at(70)) {
		t.Errorf("c's two last token runs: %v", cTok)
	}

	// An older mailoauth (migrations up to schema 2) refuses the store.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, Options{migrations: migrations[:2]})
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "schema version 3 but this mailoauth knows only up to 2; upgrade mailoauth") {
		t.Errorf("an older mailoauth opening the migrated store: %v", err)
	}
}

func firstDiff(got, want []fixtureEntry) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			g, _ := json.Marshal(got[i])
			w, _ := json.Marshal(want[i])
			return "got " + string(g) + ", want " + string(w)
		}
	}
	return "in length"
}

// storedRuns decodes every run the file holds for mailbox, pruned or not
// by the readers' bounds, and the bytes its records take.
func storedRuns(t *testing.T, s *Store, domain, mailbox string) (runs, sealed, size int) {
	t.Helper()
	if err := s.viewProfile(domain, func(b *bolt.Bucket) error {
		if raw := b.Bucket([]byte(historyOpenBucket)).Get([]byte(mailbox)); raw != nil {
			o, err := decodeOpen(raw)
			if err != nil {
				return err
			}
			runs, size = len(o.runs), len(mailbox)+len(raw)
		}
		prefix := historySealedPrefix([]byte(mailbox))
		c := b.Bucket([]byte(historySealedBucket)).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			rs, err := decodeRuns(v)
			if err != nil {
				return err
			}
			runs, sealed, size = runs+len(rs), sealed+1, size+len(k)+len(v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return runs, sealed, size
}

// TestHistoryRetentionDeletesWhatNoReaderShows: the writing transaction
// deletes the runs beyond HistoryMaxRuns and HistoryMaxAge, so a mailbox's
// history stays small (a passed run of four checks in under 25 bytes), and
// removing a mailbox removes every record of it and nothing of another.
func TestHistoryRetentionDeletesWhatNoReaderShows(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "example.com")
	a, b := "a@example.com", "a.b@example.com"
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var rs []core.MailboxResult
	total := HistoryMaxRuns + 3*historyChunkRuns + 5
	for i := range total {
		at := t0.Add(time.Duration(i) * 15 * time.Minute)
		rs = append(rs, passed(a, at, core.CheckToken, core.CheckIMAP, core.CheckSMTP, core.CheckRoundtrip), passed(b, at, core.CheckToken))
	}
	if err := s.SaveResults("example.com", rs); err != nil {
		t.Fatal(err)
	}
	runs, sealed, size := storedRuns(t, s, "example.com", a)
	if runs < HistoryMaxRuns || runs >= HistoryMaxRuns+historyChunkRuns {
		t.Errorf("after %d runs the file holds %d of them (%d chunks), want %d to %d", total, runs, sealed, HistoryMaxRuns, HistoryMaxRuns+historyChunkRuns-1)
	}
	if size > 25*runs {
		t.Errorf("%d runs of four passed checks take %d bytes, %d a run", runs, size, size/runs)
	}
	es, _ := s.History("example.com", a, time.Time{})
	if len(es) != 4*HistoryMaxRuns || !es[0].Time.Equal(t0.Add(time.Duration(total-HistoryMaxRuns)*15*time.Minute)) {
		t.Errorf("History shows %d entries from %v, want the last %d runs", len(es), es[0].Time, HistoryMaxRuns)
	}

	// A run HistoryMaxAge after the last leaves no sealed chunk of a.
	if err := s.SaveResult("example.com", passed(a, t0.Add(time.Duration(total)*15*time.Minute+HistoryMaxAge+time.Minute), core.CheckToken)); err != nil {
		t.Fatal(err)
	}
	if runs, sealed, _ := storedRuns(t, s, "example.com", a); sealed != 0 || runs > historyChunkRuns {
		t.Errorf("after a run %v later the file still holds %d runs in %d sealed chunks", HistoryMaxAge, runs, sealed)
	}
	if es, _ := s.History("example.com", a, time.Time{}); len(es) != 1 {
		t.Errorf("History shows %d entries, want only the newest", len(es))
	}

	mustPutMailbox(t, s, "example.com", core.Mailbox{Email: b})
	mustPutMailbox(t, s, "example.com", core.Mailbox{Email: a})
	for range historyChunkRuns + 1 { // a sealed chunk again
		_ = s.SaveResult("example.com", passed(a, time.Now(), core.CheckToken))
	}
	if err := s.DeleteMailbox("example.com", a, actor); err != nil {
		t.Fatal(err)
	}
	if runs, sealed, _ := storedRuns(t, s, "example.com", a); runs != 0 || sealed != 0 {
		t.Errorf("a removed mailbox left %d runs (%d sealed chunks)", runs, sealed)
	}
	if runs, _, _ := storedRuns(t, s, "example.com", b); runs < HistoryMaxRuns {
		t.Errorf("removing %s took %s's history with it: %d runs left", a, b, runs)
	}
}
