package core

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunAllBoundedOrderedCancellable(t *testing.T) {
	f := newFakeTokenServer(t)
	const limit = 3
	var inflight, peak atomic.Int32
	full := make(chan struct{}) // closed when limit requests are in at once
	fill := sync.OnceFunc(func() { close(full) })
	t.Cleanup(fill)
	// Each request waits until limit of them are in at once, so the peak
	// is reached whatever the scheduling; if it never is, the guard lets
	// the run finish and the peak check below fails.
	f.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		// Counted out before the answer leaves: the next mailbox's
		// request cannot be counted beside this one.
		defer inflight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n >= limit {
			fill()
		}
		select {
		case <-full:
		case <-time.After(hangGuard):
			fill()
		}
		f.serve(w, r)
	})
	tester := &Tester{Tokens: &TokenProvider{Cred: testCred(f.URL)}}
	var boxes []string
	for i := 0; i < 12; i++ {
		boxes = append(boxes, fmt.Sprintf("u%d@example.test", i))
	}
	var mu sync.Mutex
	var kinds []EventKind
	res := RunAll(context.Background(), tester, boxes, RunOptions{Checks: []CheckName{CheckToken}, Concurrency: limit,
		OnEvent: func(ev Event) { mu.Lock(); kinds = append(kinds, ev.Kind); mu.Unlock() }})
	if p := peak.Load(); p != limit {
		t.Fatalf("peak concurrency %d, want exactly %d (Concurrency: %d)", p, limit, limit)
	}
	for i, r := range res {
		if r.Mailbox != boxes[i] || !r.OK || len(r.Checks) != 1 {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	if len(kinds) != 36 {
		t.Fatalf("%d events, want 36", len(kinds))
	}

	// Cancelled part-way: finished mailboxes keep their result, the rest
	// are cancelled, nothing hangs. The first two requests are answered;
	// later ones are held until their caller gives up, so exactly two
	// finish whenever the cancel lands.
	var reqs atomic.Int32
	gone := make(chan struct{})
	t.Cleanup(func() { close(gone) })
	f.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reqs.Add(1) <= 2 {
			f.serve(w, r)
			return
		}
		select {
		case <-r.Context().Done():
		case <-gone:
		}
	})
	tester = &Tester{Tokens: &TokenProvider{Cred: testCred(f.URL)}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var finished atomic.Int32
	res = RunAll(ctx, tester, boxes, RunOptions{Checks: []CheckName{CheckToken}, Concurrency: 2,
		OnEvent: func(ev Event) {
			if ev.Kind == EventFinished && finished.Add(1) == 2 {
				cancel()
			}
		}})
	var ok, cancelled int
	for _, r := range res {
		switch {
		case r.OK:
			ok++
		case r.Finding != nil && r.Finding.Code == CodeCancelled:
			cancelled++
		default:
			t.Fatalf("unexpected %+v", r.Finding)
		}
	}
	if ok != 2 || cancelled != 10 {
		t.Fatalf("ok %d cancelled %d, want 2 and 10", ok, cancelled)
	}
}

// A consumer that stops reading (a wizard whose run was superseded) must
// not hold up the checks: every mailbox is checked while OnEvent is still
// blocked in its first call, and once it returns the events arrive in
// order, none lost.
func TestRunAllBlockedOnEventStallsNoCheck(t *testing.T) {
	f := newFakeTokenServer(t)
	const n = 12
	var served atomic.Int32
	allServed := make(chan struct{})
	f.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.serve(w, r)
		if served.Add(1) == n {
			close(allServed)
		}
	})
	tester := &Tester{Tokens: &TokenProvider{Cred: testCred(f.URL)}}
	var boxes []string
	for i := range n {
		boxes = append(boxes, fmt.Sprintf("u%d@example.test", i))
	}
	release := make(chan struct{})
	var events []Event
	finished := make(chan []MailboxResult)
	go func() {
		finished <- RunAll(context.Background(), tester, boxes, RunOptions{Checks: []CheckName{CheckToken}, Concurrency: 3,
			OnEvent: func(ev Event) {
				if len(events) == 0 {
					<-release
				}
				events = append(events, ev)
			}})
	}()
	select {
	case <-allServed:
	case <-time.After(30 * time.Second): // a deadline for a hang, not a speed goal
		t.Fatalf("only %d of %d mailboxes were checked while OnEvent was blocked", served.Load(), n)
	}
	close(release)
	res := <-finished
	for i, r := range res {
		if !r.OK {
			t.Fatalf("mailbox %d: %+v", i, r.Finding)
		}
	}
	if len(events) != 3*n {
		t.Fatalf("%d events, want %d", len(events), 3*n)
	}
	last := 0
	state := map[string]EventKind{}
	for _, ev := range events {
		if ev.Done < last {
			t.Fatalf("Done went down from %d to %d", last, ev.Done)
		}
		last = ev.Done
		if prev, seen := state[ev.Mailbox]; (ev.Kind == EventStarted && seen) || (ev.Kind != EventStarted && (!seen || prev == EventFinished)) {
			t.Fatalf("%s: %s after %s", ev.Mailbox, ev.Kind, prev)
		}
		state[ev.Mailbox] = ev.Kind
	}
	if last != n {
		t.Fatalf("last event says %d done, want %d", last, n)
	}
}

// A run stopped mid-way (Ctrl-C) gives every mailbox that had not passed a
// "cancelled" finding, whatever its check failed with once the stop cut
// its connection (here imap_failed): a failure the stop caused is no
// result. Only finished mailboxes get EventFinished and count as Done.
func TestRunAllStoppedFailureIsCancelledNotAResult(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	check := func(ctx context.Context, mailbox string, _ []CheckName, _ func(CheckResult)) MailboxResult {
		r := MailboxResult{Mailbox: mailbox}
		if mailbox == "cut@example.test" {
			cancel() // the interrupt lands while this mailbox's IMAP login runs
			r.Checks = []CheckResult{{Name: CheckToken, OK: true}, {Name: CheckIMAP}}
			r.Finding = NewFinding(CodeIMAPFailed, "The IMAP connection was closed.", "Retry.")
			return r
		}
		r.OK, r.Checks = true, []CheckResult{{Name: CheckToken, OK: true}}
		return r
	}
	boxes := []string{"ok@example.test", "cut@example.test", "later@example.test"}
	var finished []string
	lastDone := 0
	res := runAll(ctx, check, boxes, RunOptions{Concurrency: 1, clock: newFakeRunClock().clock(),
		OnEvent: func(ev Event) {
			if ev.Kind == EventFinished {
				finished = append(finished, ev.Mailbox)
			}
			lastDone = ev.Done
		}})
	if !res[0].OK || res[0].Cancelled() {
		t.Fatalf("the mailbox done before the stop lost its result: %+v", res[0])
	}
	for _, r := range res[1:] {
		if !r.Cancelled() {
			t.Fatalf("%s: want cancelled after the stop, got ok=%v finding %+v", r.Mailbox, r.OK, r.Finding)
		}
	}
	if len(finished) != 1 || finished[0] != boxes[0] || lastDone != 1 {
		t.Fatalf("finished events %v (Done %d), want only %s", finished, lastDone, boxes[0])
	}
}
