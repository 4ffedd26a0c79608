package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

func runTest(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("test", "test [--mailbox ADDR]... [--all] [--checks token,imap,smtp,roundtrip] [--concurrency N] [--timeout D] [--roundtrip-timeout D] [--fresh] [--mechanism M] [--json]")
	var mailboxes stringList
	fs.Var(&mailboxes, "mailbox", "a mailbox to check (repeatable); default: the default sender")
	all := fs.Bool("all", false, "every assigned mailbox plus the default sender")
	checksFlag := fs.String("checks", "token,imap,smtp,roundtrip", "which checks to run, in order")
	concurrency := fs.Int("concurrency", core.DefaultConcurrency, fmt.Sprintf("ceiling of mailboxes checked at once: the run starts at %d, grows while Google does not throttle and halves when it does", core.StartConcurrency))
	asJSON := fs.Bool("json", false, "one JSON object per mailbox, then a summary object")
	timeout := fs.Duration("timeout", core.DefaultCheckTimeout, "timeout of each network check")
	rtTimeout := fs.Duration("roundtrip-timeout", 0, fmt.Sprintf("how long the round trip waits for its message to arrive (default %d times --timeout: %s); the round-trip check ends within --timeout plus this", core.RoundtripFactor, core.DefaultRoundtripTimeout))
	fresh := fs.Bool("fresh", false, "mint a new token for every mailbox instead of using a cached one (after changing the Admin console)")
	mechanism := fs.String("mechanism", core.MechXOAUTH2, "SASL mechanism for IMAP and SMTP: XOAUTH2 or OAUTHBEARER")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	mailboxes = append(mailboxes, pos...)
	checks, err := core.ParseChecks(*checksFlag)
	if err != nil {
		return err
	}
	mech := strings.ToUpper(*mechanism)
	if mech != core.MechXOAUTH2 && mech != core.MechOAUTHBEARER {
		return usagef("--mechanism %q is not known; use XOAUTH2 or OAUTHBEARER", *mechanism)
	}
	if *concurrency < 1 || *concurrency > core.MaxConcurrency {
		return usagef("--concurrency %d is out of range; use 1 to %d (the default %d adapts to Google's throttling)", *concurrency, core.MaxConcurrency, core.DefaultConcurrency)
	}
	st, p, err := a.openProfile(mailboxes...)
	if err != nil {
		return err
	}
	defer st.Close()
	var boxes []core.Mailbox
	if *all {
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
	targets := core.TestTargets(&p, boxes, *all, picked)
	tester, err := core.NewTesterWith(&p, st.TokenCache(p.Domain), nil)
	if err != nil {
		return err
	}
	if *timeout <= 0 || *rtTimeout < 0 {
		return usagef("--timeout must be above zero and --roundtrip-timeout not below it, e.g. --timeout 20s --roundtrip-timeout 60s")
	}
	tester.Timeout = *timeout
	tester.RoundtripTimeout = *rtTimeout
	tester.Mechanism = mech
	tester.Fresh = *fresh

	progress := newProgressLine(a, len(targets), !*asJSON && isTerminal(os.Stderr))
	start := time.Now()
	var stats core.RunStats
	results := core.RunAll(ctx, tester, targets, core.RunOptions{Checks: checks, Concurrency: *concurrency, OnEvent: progress.event, Stats: &stats})
	progress.done()
	elapsed := time.Since(start)
	if err := st.SaveResults(p.Domain, results); err != nil {
		fmt.Fprintf(a.stderr, "mailoauth: the results could not be saved (%v); they are printed below\n", err)
	}
	passed := 0
	for _, r := range results {
		if r.OK {
			passed++
		}
	}
	failed := len(results) - passed
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		for _, r := range results {
			if err := enc.Encode(jsonResult(r)); err != nil {
				return err
			}
		}
		if err := enc.Encode(map[string]any{"summary": map[string]any{"total": len(results), "ok": passed, "failed": failed,
			"seconds": float64(elapsed.Milliseconds()) / 1000, "throttled_retries": stats.Throttled, "peak_concurrency": stats.PeakConcurrency}}); err != nil {
			return err
		}
	} else {
		printResults(a, results, checks)
		fmt.Fprintf(a.stdout, "%d passed, %d failed\n", passed, failed)
	}
	if failed > 0 {
		return errChecksFailed
	}
	return nil
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

func printResults(a *app, results []core.MailboxResult, checks []core.CheckName) {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	head := []string{"MAILBOX"}
	for _, c := range checks {
		head = append(head, strings.ToUpper(string(c)))
	}
	fmt.Fprintln(tw, strings.Join(append(head, "RESULT"), "\t"))
	for _, r := range results {
		row := []string{r.Mailbox}
		for _, c := range checks {
			cell := "-"
			if cr, ok := r.Check(c); ok {
				cell = fmt.Sprintf("%s %dms", map[bool]string{true: "ok", false: "FAIL"}[cr.OK], cr.Duration.Milliseconds())
			}
			row = append(row, cell)
		}
		res := "passed"
		if !r.OK {
			res = "FAILED"
			if r.Finding != nil {
				res += " (" + string(r.Finding.Code) + ")"
			}
		}
		fmt.Fprintln(tw, strings.Join(append(row, res), "\t"))
	}
	tw.Flush()
	for _, r := range results {
		if r.Finding != nil && !r.OK {
			fmt.Fprintf(a.stdout, "\n%s:\n", r.Mailbox)
			printFinding(a, r.Finding)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(a.stdout, "\n%s: note: %s\n", r.Mailbox, n)
		}
	}
	if len(results) > 0 {
		fmt.Fprintln(a.stdout)
	}
}

// progressLine draws a one-line progress bar on stderr when it is a terminal.
type progressLine struct {
	a       *app
	mu      sync.Mutex
	total   int
	done_   int
	enabled bool
}

func newProgressLine(a *app, total int, enabled bool) *progressLine {
	return &progressLine{a: a, total: total, enabled: enabled}
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
	fmt.Fprintf(p.a.stderr, "\r[%s%s] %d/%d %s", strings.Repeat("#", filled), strings.Repeat("-", width-filled), p.done_, p.total, truncate(e.Mailbox, 40))
}

func (p *progressLine) done() {
	if p.enabled {
		fmt.Fprintf(p.a.stderr, "\r%s\r", strings.Repeat(" ", 80))
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s + strings.Repeat(" ", n-len(s))
	}
	return s[:n-1] + "…"
}
