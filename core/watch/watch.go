package watch

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// Defaults of the watcher's options.
const (
	DefaultInterval       = 15 * time.Minute
	DefaultRenotify       = 24 * time.Hour
	DefaultRoundtripEvery = 4
	// DefaultConcurrency bounds the mailboxes checked at once: a round is
	// spread over the interval, so only slow checks ever overlap.
	DefaultConcurrency = 8
)

// CheckCredential is the check label of a profile's credential (its
// mailbox label is empty): failing when the credential cannot be used.
const CheckCredential = "credential"

// DefaultChecks are the checks of every round (the round trip comes every
// RoundtripEvery rounds on top).
var DefaultChecks = []core.CheckName{core.CheckToken, core.CheckIMAP, core.CheckSMTP}

// Source is what the watcher needs of the store; *store.Store has it.
// Every call is one short transaction, so the watcher shares the store
// with serve, the wizard and `mailoauth token`.
type Source interface {
	ListProfiles() ([]core.Profile, error)
	Mailboxes(domain string) ([]core.Mailbox, error)
	TokenCache(domain string) core.TokenCache
	SaveResults(domain string, rs []core.MailboxResult) error
}

// Options configures a Watcher.
type Options struct {
	Interval time.Duration    // between round starts; default 15m
	Checks   []core.CheckName // default token, imap, smtp
	// RoundtripEvery adds the round trip every N rounds (the first round
	// included); 0: never.
	RoundtripEvery int
	Concurrency    int           // mailboxes checked at once; default DefaultConcurrency
	Renotify       time.Duration // repeat an alert still in force after this; default 24h, negative: never
	KeyMaxAge      time.Duration // service-account key rotation age; default 90 days
	Timeout        time.Duration // each check's timeout; default core's
	// Retries is how often a throttled mailbox is tried again within its
	// check (core.RunOptions.Retries).
	Retries int

	// Webhook receives every alert as JSON (POST); AlertEmail receives it
	// by mail through the profile's default sender.
	Webhook    string
	AlertEmail string
	// OnAlert, when set, is called with every alert after delivery.
	OnAlert func(Alert)
	// OnRound, when set, is called when a round's last check has ended.
	OnRound func(Health)
	Logger  *slog.Logger
	Clock   Clock
	// HTTPClient posts the webhooks; default a client with a timeout.
	HTTPClient *http.Client
}

// Watcher runs the rounds. Create it with New, then call Run or Once (one
// of them, once); Reload and Health may be called at any time.
type Watcher struct {
	opts    Options
	src     Source
	clock   Clock
	log     *slog.Logger
	metrics *metrics
	track   *tracker

	mu       sync.Mutex
	profiles []*profileRun // as of the last Reload
	// known is each profile's mailboxes watched in the last round, so the
	// series of a removed one are dropped.
	known   map[string]map[string]bool
	rounds  int
	lastEnd time.Time
	watched int

	alertMu  sync.Mutex // guards alerts, nil once closed
	alerts   chan Alert
	alertsWG sync.WaitGroup
	pending  sync.WaitGroup // alerts queued and not yet delivered
	inflight sync.WaitGroup
}

// profileRun is one profile with its Tester, built on Reload.
type profileRun struct {
	p      core.Profile
	tester *core.Tester
	cache  *countingCache
	err    error // the profile cannot be checked (credential broken)
}

// New builds a watcher over src and reads its profiles.
func New(src Source, opts Options) (*Watcher, error) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if len(opts.Checks) == 0 {
		opts.Checks = DefaultChecks
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Renotify == 0 {
		opts.Renotify = DefaultRenotify
	}
	if opts.KeyMaxAge <= 0 {
		opts.KeyMaxAge = core.DefaultKeyMaxAge
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: webhookTimeout}
	}
	w := &Watcher{opts: opts, src: src, clock: opts.Clock, log: opts.Logger, metrics: newMetrics(),
		track: newTracker(opts.Renotify), alerts: make(chan Alert, 1024), known: map[string]map[string]bool{}}
	if err := w.Reload(); err != nil {
		return nil, err
	}
	w.alertsWG.Add(1)
	go w.deliver(w.alerts)
	return w, nil
}

