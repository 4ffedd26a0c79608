package core

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// EventKind says what happened in a bulk run.
type EventKind int

// The events of a bulk run, in the order a mailbox produces them.
const (
	// EventStarted: a mailbox's checks started.
	EventStarted EventKind = iota
	// EventCheckDone: one check of a mailbox finished (Event.Check).
	EventCheckDone
	// EventFinished: a mailbox is done (Event.Result); Done counts it. A
	// mailbox the run's end cancelled gets none.
	EventFinished
)

func (k EventKind) String() string {
	switch k {
	case EventStarted:
		return "started"
	case EventCheckDone:
		return "check_done"
	case EventFinished:
		return "finished"
	}
	return "unknown"
}

// Event is progress of a bulk run, for a progress bar: Done of Total
// mailboxes are finished (duplicates count once).
type Event struct {
	Kind    EventKind
	Mailbox string
	Done    int
	Total   int
	Check   *CheckResult
	Result  *MailboxResult
}

// DefaultConcurrency is the default ceiling of mailboxes a bulk run checks
// at once. The run starts at StartConcurrency and grows toward it while
// Google does not throttle (see adaptive.go); the README's Performance
// section explains the choice against Google's published limits.
const DefaultConcurrency = 128

// MaxConcurrency is the highest ceiling a bulk run accepts.
const MaxConcurrency = 256

// RunOptions configures RunAll.
type RunOptions struct {
	Checks []CheckName // nil: all
	// Concurrency is the ceiling of mailboxes at once; default
	// DefaultConcurrency. The run adapts below it.
	Concurrency int
	// Retries is how many times a throttled mailbox is tried again (with
	// jittered backoff, at least the server's Retry-After) before its
	// finding is CodeThrottled; 0 means DefaultRetries, negative none. A
	// Retry-After over MaxRetryAfter is the finding at once.
	Retries int
	// OnEvent is called one call at a time, in the order the events
	// happened (Done never goes down), from a goroutine of its own: a slow
	// OnEvent delays no check. Every call is made before RunAll returns.
	OnEvent func(Event)
	// Stats, if set, receives the run's counts when RunAll returns.
	Stats *RunStats
	// stream, if set, receives every result as soon as it and all before
	// it in the input are done, one call at a time in input order (a
	// duplicate gets its first occurrence's result), and RunAll returns
	// nil: a run over 100,000 mailboxes holds only the results still out
	// of order. A slow stream holds up the run.
	stream func(MailboxResult)

	clock runClock // zero: the real clock (tests set a fake one)
}

// RunStats counts what a bulk run did beyond checking.
type RunStats struct {
	// Retries is how many times throttled mailboxes were tried again: the
	// sum of N over the results' notes "throttled, retried N times" (a
	// mailbox whose retries ran out met one reply more than it retried).
	Retries int
	// retried is how many mailboxes were tried again after one.
	retried int
	// PeakConcurrency is the most mailboxes checked at once.
	PeakConcurrency int
	// halvings is how many times global-rate replies halved the window.
	halvings int
}

// checkFunc checks one mailbox (Tester.check; a fake in tests).
type checkFunc func(ctx context.Context, mailbox string, checks []CheckName, onCheck func(CheckResult)) MailboxResult

// RunAll checks every mailbox with adaptive concurrency and returns the
// results in input order. A mailbox listed twice is checked once (both
// positions get the result). A mailbox Google throttles is tried again
// later and never fails for that alone; its result notes the retries. When
// ctx ends, running checks stop, and every mailbox not yet passed gets a
// "cancelled" finding (MailboxResult.Cancelled) and no EventFinished: it
// did not finish.
func RunAll(ctx context.Context, t *Tester, mailboxes []string, opts RunOptions) []MailboxResult {
	return runAll(ctx, t.check, mailboxes, opts)
}

