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
	var inflight, peak atomic.Int32
	f.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		inflight.Add(-1)
		f.serve(w, r)
	})
	tester := &Tester{Tokens: &TokenProvider{Cred: testCred(f.URL)}}
	var boxes []string
	for i := 0; i < 12; i++ {
		boxes = append(boxes, fmt.Sprintf("u%d@example.test", i))
	}
	var mu sync.Mutex
	var kinds []EventKind
	res := RunAll(context.Background(), tester, boxes, RunOptions{Checks: []CheckName{CheckToken}, Concurrency: 3,
		OnEvent: func(ev Event) { mu.Lock(); kinds = append(kinds, ev.Kind); mu.Unlock() }})
	if p := peak.Load(); p > 3 || p < 2 {
		t.Fatalf("peak concurrency %d, want at most 3", p)
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
	// are cancelled, nothing hangs.
	tester = &Tester{Tokens: &TokenProvider{Cred: testCred(f.URL)}}
	ctx, cancel := context.WithCancel(context.Background())
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
	if ok < 2 || cancelled < 8 || ok+cancelled != 12 {
		t.Fatalf("ok %d cancelled %d", ok, cancelled)
	}
}