// Reload re-reads the store's profiles (SIGHUP); the next round uses them.
func (w *Watcher) Reload() error {
	ps, err := w.src.ListProfiles()
	if err != nil {
		return err
	}
	w.mu.Lock()
	old := map[string]bool{}
	for _, pr := range w.profiles {
		old[pr.p.Domain] = true
	}
	w.mu.Unlock()
	var runs []*profileRun
	for i := range ps {
		p := ps[i]
		pr := &profileRun{p: p, cache: &countingCache{TokenCache: w.src.TokenCache(p.Domain)}}
		delete(old, p.Domain)
		rs, _ := pr.cache.TokenCache.(core.RefreshTokenStore)
		pr.tester, pr.err = core.NewTesterWith(&p, pr.cache, rs)
		if pr.tester != nil {
			// The proof of the configuration as Google sees it now: a cached
			// token would hide a removed delegation or consent for an hour.
			pr.tester.Fresh = true
			pr.tester.Timeout = w.opts.Timeout
		}
		runs = append(runs, pr)
	}
	w.mu.Lock()
	for d := range old { // profiles deleted from the store
		w.metrics.forget(d, "")
		w.track.forgetProfile(d)
		delete(w.known, d)
	}
	w.profiles = runs
	w.mu.Unlock()
	w.log.Info("profiles loaded", "profiles", len(runs))
	return nil
}

// target is one mailbox of one profile to check in a round.
type target struct {
	pr      *profileRun
	mailbox string
}

// prepare lists this round's mailboxes (every mailbox of every profile and
// each profile's default sender), checks each profile's credential, drops
// the series of removed mailboxes and computes the early warnings.
func (w *Watcher) prepare(ctx context.Context) []target {
	w.mu.Lock()
	runs := append([]*profileRun(nil), w.profiles...)
	w.mu.Unlock()
	var out []target
	now := w.clock.Now()
	for _, pr := range runs {
		// The profile's credential is a check of its own: without it no
		// mailbox of the profile can be checked.
		ck := key{profile: pr.p.Domain, check: CheckCredential}
		if pr.err != nil {
			f := core.FindingOf(pr.err)
			if f == nil {
				f = credentialUnusableFinding(pr.err)
			}
			w.metrics.checkOK.WithLabelValues(pr.p.Domain, "", CheckCredential).Set(0)
			if a := w.track.check(ck, false, f, now, time.Time{}); a != nil {
				w.emit([]Alert{*a})
			}
			continue
		}
		w.metrics.checkOK.WithLabelValues(pr.p.Domain, "", CheckCredential).Set(1)
		if a := w.track.check(ck, true, nil, now, time.Time{}); a != nil {
			w.emit([]Alert{*a})
		}
		boxes, err := w.src.Mailboxes(pr.p.Domain)
		if err != nil {
			w.log.Error("cannot read the mailboxes; the profile is skipped this round", "profile", pr.p.Domain, "err", err)
			continue
		}
		list := core.TestTargets(&pr.p, boxes, true, nil)
		keep := map[string]bool{}
		for _, m := range list {
			keep[m] = true
			out = append(out, target{pr: pr, mailbox: m})
		}
		w.mu.Lock()
		for m := range w.known[pr.p.Domain] {
			if !keep[m] {
				w.metrics.forget(pr.p.Domain, m)
			}
		}
		w.known[pr.p.Domain] = keep
		w.mu.Unlock()
		w.track.forget(pr.p.Domain, func(m string) bool { return keep[m] })
		w.earlyWarnings(ctx, pr, list, now)
	}
	return out
}

