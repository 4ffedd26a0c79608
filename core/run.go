package core

import (
	"context"
	"time"
)

// Run is how a run of live checks goes, for the wizard, `mailoauth test`
// and `mailoauth upgrade --yes` alike: it builds the Tester from the
// profile, checks the mailboxes (RunAll), saves the results and, in an
// upgrade, switches the mailboxes that passed to OAuth. The callers only
// choose what RunRequest asks.

// ResultSaver keeps the results of a run (*store.Store implements it).
type ResultSaver interface {
	// SaveResults keeps rs as their mailboxes' latest results of domain
	// and adds them to the history.
	SaveResults(domain string, rs []MailboxResult) error
}

// UpgradeSwitcher is what finishing an upgrade needs of the store
// (*store.Store implements it).
type UpgradeSwitcher interface {
	UpgradeStore
	// PasswordBackupsAfterSwitch lists the store's backups that still
	// hold legacy passwords, once mailboxes of domain switched; done tells
	// that no mailbox of any profile is pending (the backups hold every
	// profile's passwords), and then the backups are first sealed under
	// keys of their own (err: one could not be).
	PasswordBackupsAfterSwitch(domain string) (backups []PasswordBackup, done bool, err error)
}

// RunUpgrade asks Run to finish an upgrade (finishUpgrade): every pending
// mailbox that passed switches to OAuth and its legacy password is erased.
type RunUpgrade struct {
	Store UpgradeSwitcher
	// Actor names who switched in the audit log.
	Actor string
	// BeforeSwitch, if set, runs once just before the first mailbox
	// switches (the backup of the store).
	BeforeSwitch func() error
}

// RunRequest is what a run checks and how; the zero value of each field
// is the default.
type RunRequest struct {
	Profile   Profile
	Mailboxes []string
	Checks    []CheckName // nil: all
	// Tokens caches the access tokens, and on the OAuth client path holds
	// the refresh tokens (NewTesterWith); nil: a cache for this run only.
	Tokens TokenCache
	// Fresh says when the run mints a new token for a mailbox instead of
	// using a cached one (Tester.Fresh); the zero value uses the cache.
	Fresh Freshness
	// Mechanism is the SASL mechanism: mailproto.XOAUTH2 (default) or
	// mailproto.OAUTHBEARER.
	Mechanism string
	// Timeout and RoundtripTimeout bound each check and the round trip's
	// wait (Tester); 0: DefaultCheckTimeout and RoundtripFactor × Timeout.
	Timeout, RoundtripTimeout time.Duration
	// Concurrency is the ceiling of mailboxes at once; 0: DefaultConcurrency.
	Concurrency int
	// Retries is how many times a throttled mailbox is tried again
	// (RunOptions.Retries): 0 means DefaultRetries, negative none.
	Retries int
	// OnEvent receives the run's progress (RunOptions.OnEvent).
	OnEvent func(Event)
	// OnResult, if set, receives every result in input order as soon as it
	// and those before it are done (RunOptions.stream; in an upgrade, once
	// the upgrade is finished), and RunReport.Results stays nil: a run over
	// 100,000 mailboxes holds no list of them.
	OnResult func(MailboxResult)
	// Results, if set, saves every result, saveBatch at a time.
	Results ResultSaver
	// Upgrade, if set, finishes an upgrade once every mailbox is checked;
	// the results are then saved and handed on with the upgrade's notes.
	Upgrade *RunUpgrade
}

// Freshness is when a run mints new tokens rather than use cached ones:
// the run policy the wizard and `mailoauth test` each choose from.
type Freshness int

const (
	// CachedTokens uses a cached token while it is valid (the default).
	CachedTokens Freshness = iota
	// FreshTokens mints a new token for every mailbox (`test --fresh`).
	FreshTokens
	// FreshWhenTokenOnly mints new tokens when the run checks only the
	// token (the wizard's runs): such a run proves the authorization just
	// given, so it must show what Google says now, not a token cached
	// before the Admin console changed.
	FreshWhenTokenOnly
)

// mints says whether a run of checks mints new tokens.
func (f Freshness) mints(checks []CheckName) bool {
	switch f {
	case FreshTokens:
		return true
	case FreshWhenTokenOnly:
		return len(checks) == 1 && checks[0] == CheckToken
	}
	return false
}

