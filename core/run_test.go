package core_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// saver is a core.ResultSaver that keeps every batch.
type saver struct {
	mu      sync.Mutex
	domains []string
	batches [][]core.MailboxResult
	err     error
}

func (s *saver) SaveResults(domain string, rs []core.MailboxResult) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.domains = append(s.domains, domain)
	s.batches = append(s.batches, slices.Clone(rs))
	return s.err
}

func (s *saver) saved() []core.MailboxResult { return slices.Concat(s.batches...) }

func mailboxesOf(rs []core.MailboxResult) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Mailbox)
	}
	return out
}

// Run saves every result through the saver in batches of 500, hands each
// on in input order (a duplicate with its first occurrence's result),
// counts them and reports the events of each mailbox in order.
func TestRunSavesInBatchesAndStreamsInOrder(t *testing.T) {
	e := newEnv(t, 2, true)
	d := e.sb.Domain()
	unique := []string{"user1@" + d, "nobody@" + d, "user2@" + d}
	var in []string
	for i := range 1001 {
		in = append(in, unique[i%len(unique)])
	}
	sv := &saver{}
	var streamed []core.MailboxResult
	var events []core.Event
	rep, err := core.Run(context.Background(), core.RunRequest{Profile: *e.profile, Mailboxes: in,
		Checks: []core.CheckName{core.CheckToken}, Tokens: e.cache, Results: sv,
		OnEvent:  func(ev core.Event) { events = append(events, ev) },
		OnResult: func(r core.MailboxResult) { streamed = append(streamed, r) }})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, b := range sv.batches {
		sizes = append(sizes, len(b))
	}
	if !slices.Equal(sizes, []int{500, 500, 1}) {
		t.Fatalf("saved in batches of %v, want 500, 500, 1", sizes)
	}
	for _, dom := range sv.domains {
		if dom != d {
			t.Fatalf("saved under domain %q, want %q", dom, d)
		}
	}
	if got := mailboxesOf(streamed); !slices.Equal(got, in) {
		t.Fatalf("streamed %d results out of input order", len(got))
	}
	if got := mailboxesOf(sv.saved()); !slices.Equal(got, in) {
		t.Fatalf("saved %d results out of input order", len(got))
	}
	if rep.Results != nil {
		t.Fatalf("with OnResult the report holds %d results, want none", len(rep.Results))
	}
	for i, r := range streamed {
		if r.OK != (i%3 != 1) {
			t.Fatalf("%s: ok=%v finding=%+v", r.Mailbox, r.OK, r.Finding)
		}
	}
	if rep.Passed != 667 || rep.Failed != 334 || rep.SaveErr != nil {
		t.Fatalf("passed %d, failed %d, save error %v; want 667, 334, none", rep.Passed, rep.Failed, rep.SaveErr)
	}
	seen := map[string][]core.EventKind{}
	last := 0
	for _, ev := range events {
		if ev.Done < last || ev.Total != len(unique) {
			t.Fatalf("event %+v after Done %d of %d", ev, last, len(unique))
		}
		last = ev.Done
		seen[ev.Mailbox] = append(seen[ev.Mailbox], ev.Kind)
	}
	for _, m := range unique {
		want := []core.EventKind{core.EventStarted, core.EventCheckDone, core.EventFinished}
		if !slices.Equal(seen[m], want) {
			t.Fatalf("%s: events %v, want %v", m, seen[m], want)
		}
	}
}

// Without OnResult the report holds the results; a failing save is
// reported and the run goes on.
func TestRunReportsResultsAndSaveError(t *testing.T) {
	e := newEnv(t, 1, true)
	sv := &saver{err: errors.New("disk full")}
	in := []string{e.user(1), e.profile.DefaultSender}
	rep, err := core.Run(context.Background(), core.RunRequest{Profile: *e.profile, Mailboxes: in,
		Checks: []core.CheckName{core.CheckToken}, Results: sv})
	if err != nil {
		t.Fatal(err)
	}
	if got := mailboxesOf(rep.Results); !slices.Equal(got, in) {
		t.Fatalf("results %v, want %v", got, in)
	}
	if rep.SaveErr == nil || rep.SaveErr.Error() != "disk full" || len(sv.saved()) != 2 {
		t.Fatalf("save error %v after %d saved, want disk full after 2", rep.SaveErr, len(sv.saved()))
	}
}