// Run checks round after round until ctx ends, then lets the checks in
// flight finish (each has its own timeout), delivers the pending alerts and
// returns.
func (w *Watcher) Run(ctx context.Context) error {
	defer w.close()
	next := w.clock.Now()
	for round := 0; ctx.Err() == nil; round++ {
		start := next
		w.round(ctx, round, start, w.opts.Interval)
		next = start.Add(w.opts.Interval)
		select {
		case <-w.clock.After(next.Sub(w.clock.Now())):
		case <-ctx.Done():
		}
	}
	w.inflight.Wait()
	return nil
}

// Once runs one round with no spreading (for cron: `watch --once`), waits
// for it and reports whether every check passed.
func (w *Watcher) Once(ctx context.Context) bool {
	w.round(ctx, 0, w.clock.Now(), 0)
	w.inflight.Wait()
	w.close()
	return len(w.Health().Failing) == 0
}

func (w *Watcher) close() {
	w.alertMu.Lock()
	ch := w.alerts
	w.alerts = nil
	w.alertMu.Unlock()
	if ch != nil {
		close(ch)
		w.alertsWG.Wait()
	}
}

// round dispatches one round's checks, the i-th of n at start + i*spread/n,
// never more than Concurrency at once; it returns once all are dispatched
// (or ctx ended). The round's metrics are recorded when its last check ends.
func (w *Watcher) round(ctx context.Context, n int, start time.Time, spread time.Duration) {
	targets := w.prepare(ctx)
	checks := append([]core.CheckName(nil), w.opts.Checks...)
	if w.opts.RoundtripEvery > 0 && n%w.opts.RoundtripEvery == 0 && !hasCheck(checks, core.CheckRoundtrip) {
		checks = append(checks, core.CheckRoundtrip)
	}
	w.mu.Lock()
	w.watched = len(targets)
	w.mu.Unlock()
	w.log.Info("round started", "round", n+1, "mailboxes", len(targets), "checks", fmt.Sprint(checks))
	sem := make(chan struct{}, w.opts.Concurrency)
	var roundWG sync.WaitGroup
	for i, t := range targets {
		if spread > 0 && len(targets) > 0 {
			at := start.Add(spread * time.Duration(i) / time.Duration(len(targets)))
			if d := at.Sub(w.clock.Now()); d > 0 {
				select {
				case <-w.clock.After(d):
				case <-ctx.Done():
				}
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		roundWG.Add(1)
		w.inflight.Add(1)
		go func(t target) {
			defer w.inflight.Done()
			defer roundWG.Done()
			defer func() { <-sem }()
			w.checkOne(context.WithoutCancel(ctx), t, checks)
		}(t)
	}
	w.inflight.Add(1)
	go func() {
		defer w.inflight.Done()
		roundWG.Wait()
		end := w.clock.Now()
		w.mu.Lock()
		w.rounds++
		w.lastEnd = end
		w.mu.Unlock()
		w.metrics.rounds.Inc()
		w.metrics.roundSeconds.Set(end.Sub(start).Seconds())
		w.log.Info("round finished", "round", n+1, "seconds", end.Sub(start).Seconds(), "problems", len(w.track.problems()))
		if w.opts.OnRound != nil {
			w.opts.OnRound(w.Health())
		}
	}()
}

func hasCheck(cs []core.CheckName, c core.CheckName) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// checkOne checks one mailbox through core's bulk runner, saves the result
// (history included) and updates states, alerts and metrics.
func (w *Watcher) checkOne(ctx context.Context, t target, checks []core.CheckName) {
	domain := t.pr.p.Domain
	t.pr.cache.reset(t.mailbox)
	r := core.RunAll(ctx, t.pr.tester, []string{t.mailbox}, core.RunOptions{Checks: checks, Concurrency: 1, Retries: w.opts.Retries})[0]
	if err := w.src.SaveResults(domain, []core.MailboxResult{r}); err != nil {
		w.log.Error("the result could not be saved", "profile", domain, "mailbox", t.mailbox, "err", err)
	}
	if r.Finding != nil && r.Finding.Code == core.CodeThrottled {
		// Throttling says nothing about the mailbox: it keeps its state
		// and its metrics until a round gets through.
		w.log.Warn("Google throttled the checks; the mailbox keeps its state until the next round",
			"profile", domain, "mailbox", t.mailbox, "summary", r.Finding.Summary)
		return
	}
	w.observe(domain, r, checks, t.pr.cache.minted(t.mailbox))
}

// observe feeds one mailbox's result to the metrics and the state machine.
func (w *Watcher) observe(domain string, r core.MailboxResult, asked []core.CheckName, minted int) {
	now := w.clock.Now()
	w.metrics.result(domain, r, asked)
	if tc, ok := r.Check(core.CheckToken); ok && tc.OK {
		if minted > 0 {
			w.metrics.tokens.WithLabelValues(domain, "minted").Add(float64(minted))
		} else {
			w.metrics.tokens.WithLabelValues(domain, "cached").Inc()
		}
	}
	type outcome struct {
		check core.CheckName
		ok    bool
	}
	var outs []outcome
	for _, c := range r.Checks {
		outs = append(outs, outcome{c.Name, c.OK})
	}
	if len(r.Checks) == 0 && r.Finding != nil && r.Finding.Code != core.CodeCancelled {
		outs = append(outs, outcome{core.CheckToken, false})
	}
	var alerts []Alert
	for _, o := range outs {
		k := key{domain, r.Mailbox, string(o.check)}
		var f *core.Finding
		var since time.Time
		if !o.ok {
			f = r.Finding
			if f != nil && !w.track.failingWith(k, f.Code) {
				since = w.failureStart(domain, r.Mailbox, o.check, f.Code, now)
			}
		}
		if a := w.track.check(k, o.ok, f, now, since); a != nil {
			alerts = append(alerts, *a)
		}
	}
	w.emit(alerts)
}

// historySource is a Source that also keeps the check history (the
// store's): a failure already recorded before the watcher started keeps
// its start in the alerts.
type historySource interface {
	History(domain, mailbox string, since time.Time) ([]core.HistoryEntry, error)
}

// failureStart is when the failure of a check began according to the
// history (the result just saved carries it), else now.
func (w *Watcher) failureStart(domain, mailbox string, check core.CheckName, code core.Code, now time.Time) time.Time {
	hs, ok := w.src.(historySource)
	if !ok {
		return now
	}
	es, err := hs.History(domain, mailbox, now.Add(-31*24*time.Hour))
	if err != nil {
		return now
	}
	start := now
	for _, e := range es { // oldest first per check: the last one wins
		if e.Check == check && !e.OK && e.Code == code && !e.Since.IsZero() {
			start = e.Since
		}
	}
	if start.After(now) {
		return now
	}
	return start
}

// emit queues alerts for delivery and refreshes the findings metric.
func (w *Watcher) emit(alerts []Alert) {
	w.metrics.setFindings(w.track.problems)
	w.alertMu.Lock()
	defer w.alertMu.Unlock()
	for _, a := range alerts {
		if w.alerts == nil {
			return
		}
		w.pending.Add(1)
		w.alerts <- a
	}
}

// Health is the overall state for /healthz and the wizard.
func (w *Watcher) Health() Health {
	w.mu.Lock()
	h := Health{Rounds: w.rounds, LastRound: w.lastEnd, Mailboxes: w.watched, Failing: []Problem{}, Warnings: []Problem{}}
	w.mu.Unlock()
	for _, p := range w.track.problems() {
		if p.Warning {
			h.Warnings = append(h.Warnings, p)
		} else {
			h.Failing = append(h.Failing, p)
		}
	}
	switch {
	case len(h.Failing) > 0:
		h.State = "failing"
	case h.Rounds == 0:
		h.State = "starting"
	case len(h.Warnings) > 0:
		h.State = "warning"
	default:
		h.State = "ok"
	}
	return h
}
