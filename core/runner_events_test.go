package core

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

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
