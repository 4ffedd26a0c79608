package core

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Adaptive concurrency of the bulk runner: how many mailboxes are checked
// at once. Google publishes no rate for minting tokens and logging in
// across accounts, it answers too fast with throttling replies; so the
// runner starts polite, grows while mailboxes pass without throttling and
// their latency stays near the best seen, and halves at a throttling reply
// (AIMD, as TCP does with a congestion window), never above the ceiling
// (RunOptions.Concurrency). The throttled mailbox itself is tried again
// after a jittered backoff of at least the server's Retry-After; the
// halving is what slows the others (pausing every start for each
// Retry-After would stall a run under steady throttling).

// Adaptive-concurrency defaults.
const (
	// StartConcurrency is where a bulk run starts (or the ceiling, if lower).
	StartConcurrency = 8
	// DefaultRetries is how many times a throttled mailbox is tried again.
	DefaultRetries = 6
	// retryBase and retryMax bound the jittered backoff of a throttled mailbox.
	retryBase = 500 * time.Millisecond
	retryMax  = 30 * time.Second
	// latencySlack is how much a mailbox's latency may exceed twice the
	// best seen before growing stops (the machine or the link is full).
	latencySlack = 20 * time.Millisecond
)

// runClock is time for the runner: real, or a fake in tests.
type runClock struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

func realClock() runClock {
	return runClock{now: time.Now, sleep: func(ctx context.Context, d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
}

// limiter is the AIMD window of mailboxes in flight.
type limiter struct {
	clock   runClock
	ceiling int

	mu       sync.Mutex
	cond     *sync.Cond
	limit    float64 // the window; floor(limit) mailboxes may run at once
	inflight int
	clean    int  // clean mailboxes since the window last grew (after slow start)
	slow     bool // slow start: +1 per clean mailbox (doubles per round) until the first throttle
	epoch    int  // bumped at each halving; a slot remembers the epoch it started in
	best     time.Duration
	avg      time.Duration // moving average of clean mailboxes' latency
	peak     int
	halvings int
}

func newLimiter(ceiling int, clock runClock) *limiter {
	l := &limiter{clock: clock, ceiling: ceiling, limit: float64(min(StartConcurrency, ceiling)), slow: true}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// slot is one mailbox attempt in flight.
type slot struct {
	epoch int
	start time.Time
}

// acquire waits for room in the window.
func (l *limiter) acquire(ctx context.Context) (slot, error) {
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return slot{}, err
		}
		if l.inflight < int(l.limit) {
			l.inflight++
			l.peak = max(l.peak, l.inflight)
			return slot{epoch: l.epoch, start: l.clock.now()}, nil
		}
		l.cond.Wait()
	}
}

// release ends an attempt: a clean one may grow the window, a throttled
// one halves it (once per window: the other attempts that started before
// the halving and come back throttled too do not halve it again).
func (l *limiter) release(s slot, th *throttle) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	defer l.cond.Broadcast()
	if th != nil {
		l.slow = false
		if s.epoch == l.epoch {
			l.epoch++
			l.halvings++
			l.limit = math.Max(1, math.Floor(l.limit/2))
		}
		return
	}
	d := l.clock.now().Sub(s.start)
	if l.best == 0 || d < l.best {
		l.best = d
	}
	if l.avg == 0 {
		l.avg = d
	} else {
		l.avg += (d - l.avg) / 8
	}
	if l.avg > 2*l.best+latencySlack {
		return // latency does not allow more
	}
	if l.slow {
		l.limit++
	} else if l.clean++; l.clean >= int(l.limit) {
		l.limit++ // one more per window of clean mailboxes
		l.clean = 0
	}
	l.limit = math.Min(l.limit, float64(l.ceiling))
}

// backoff is the jittered wait before retry n (from 1) of a throttled
// mailbox, at least what the server asked for.
func backoff(n int, asked time.Duration) time.Duration {
	d := retryBase << min(n-1, 10)
	d = min(d, retryMax)
	d = d/2 + rand.N(d/2+1) // "equal jitter": between d/2 and d
	return max(d, asked)
}

// retryKey marks the context of a throttled mailbox's retry: with --fresh
// the token minted by its first try (in this run) is proof enough, so the
// retry does not invalidate it and mint yet another.
type retryKey struct{}

func retrying(ctx context.Context) bool { return ctx.Value(retryKey{}) != nil }
