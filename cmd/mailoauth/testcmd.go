package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
)

type testFlags struct {
	mailboxes          []string
	all, asJSON, fresh bool
	checks, mechanism  string
	concurrency        int
	retries            int
	timeout, rtTimeout time.Duration
}

func (o *testFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVarP(&o.mailboxes, "mailbox", "m", nil, "a mailbox `ADDR` to check (repeatable); default: the default sender")
	f.BoolVarP(&o.all, "all", "a", false, "every assigned mailbox plus the default sender")
	addChecksFlag(cmd, &o.checks, "token,imap,smtp,roundtrip", "the `CHECKS` to run, in order")
	f.IntVar(&o.concurrency, "concurrency", core.DefaultConcurrency, fmt.Sprintf("the ceiling `N` of mailboxes checked at once: the run starts at %d, %s", core.StartConcurrency, core.ConcurrencyRule))
	f.IntVar(&o.retries, "retries", core.DefaultRetries, "the `N` retries of a throttled mailbox, each after a jittered backoff (0.5 s doubling, at least the server's Retry-After), before its finding is throttled; a Retry-After over 2 minutes is not waited out but the finding at once; 0: none")
	f.BoolVarP(&o.asJSON, "json", "j", false, "one JSON object per mailbox, then a summary object")
	addTimeoutFlag(f, &o.timeout)
	f.DurationVar(&o.rtTimeout, "roundtrip-timeout", 0, fmt.Sprintf("how long (a `DURATION`) the round trip waits for its message to arrive (default %d times --timeout: %s); the round-trip check ends within --timeout plus this", core.RoundtripFactor, core.DefaultRoundtripTimeout))
	defaultInUsage(f, "roundtrip-timeout")
	f.BoolVar(&o.fresh, "fresh", false, "mint a new token for every mailbox instead of using a cached one (after changing the Admin console)")
	addMechanismFlag(cmd, &o.mechanism, "IMAP and SMTP")
	_ = cmd.RegisterFlagCompletionFunc("mailbox", completeMailboxes) // as ADDR
}

// bulkMemoryLimit is the Go heap's soft limit in a bulk run (GOGC 800):
// the collector runs more often as the heap nears it, so a large run stays
// within issue 12's 150 MB of RSS with the store's mapped pages.
const bulkMemoryLimit = 64 << 20

func runTest(ctx context.Context, a *app, pos []string, o *testFlags) error {
	mailboxes := append(o.mailboxes, pos...)
	checks, err := core.ParseChecks(o.checks)
	if err != nil {
		return err
	}
	mech, err := parseMechanism(o.mechanism)
	if err != nil {
		return err
	}
	if err := checkConcurrency(o.concurrency); err != nil {
		return err
	}
	if o.retries < 0 || o.retries > core.MaxRetries {
		return usagef("--retries %d is out of range; use 0 to %d (default %d)", o.retries, core.MaxRetries, core.DefaultRetries)
	}
	retries := o.retries
	if retries == 0 {
		retries = -1 // RunRequest's 0 is the default
	}
	st, p, err := a.openProfile(mailboxes...)
	if err != nil {
		return err
	}
	defer st.Close()
	var boxes []core.Mailbox
	if o.all {
		if boxes, err = st.Mailboxes(p.Domain); err != nil {
			return err
		}
	}
	var picked []string
	for _, m := range mailboxes {
		email, err := p.MailboxRule().Address(m)
		if err != nil {
			return err
		}
		picked = append(picked, email)
	}
	targets := core.TestTargets(&p, boxes, o.all, picked)
	// A bulk run allocates about 140 KB a mailbox (TLS handshakes and
	// buffers) over a live heap of a few MB: at Go's default GOGC of 100 the
	// collector ran every 14 mailboxes, at 200 every 30 (2 to 3% of the
	// run's CPU). At 800 it runs every 150, and the memory limit keeps a run
	// whose live heap is large (100,000 mailboxes) from growing its heap
	// nine times (README, Performance); $GOGC and $GOMEMLIMIT, when set, win.
	if len(targets) > 1 && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(800)
		if os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(bulkMemoryLimit)
		}
	}
	if o.timeout <= 0 || o.rtTimeout < 0 {
		return usagef("--timeout must be above zero and --roundtrip-timeout not below it, e.g. --timeout 20s --roundtrip-timeout 60s")
	}

	fresh := core.CachedTokens
	if o.fresh {
		fresh = core.FreshTokens
	}
	progress := newProgressLine(a, len(targets), !o.asJSON && isTerminal(os.Stderr))
	start := time.Now()
	sink := newResultSink(a, o.asJSON, newResultTable(targets, checks), progress.above)
	rep, err := core.Run(ctx, core.RunRequest{Profile: p, Mailboxes: targets, Checks: checks,
		Tokens: st.TokenCache(p.Domain), Fresh: fresh, Mechanism: mech, Timeout: o.timeout, RoundtripTimeout: o.rtTimeout,
		Concurrency: o.concurrency, Retries: retries, OnEvent: progress.onEvent(), OnResult: sink.add, Results: st})
	if err != nil {
		return err // no check ran
	}
	progress.done()
	elapsed := time.Since(start)
	if rep.SaveErr != nil {
		fmt.Fprintf(a.stderr, "mailoauth: the results could not be saved (%v); they are only in this output\n", rep.SaveErr)
	}
	if sink.err != nil {
		return sink.err
	}
	passed, failed := rep.Passed, rep.Failed
	if o.asJSON {
		summary := map[string]any{"total": passed + failed, "ok": passed, "failed": failed,
			"seconds": float64(elapsed.Milliseconds()) / 1000, "throttled_retries": rep.Stats.Retries, "peak_concurrency": rep.Stats.PeakConcurrency}
		if rep.Cancelled > 0 {
			summary["interrupted"], summary["not_run"] = true, rep.Cancelled
		}
		if err := sink.enc.Encode(map[string]any{"summary": summary}); err != nil {
			return err
		}
	} else {
		sink.closeTable()
		fmt.Fprintf(a.stdout, "%d passed, %d failed%s\n", passed, failed, notRun(rep.Cancelled))
	}
	if rep.Cancelled > 0 {
		// Interrupted: the mailboxes it stopped keep their last results
		// (core saved none for them); main says so, exit 130.
		return context.Canceled
	}
	if failed > 0 {
		return errChecksFailed
	}
	return nil
}