// The run's Freshness decides when a token is minted over a cached one:
// a token-only run of the wizard's policy mints anew (it proves the
// authorization just given), a run of more checks with the same policy and
// a run of the default policy use the cache, and FreshTokens always mints.
func TestRunFreshnessMintsOverTheCache(t *testing.T) {
	e := newEnv(t, 1, true)
	token := []core.CheckName{core.CheckToken}
	run := func(fresh core.Freshness, checks []core.CheckName) int {
		t.Helper()
		before := e.sb.TokensMinted()
		rep, err := core.Run(context.Background(), core.RunRequest{Profile: *e.profile, Mailboxes: []string{e.user(1)},
			Checks: checks, Tokens: e.cache, Fresh: fresh})
		if err != nil || rep.Failed != 0 {
			t.Fatalf("run failed: %v %+v", err, rep.Results)
		}
		return e.sb.TokensMinted() - before
	}
	run(core.CachedTokens, token) // the cache holds a token now
	for _, c := range []struct {
		fresh  core.Freshness
		checks []core.CheckName
		mints  int
	}{
		{core.CachedTokens, token, 0},
		{core.FreshWhenTokenOnly, token, 1},
		{core.FreshWhenTokenOnly, []core.CheckName{core.CheckToken, core.CheckIMAP}, 0},
		{core.FreshWhenTokenOnly, nil, 0},
		{core.FreshTokens, []core.CheckName{core.CheckToken, core.CheckIMAP}, 1},
	} {
		if got := run(c.fresh, c.checks); got != c.mints {
			t.Errorf("Fresh %d, checks %v: %d token(s) minted, want %d", c.fresh, c.checks, got, c.mints)
		}
	}
}

// When the Tester cannot be built no check runs: Run returns the error,
// every mailbox gets its finding, and nothing is saved, streamed or
// reported as an event.
func TestRunTesterErrorIsEveryMailboxsFinding(t *testing.T) {
	e := newEnv(t, 1, true)
	for name, p := range map[string]core.Profile{
		"consumer domain":    {Domain: "gmail.com", DefaultSender: "a@gmail.com", Credential: e.profile.Credential},
		"credential mangled": {Domain: e.sb.Domain(), DefaultSender: e.profile.DefaultSender, Credential: []byte("{not json")},
	} {
		t.Run(name, func(t *testing.T) {
			sv := &saver{}
			calls := 0
			in := []string{"a@" + p.Domain, "b@" + p.Domain}
			rep, err := core.Run(context.Background(), core.RunRequest{Profile: p, Mailboxes: in, Results: sv,
				OnEvent: func(core.Event) { calls++ }, OnResult: func(core.MailboxResult) { calls++ }})
			if err == nil {
				t.Fatal("no error for a tester that cannot be built")
			}
			if got := mailboxesOf(rep.Results); !slices.Equal(got, in) {
				t.Fatalf("results %v, want %v", got, in)
			}
			for _, r := range rep.Results {
				if r.OK || r.Finding == nil || r.Finding.Summary == "" || r.Finding.Fix == "" || r.Finding != rep.Results[0].Finding {
					t.Fatalf("%s: ok=%v finding=%+v, want the error's finding", r.Mailbox, r.OK, r.Finding)
				}
			}
			if f := core.FindingOf(err); f != nil && f != rep.Results[0].Finding {
				t.Fatalf("finding %+v, want the error's own %+v", rep.Results[0].Finding, f)
			}
			if rep.Failed != 2 || calls != 0 || len(sv.batches) != 0 {
				t.Fatalf("failed %d, %d calls, %d saves; want 2, 0, 0", rep.Failed, calls, len(sv.batches))
			}
		})
	}
}

// switcher is a core.UpgradeSwitcher over a set of pending mailboxes.
type switcher struct {
	pending  map[string]bool
	switched []string
	fail     error
}

func (s *switcher) PendingUpgrades(string) ([]string, error) {
	var out []string
	for m := range s.pending {
		out = append(out, m)
	}
	return out, nil
}

func (s *switcher) CompleteUpgrade(_, mailbox, _ string) error {
	if s.fail != nil {
		return s.fail
	}
	delete(s.pending, mailbox)
	s.switched = append(s.switched, mailbox)
	return nil
}

func (s *switcher) PasswordBackupsAfterSwitch(string) ([]core.PasswordBackup, bool, error) {
	return []core.PasswordBackup{{Path: "mailoauth.db.bak", Passwords: 2}}, len(s.pending) == 0, nil
}

