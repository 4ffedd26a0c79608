package core

import (
	"context"
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
	// EventFinished: a mailbox is done (Event.Result); Done counts it.
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

// Event is progress of a bulk run, for a progress bar. Index is the
// mailbox's position in the input; Done of Total mailboxes are finished
// (duplicates count once).
type Event struct {
	Kind    EventKind
	Mailbox string
	Index   int
	Done    int
	Total   int
	Check   *CheckResult
	Result  *MailboxResult
}

// DefaultConcurrency is how many mailboxes a bulk run checks at once:
// polite toward Google.
const DefaultConcurrency = 8

// RunOptions configures RunAll.
type RunOptions struct {
	Checks      []CheckName // nil: all
	Concurrency int         // mailboxes at once; default 8
	// OnEvent is called one call at a time, in the order the events
	// happened (Done never goes down), from a goroutine of its own: a slow
	// OnEvent delays no check. Every call is made before RunAll returns.
	OnEvent func(Event)
}

// RunAll checks every mailbox with bounded concurrency and returns the
// results in input order. A mailbox listed twice is checked once (both
// positions get the result). When ctx ends, mailboxes not yet started get
// a "cancelled" finding and running checks stop.
func RunAll(ctx context.Context, t *Tester, mailboxes []string, opts RunOptions) []MailboxResult {
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	results := make([]MailboxResult, len(mailboxes))
	first := map[string]int{}
	var order []int // index of the first occurrence of each unique mailbox
	for i, m := range mailboxes {
		key := strings.ToLower(strings.TrimSpace(m))
		if _, dup := first[key]; !dup {
			first[key] = i
			order = append(order, i)
		}
	}
	total := len(order)
	var (
		mu     sync.Mutex
		cond   = sync.NewCond(&mu)
		done   int
		queue  []Event // events not yet handed to OnEvent
		closed bool
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
		mu.Lock()
		defer mu.Unlock()
		enqueue(ev)
	}
	finish := func(i int, r MailboxResult) {
		mu.Lock()
		defer mu.Unlock()
		results[i] = r
		done++
		enqueue(Event{Kind: EventFinished, Mailbox: r.Mailbox, Index: i, Result: &r})
	}

	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, i := range order {
		mailbox := strings.ToLower(strings.TrimSpace(mailboxes[i]))
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			finish(i, cancelledResult(mailbox))
			continue
		}
		wg.Add(1)
		go func(i int, mailbox string) {
			defer wg.Done()
			defer func() { <-sem }()
			emit(Event{Kind: EventStarted, Mailbox: mailbox, Index: i})
			r := t.check(ctx, mailbox, opts.Checks, func(cr CheckResult) {
				emit(Event{Kind: EventCheckDone, Mailbox: mailbox, Index: i, Check: &cr})
			})
			finish(i, r)
		}(i, mailbox)
	}
	wg.Wait()
	mu.Lock()
	closed = true
	cond.Broadcast()
	mu.Unlock()
	<-delivered // every event is handed over before RunAll returns
	for i, m := range mailboxes {
		if j := first[strings.ToLower(strings.TrimSpace(m))]; j != i {
			results[i] = results[j]
		}
	}
	return results
}

func cancelledResult(mailbox string) MailboxResult {
	return MailboxResult{Mailbox: mailbox, CheckedAt: time.Now().UTC(),
		Finding: NewFinding(CodeCancelled, "The check was cancelled before it finished.", "Run the test again.")}
}