func runAll(ctx context.Context, check checkFunc, mailboxes []string, opts RunOptions) []MailboxResult {
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	retries := opts.Retries
	switch {
	case retries == 0:
		retries = DefaultRetries
	case retries < 0:
		retries = 0
	}
	clock := opts.clock
	if clock.now == nil {
		clock = realClock()
	}
	lim := newLimiter(n, clock)
	var results []MailboxResult
	if opts.stream == nil {
		results = make([]MailboxResult, len(mailboxes))
	}
	first := map[string]int{}
	var order []int // index of the first occurrence of each unique mailbox
	for i, m := range mailboxes {
		key := strings.ToLower(strings.TrimSpace(m))
		if _, dup := first[key]; !dup {
			first[key] = i
			order = append(order, i)
		}
	}
	st := newStreamer(opts.stream, mailboxes, first)
	total := len(order)
	var (
		mu     sync.Mutex
		cond   = sync.NewCond(&mu)
		done   int
		queue  []Event // events not yet handed to OnEvent
		closed bool
		stats  RunStats
	)
	// OnEvent is called by one goroutine of its own, outside mu: a slow or
	// blocked OnEvent (a UI that stopped reading) holds up no check, and
	// the events still arrive one at a time in the order they happened.
	delivered := make(chan struct{})
	if opts.OnEvent != nil {
		go func() {
			defer close(delivered)
			for {
				mu.Lock()
				for len(queue) == 0 && !closed {
					cond.Wait()
				}
				batch := queue
				queue = nil
				mu.Unlock()
				if len(batch) == 0 {
					return // closed and drained
				}
				for _, ev := range batch {
					opts.OnEvent(ev)
				}
			}
		}()
	} else {
		close(delivered)
	}
	// enqueue records an event with the count as of now; mu is held.
	enqueue := func(ev Event) {
		if opts.OnEvent == nil {
			return
		}
		ev.Done, ev.Total = done, total
		queue = append(queue, ev)
		cond.Signal()
	}
	emit := func(ev Event) {
		if opts.OnEvent == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		enqueue(ev)
	}
	finish := func(i int, r MailboxResult) {
		mu.Lock()
		defer st.deliver(i, r, mu.Unlock)
		if results != nil {
			results[i] = r
		}
		if r.Cancelled() {
			return // not finished: a progress display leaves it not run
		}
		done++
		enqueue(Event{Kind: EventFinished, Mailbox: r.Mailbox, Result: &r})
	}
	// attempt checks a mailbox until it is not throttled or the retries
	// are used up; it holds a slot of the window for each try.
	attempt := func(i int, mailbox string, s slot) MailboxResult {
		emit(Event{Kind: EventStarted, Mailbox: mailbox})
		var onCheck func(CheckResult) // none without OnEvent: nothing to tell
		if opts.OnEvent != nil {
			onCheck = func(cr CheckResult) {
				emit(Event{Kind: EventCheckDone, Mailbox: mailbox, Check: &cr})
			}
		}
		tries := 0
		for {
			cctx := ctx
			if tries > 0 {
				cctx = context.WithValue(ctx, retryKey{}, true)
			}
			r := check(cctx, mailbox, opts.Checks, onCheck)
			th := r.throttle
			lim.release(s, th)
			if ctx.Err() != nil && !r.OK {
				// Whatever failed once the run was stopped (a connection
				// cut, a wait given up) may be the stop itself: cancelled,
				// not a result that would replace the mailbox's last one.
				return cancelledResult(mailbox)
			}
			if th == nil {
				return withRetryNote(r, tries)
			}
			if tries >= retries || th.retryAfter > MaxRetryAfter {
				if !th.connCap {
					r.Finding = throttledFinding(th.d, th, tries)
				}
				return withRetryNote(r, tries)
			}
			mu.Lock()
			stats.Retries++
			if tries == 0 {
				stats.retried++
			}
			mu.Unlock()
			tries++
			if err := clock.sleep(ctx, backoff(tries, th.retryAfter)); err != nil {
				return cancelledResult(mailbox)
			}
			var err error
			if s, err = lim.acquire(ctx); err != nil {
				return cancelledResult(mailbox)
			}
		}
	}

	var wg sync.WaitGroup
	for _, i := range order {
		mailbox := strings.ToLower(strings.TrimSpace(mailboxes[i]))
		s, err := lim.acquire(ctx)
		if err != nil {
			finish(i, cancelledResult(mailbox))
			continue
		}
		wg.Add(1)
		go func(i int, mailbox string, s slot) {
			defer wg.Done()
			finish(i, attempt(i, mailbox, s))
		}(i, mailbox, s)
	}
	wg.Wait()
	mu.Lock()
	closed = true
	cond.Broadcast()
	mu.Unlock()
	<-delivered // every event is handed over before RunAll returns
	for i := range results {
		if j := first[strings.ToLower(strings.TrimSpace(mailboxes[i]))]; j != i {
			results[i] = results[j]
		}
	}
	if opts.Stats != nil {
		lim.mu.Lock()
		stats.PeakConcurrency, stats.halvings = lim.peak, lim.halvings
		lim.mu.Unlock()
		*opts.Stats = stats
	}
	return results
}

// withRetryNote notes on a result how often its mailbox was throttled and
// tried again.
func withRetryNote(r MailboxResult, tries int) MailboxResult {
	switch {
	case tries == 1:
		r.Notes = append(r.Notes, "throttled, retried 1 time")
	case tries > 1:
		r.Notes = append(r.Notes, fmt.Sprintf("throttled, retried %d times", tries))
	}
	return r
}

func cancelledResult(mailbox string) MailboxResult {
	return MailboxResult{Mailbox: mailbox, CheckedAt: time.Now().UTC(),
		Finding: cancelledFinding()}
}
