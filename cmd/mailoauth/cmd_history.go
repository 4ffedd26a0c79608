package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/history"
	"github.com/mailoauth/mailoauth/store"
)

const historyMarks = 24

type historyFlags struct {
	since  time.Duration
	asJSON bool
}

func (o *historyFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.DurationVar(&o.since, "since", 0, "only runs of this last `DURATION` (e.g. 24h); default: all kept (30 days, at most 300 runs per mailbox)")
	defaultInUsage(f, "since")
	f.BoolVarP(&o.asJSON, "json", "j", false, "one JSON object per mailbox and check, with its runs")
}

func runHistory(ctx context.Context, a *app, pos []string, o *historyFlags) error {
	if o.since < 0 {
		return usagef("--since %v is negative; use e.g. --since 24h", o.since)
	}
	// A mailbox names its profile when the store holds several.
	var st *store.Store
	var p core.Profile
	var mailbox string
	var err error
	if len(pos) == 1 {
		st, p, mailbox, err = a.openMailbox(pos[0])
	} else {
		st, p, err = a.openProfile()
	}
	if err != nil {
		return err
	}
	defer st.Close()
	var from time.Time
	if o.since > 0 {
		from = time.Now().Add(-o.since)
	}
	es, err := st.History(p.Domain, mailbox, from)
	if err != nil {
		return err
	}
	sums := history.Summarize(es)
	if o.asJSON {
		enc := json.NewEncoder(a.stdout)
		for _, h := range sums {
			runs := make([]map[string]any, 0, len(h.Entries))
			for _, e := range h.Entries {
				r := map[string]any{"time": e.Time, "ok": e.OK, "ms": e.Duration.Milliseconds()}
				if e.Code != "" {
					r["code"] = e.Code
				}
				runs = append(runs, r)
			}
			out := map[string]any{"mailbox": h.Mailbox, "check": h.Check, "runs": h.Runs, "failures": h.Failures,
				"failure_periods": h.Periods, "ok": !h.Failing(), "history": runs}
			if h.Failing() {
				out["code"], out["failing_since"] = h.Last.Code, h.FailingSince
			}
			if err := enc.Encode(out); err != nil {
				return err
			}
		}
		return nil
	}
	if len(sums) == 0 {
		what := "no mailbox of " + p.Domain
		if mailbox != "" {
			what = mailbox
		}
		fmt.Fprintf(a.stdout, "%s has no check history yet; `mailoauth test --all` or `mailoauth watch` records it.\n", what)
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MAILBOX\tCHECK\tRUNS\tFAILED\tSTATE\tLAST RUNS (oldest first)")
	for _, h := range sums {
		state := "ok"
		if h.Failing() {
			state = fmt.Sprintf("FAILING (%s) since %s", h.Last.Code, h.FailingSince.Local().Format("2006-01-02 15:04:05 MST"))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", h.Mailbox, h.Check, h.Runs, h.Failures, state, history.Marks(h.Entries, historyMarks))
	}
	tw.Flush()
	results, _ := st.Results(p.Domain)
	for _, h := range sums {
		if !h.Failing() {
			continue
		}
		fmt.Fprintf(a.stdout, "\n%s: %s has failed since %s (for %s), in %d of %d runs shown; %s.\n", h.Mailbox, h.Check,
			h.FailingSince.Local().Format("2006-01-02 15:04:05 MST"), time.Since(h.FailingSince).Round(time.Second), h.Failures, h.Runs, periods(h.Periods))
		if r, ok := results[h.Mailbox]; ok && r.Finding != nil && r.Finding.Code == h.Last.Code {
			printFinding(a, r.Finding)
		}
	}
	return nil
}

// periods says how often a failure came back.
func periods(n int) string {
	switch n {
	case 1:
		return "it has not recovered in between"
	case 2:
		return "it failed once before and recovered"
	}
	return fmt.Sprintf("it failed %d times before and recovered each time", n-1)
}