// notRun is the summary's tail for the mailboxes an interrupt stopped.
func notRun(cancelled int) string {
	if cancelled == 0 {
		return ""
	}
	return fmt.Sprintf(", %d not run (interrupted)", cancelled)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// jsonResult is the documented one-line JSON shape of a mailbox result.
func jsonResult(r core.MailboxResult) map[string]any {
	checks := map[string]any{}
	for _, c := range r.Checks {
		entry := map[string]any{"ok": c.OK, "ms": c.Duration.Milliseconds()}
		if c.Detail != "" {
			entry["detail"] = c.Detail
		}
		checks[string(c.Name)] = entry
	}
	out := map[string]any{"mailbox": r.Mailbox, "ok": r.OK, "checks": checks, "finding": r.Finding}
	if len(r.Notes) > 0 {
		out["notes"] = r.Notes
	}
	return out
}

// progressLine draws a one-line progress bar on stderr when it is a terminal.
type progressLine struct {
	a       *app
	mu      sync.Mutex
	total   int
	done_   int
	enabled bool
	bar     string // the line drawn last, to draw again below a row
}

func newProgressLine(a *app, total int, enabled bool) *progressLine {
	return &progressLine{a: a, total: total, enabled: enabled}
}

// onEvent is the run's OnEvent: none when no line is drawn (--json, or
// stderr not a terminal), so that the runner does not hand each mailbox's
// five events to a goroutine that would drop them (about 2 µs a mailbox).
func (p *progressLine) onEvent() func(core.Event) {
	if !p.enabled {
		return nil
	}
	return p.event
}

func (p *progressLine) event(e core.Event) {
	if !p.enabled || e.Kind != core.EventFinished {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done_++
	const width = 30
	filled := width * p.done_ / max(p.total, 1)
	// The bar fits in 79 columns: a line wider than the terminal wraps,
	// and "\r" would then clear and redraw only its last part.
	head := fmt.Sprintf("[%s%s] %d/%d ", strings.Repeat("#", filled), strings.Repeat("-", width-filled), p.done_, p.total)
	p.bar = head + truncate(e.Mailbox, max(79-len(head), 8))
	fmt.Fprint(p.a.stderr, "\r"+p.bar)
}

// above makes a write to stdout with the bar out of its way: on a
// terminal both go to the same screen, so the bar is cleared first and
// drawn again below what was written.
func (p *progressLine) above(write func()) {
	if !p.enabled {
		write()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == "" { // not drawn yet
		write()
		return
	}
	p.clear()
	write()
	fmt.Fprint(p.a.stderr, p.bar)
}

func (p *progressLine) done() {
	if p.enabled {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.clear()
		p.bar = ""
	}
}

func (p *progressLine) clear() {
	fmt.Fprintf(p.a.stderr, "\r%s\r", strings.Repeat(" ", 80))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s + strings.Repeat(" ", n-len(s))
	}
	return s[:n-1] + "…"
}

// checkConcurrency refuses a --concurrency ceiling the bulk runner does not
// take, for every command that runs it (test, upgrade).
func checkConcurrency(n int) error {
	if n < 1 || n > core.MaxConcurrency {
		return usagef("--concurrency %d is out of range; use 1 to %d (the default %d adapts to Google's throttling)", n, core.MaxConcurrency, core.DefaultConcurrency)
	}
	return nil
}