// In an upgrade the pending mailboxes that passed switch after the
// checks; the saved and streamed results carry the upgrade's notes.
func TestRunFinishesUpgradeBeforeSaving(t *testing.T) {
	e := newEnv(t, 2, true)
	d := e.sb.Domain()
	in := []string{"user1@" + d, "nobody@" + d, "user2@" + d}
	sw := &switcher{pending: map[string]bool{"user1@" + d: true, "nobody@" + d: true}}
	backups := 0
	sv := &saver{}
	var streamed []core.MailboxResult
	rep, err := core.Run(context.Background(), core.RunRequest{Profile: *e.profile, Mailboxes: in,
		Checks: []core.CheckName{core.CheckToken}, Results: sv,
		OnResult: func(r core.MailboxResult) { streamed = append(streamed, r) },
		Upgrade: &core.RunUpgrade{Store: sw, Actor: "test", BeforeSwitch: func() error {
			backups++
			return nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sw.switched, []string{"user1@" + d}) || !sw.pending["nobody@"+d] || backups != 1 {
		t.Fatalf("switched %v, pending %v, %d backups; want user1 switched after one backup", sw.switched, sw.pending, backups)
	}
	// the report says what the upgrade did, for `mailoauth upgrade --yes` to print
	if got := mailboxesOf(rep.Upgrade.Upgraded); !slices.Equal(got, []string{"user1@" + d}) || rep.UpgradeErr != nil {
		t.Fatalf("report upgraded %v (%v), want user1", got, rep.UpgradeErr)
	}
	if got := mailboxesOf(rep.Upgrade.Pending); !slices.Equal(got, []string{"nobody@" + d}) || rep.Upgrade.Pending[0].Finding == nil {
		t.Fatalf("report pending %v, want nobody with its finding", got)
	}
	wantNotes := [][]string{{"upgraded: switched to OAuth, its legacy password was erased from the store",
		"The store still holds the passwords of the pending mailboxes; 1 backup(s) still hold legacy passwords: mailoauth.db.bak (2, sealed with the store's key); remove them with `mailoauth upgrade --purge-backups`."}, nil, nil}
	for _, rs := range [][]core.MailboxResult{sv.saved(), streamed} {
		if got := mailboxesOf(rs); !slices.Equal(got, in) {
			t.Fatalf("results %v, want %v", got, in)
		}
		for i, r := range rs {
			if !slices.Equal(r.Notes, wantNotes[i]) {
				t.Fatalf("%s: notes %q, want %q", r.Mailbox, r.Notes, wantNotes[i])
			}
		}
	}

	// a switch that fails leaves the passing mailbox on its password, noted
	sw = &switcher{pending: map[string]bool{"user2@" + d: true}, fail: errors.New("store is read-only")}
	rep, err = core.Run(context.Background(), core.RunRequest{Profile: *e.profile, Mailboxes: in[2:],
		Checks: []core.CheckName{core.CheckToken}, Upgrade: &core.RunUpgrade{Store: sw}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"still on its legacy password: store is read-only"}; !slices.Equal(rep.Results[0].Notes, want) {
		t.Fatalf("notes %q, want %q", rep.Results[0].Notes, want)
	}
	if rep.UpgradeErr == nil || rep.UpgradeErr.Error() != "store is read-only" || len(rep.Upgrade.Upgraded) != 0 {
		t.Fatalf("a failed switch reported as %v, upgraded %v; want the store's error and none", rep.UpgradeErr, mailboxesOf(rep.Upgrade.Upgraded))
	}
}

// An interrupted run (ctx cancelled part-way, as Ctrl-C does) hands on,
// counts and saves only the mailboxes that finished: the rest are
// Cancelled, never "failed", and nothing saved says "cancelled", so each
// keeps its last result in the store.
func TestRunInterruptedSavesOnlyFinishedResults(t *testing.T) {
	const n = 20
	e := newEnv(t, n, true)
	var in []string
	for i := 1; i <= n; i++ {
		in = append(in, e.user(i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sv := &saver{}
	var streamed []core.MailboxResult
	rep, err := core.Run(ctx, core.RunRequest{Profile: *e.profile, Mailboxes: in, Concurrency: 1,
		Checks: []core.CheckName{core.CheckToken, core.CheckIMAP}, Tokens: e.cache, Results: sv,
		OnResult: func(r core.MailboxResult) {
			if streamed = append(streamed, r); len(streamed) == 3 {
				cancel()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	// Concurrency 1: at most the mailbox already started may still pass.
	if rep.Failed != 0 || rep.Passed < 3 || rep.Passed > 4 || rep.Passed+rep.Cancelled != n {
		t.Fatalf("passed %d, failed %d, cancelled %d of %d; want 3 or 4 passed, none failed, the rest cancelled",
			rep.Passed, rep.Failed, rep.Cancelled, n)
	}
	for _, r := range streamed {
		if !r.OK {
			t.Fatalf("handed on %s: ok=%v finding %+v; an interrupted run hands on only finished results", r.Mailbox, r.OK, r.Finding)
		}
	}
	if got, want := mailboxesOf(sv.saved()), mailboxesOf(streamed); !slices.Equal(got, want) || len(got) != rep.Passed {
		t.Fatalf("saved %v, want exactly the %d finished results %v", got, rep.Passed, want)
	}
}