// RunReport is the outcome of Run.
type RunReport struct {
	// Results are in input order (nil when OnResult took them).
	Results []MailboxResult
	// Passed and Failed count the results.
	Passed, Failed int
	// Cancelled counts the mailboxes ctx's end (an interrupt) stopped
	// before they finished. They are not results: neither counted above,
	// saved nor handed on, so each keeps its last saved result; a run
	// with Cancelled > 0 was interrupted.
	Cancelled int
	Stats     RunStats
	// SaveErr is the first error of saving the results; the run went on
	// and the later batches were still tried.
	SaveErr error
	// Upgrade is what finishing an upgrade did (RunRequest.Upgrade): the
	// mailboxes that switched to OAuth and those still pending, in input
	// order.
	Upgrade UpgradeReport
	// UpgradeErr is why finishing the upgrade stopped (the backup or a
	// switch failed); the mailboxes that passed but did not switch keep
	// their passwords, noted on their results, which are still saved.
	UpgradeErr error
}

// saveBatch is how many results Run saves at a time (one transaction).
const saveBatch = 500

// Note on a mailbox an upgrade run switched to OAuth.
const noteUpgraded = "upgraded: switched to OAuth, its legacy password was erased from the store"

// Run checks req.Mailboxes and returns what happened. When the Tester
// cannot be built (a credential that does not load, a service account for
// a consumer Gmail domain) no check runs and nothing is saved or handed
// on: Run returns that error, and the report gives every mailbox the
// error's finding as a token check (so a screen listing the mailboxes can
// show why each one failed).
func Run(ctx context.Context, req RunRequest) (RunReport, error) {
	var rep RunReport
	p := req.Profile
	tokens := req.Tokens
	if tokens == nil {
		tokens = &MemoryTokenCache{}
	}
	t, err := NewTesterWith(&p, tokens, nil)
	if err != nil {
		f := FindingOf(err)
		if f == nil {
			f = Diagnose(err, DiagContext{Domain: p.Domain, Scopes: p.ScopeList(), Endpoints: p.Endpoints, Check: CheckToken})
		}
		rep.Results = make([]MailboxResult, len(req.Mailboxes))
		for i, m := range req.Mailboxes {
			rep.Results[i] = MailboxResult{Mailbox: m, Finding: f}
		}
		rep.Failed = len(req.Mailboxes)
		return rep, err
	}
	t.Fresh, t.Mechanism = req.Fresh.mints(req.Checks), req.Mechanism
	t.Timeout, t.RoundtripTimeout = req.Timeout, req.RoundtripTimeout

	var batch []MailboxResult
	deliver := func(r MailboxResult) {
		if r.Cancelled() {
			rep.Cancelled++
			return
		}
		if r.OK {
			rep.Passed++
		} else {
			rep.Failed++
		}
		if req.Results != nil {
			if batch = append(batch, r); len(batch) >= saveBatch {
				rep.save(req.Results, p.Domain, batch)
				batch = batch[:0]
			}
		}
		if req.OnResult != nil {
			req.OnResult(r)
		} else {
			rep.Results = append(rep.Results, r)
		}
	}
	var held []MailboxResult // an upgrade's results, until it is finished
	stream := deliver
	if req.Upgrade != nil {
		stream = func(r MailboxResult) { held = append(held, r) }
	}
	RunAll(ctx, t, req.Mailboxes, RunOptions{Checks: req.Checks, Concurrency: req.Concurrency, Retries: req.Retries,
		OnEvent: req.OnEvent, Stats: &rep.Stats, stream: stream})
	if req.Upgrade != nil {
		rep.Upgrade, rep.UpgradeErr = req.Upgrade.finish(p.Domain, held)
		for _, r := range held {
			deliver(r)
		}
	}
	if len(batch) > 0 {
		rep.save(req.Results, p.Domain, batch)
	}
	return rep, nil
}

// save saves a batch of results, keeping the first error.
func (rep *RunReport) save(s ResultSaver, domain string, rs []MailboxResult) {
	if err := s.SaveResults(domain, rs); err != nil && rep.SaveErr == nil {
		rep.SaveErr = err
	}
}

// finish switches the pending mailboxes that passed to OAuth and notes on
// the results what happened: switched (with what backups still hold the
// passwords) or, when switching failed, still on the legacy password.
func (u *RunUpgrade) finish(domain string, results []MailboxResult) (UpgradeReport, error) {
	rep, err := finishUpgrade(u.Store, domain, u.Actor, results, u.BeforeSwitch)
	switched := map[string]bool{}
	for _, r := range rep.Upgraded {
		switched[r.Mailbox] = true
	}
	backups := ""
	if len(switched) > 0 {
		backups = passwordBackupsNote(u.Store, domain)
	}
	for i := range results {
		r := &results[i]
		switch {
		case switched[r.Mailbox]:
			r.Notes = append(r.Notes, noteUpgraded)
			if backups != "" {
				r.Notes = append(r.Notes, backups)
			}
		case err != nil && r.OK:
			r.Notes = append(r.Notes, "still on its legacy password: "+err.Error())
		}
	}
	return rep, err
}
