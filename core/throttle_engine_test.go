package core_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// TestEngineThrottledRunNeverFalseFails: with Google throttling a quarter of
// the token, IMAP and SMTP requests, every mailbox passes, and every
// throttling reply the sandbox sent is a retry noted on a result; with
// --fresh each mailbox's token is minted once, not again for each retry.
func TestEngineThrottledRunNeverFalseFails(t *testing.T) {
	e := newEnv(t, 12, true)
	e.sb.SetFaults(sandbox.Faults{Throttle: sandbox.Throttle{Token: 0.25, IMAP: 0.25, SMTP: 0.25, RetryAfterS: 1}})
	var boxes []string
	for i := 1; i <= 12; i++ {
		boxes = append(boxes, e.user(i))
	}
	// --fresh: a token minted for every mailbox, once; a retry uses it.
	e.tester.Fresh = true
	minted := e.sb.TokensMinted()
	var stats core.RunStats
	res := core.RunAll(context.Background(), e.tester, boxes, core.RunOptions{Checks: []core.CheckName{core.CheckToken, core.CheckIMAP, core.CheckSMTP}, Stats: &stats})
	noted := 0
	for _, r := range res {
		if !r.OK {
			t.Fatalf("%s failed under throttling: %+v", r.Mailbox, r.Finding)
		}
		for _, n := range r.Notes {
			var k int
			if _, err := fmt.Sscanf(strings.TrimSuffix(strings.TrimSuffix(n, "s"), " time"), "throttled, retried %d", &k); err == nil {
				noted += k
			}
		}
	}
	got := e.sb.Throttled()
	sent := got.Token + got.IMAP + got.SMTP
	if got.Token == 0 || got.IMAP == 0 || got.SMTP == 0 {
		t.Fatalf("the sandbox throttled %+v: every service must have been throttled for the test to mean anything", got)
	}
	if got := e.sb.TokensMinted() - minted; got != len(boxes) {
		t.Errorf("%d tokens minted for %d mailboxes: a retry minted again", got, len(boxes))
	}
	if noted != sent || stats.Retries != sent {
		t.Fatalf("the sandbox sent %d throttling replies (%+v); the results note %d retries, the run counted %d", sent, got, noted, stats.Retries)
	}
}

// TestEngineLongRetryAfterStopsRetrying: the token endpoint answers 429
// with Retry-After: 3600; no mailbox waits an hour (or retries): each gets
// the throttled finding naming the wait at once.
func TestEngineLongRetryAfterStopsRetrying(t *testing.T) {
	e := newEnv(t, 3, true)
	e.sb.SetFaults(sandbox.Faults{Throttle: sandbox.Throttle{Token: 1, RetryAfterS: 3600}})
	boxes := []string{e.user(1), e.user(2), e.user(3)}
	// A guard against waiting the hour out, not a speed goal: a run that
	// waits is cancelled, and its results are not the finding.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, r := range core.RunAll(ctx, e.tester, boxes, core.RunOptions{Checks: []core.CheckName{core.CheckToken}}) {
		if r.OK || r.Finding == nil || r.Finding.Code != core.CodeThrottled || !strings.Contains(r.Finding.Summary, "asked to wait 60 minutes") {
			t.Fatalf("%s: want throttled naming the hour asked for, got ok=%v %+v", r.Mailbox, r.OK, r.Finding)
		}
	}
	if got := e.sb.Throttled().Token; got != len(boxes) {
		t.Fatalf("the token endpoint throttled %d requests for %d mailboxes: a mailbox retried", got, len(boxes))
	}
}
