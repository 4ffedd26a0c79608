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
