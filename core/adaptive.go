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
// across accounts; it answers a client that goes too fast with throttling
// replies and documents one remedy, retrying the request after an
// exponential backoff. So every throttled mailbox is tried again after a
// jittered backoff of at least the server's Retry-After, and the window of
// mailboxes at once (never above RunOptions.Concurrency) works like TCP's:
//
//   - it starts polite and doubles per clean window (slow start) until the
//     first halving, then grows by an eighth per clean window, so it is
//     back where it was a few windows after a halving;
//   - it stops growing while latency rises well above the best seen;
//   - a per-account throttle (IMAP [THROTTLED], the connection cap, SMTP
//     454 Too many login attempts) says nothing about the run's rate: the
//     mailbox backs off, the window stays;
//   - a global-rate signal (the token endpoint's 429 rate_limit_exceeded,
//     SMTP 421 Try again later) halves the window when such replies are
//     more than a quarter of a window's attempts, at most once per window
//     (attempts started before a halving do not count toward the next).
//     A quota answers the requests above it, so the share of replies says
//     how far above it the run is (a quarter: a third too fast); sporadic
//     429s, which Google sends whatever the rate, are retried, not obeyed
//     by the whole run (halving at each would keep the window at its floor
//     and a 10,000-mailbox run over an hour);
//   - when the window halves on such replies, no attempt of the run (new
//     mailbox or retry) starts before the latest Retry-After they asked
//     for: the server said when it takes requests again, and the rest of
//     the run would only meet more 429s until then. A sporadic 429 holds
//     up only its own mailbox, for the reason above: holding the whole
//     run at each made a run with 10% of its token requests throttled
//     (Retry-After: 1) 50% slower (400 mailboxes across 50 ms: 11.2 s
//     instead of 7.4 s).

// ConcurrencyRule is the rule above in one phrase, as `test --help` and
// the README's Commands section give it.
const ConcurrencyRule = "grows while mailboxes pass unthrottled and latency allows, and halves (at most once a window) when over a quarter of a window's attempts meet a global rate limit (token 429, SMTP 421); a per-account throttle (IMAP, SMTP 454) backs off only its mailbox"

// Adaptive-concurrency defaults.
const (
	// StartConcurrency is where a bulk run starts (or the ceiling, if lower).
	StartConcurrency = 8
	// DefaultRetries is how many times a throttled mailbox is tried again.
	DefaultRetries = 6
	// MaxRetries is the most retries `test --retries` accepts (at the
	// backoff's cap of 30 s, 20 retries wait about 8 minutes).
	MaxRetries = 20
	// retryBase and retryMax bound the jittered backoff of a throttled mailbox.
	retryBase = 500 * time.Millisecond
	retryMax  = 30 * time.Second
	// MaxRetryAfter is the longest Retry-After a run waits out: a server
	// that asks for more gets the mailbox's throttled finding at once,
	// naming the wait, instead of a run that looks hung. Google's
	// documented backoff for its APIs tops out at 32 to 64 s, and a burst
	// limit clears within that; a wait of minutes is a quota's window,
	// which no retry in this run can beat. Two minutes is twice Google's
	// longest backoff and four times this runner's own (retryMax).
	MaxRetryAfter = 2 * time.Minute
	// latencySlack is how much a mailbox's latency may exceed twice the
	// best seen before growing stops (the machine or the link is full).
	latencySlack = 20 * time.Millisecond
	// minConcurrency is the window's floor.
	minConcurrency = 1
	// globalShare: a window halves when more than 1/globalShare of its
	// attempts met a global-rate throttling reply.
	globalShare = 4
	// avoidGrowth is the share of the window added per clean window after
	// the first halving (1/8: from half back to whole in 6 windows).
	avoidGrowth = 8
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
	slow     bool      // slow start: +1 per clean mailbox (doubles per round) until the first halving
	epoch    int       // bumped at each halving; a slot remembers the epoch it started in
	winDone  int       // attempts of this epoch ended in the current window
	winGlob  int       // of them, throttled by a global-rate signal
	winAfter time.Time // the latest end of a wait those replies asked for (Retry-After)
	// holdUntil: no attempt starts before it, the wait global-rate
	// replies asked for when the window halved on them.
	holdUntil time.Time
	best      time.Duration
	avg       time.Duration // moving average of clean mailboxes' latency
	peak      int
	halvings  int
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
		if wait := l.holdUntil.Sub(l.clock.now()); wait > 0 {
			l.mu.Unlock()
			err := l.clock.sleep(ctx, wait)
			l.mu.Lock()
			if err != nil {
				return slot{}, err
			}
			continue
		}
		if l.inflight < int(l.limit) {
			l.inflight++
			l.peak = max(l.peak, l.inflight)
			return slot{epoch: l.epoch, start: l.clock.now()}, nil
		}
		l.cond.Wait()
	}
}

// release ends an attempt: a clean one may grow the window, a global-rate
// throttle may halve it (see the rule above), a per-account one does
// neither.
func (l *limiter) release(s slot, th *throttle) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	defer l.cond.Broadcast()
	if s.epoch == l.epoch {
		l.winDone++
		if th != nil && th.global {
			l.winGlob++
			if th.retryAfter > 0 && th.retryAfter <= MaxRetryAfter {
				until := l.clock.now().Add(th.retryAfter)
				if until.After(l.winAfter) {
					l.winAfter = until
				}
			}
		}
		if l.winGlob*globalShare > int(l.limit) {
			if l.winAfter.After(l.holdUntil) {
				l.holdUntil = l.winAfter
			}
			l.halve()
			return
		}
		if l.winDone >= int(l.limit) {
			l.winDone, l.winGlob, l.winAfter = 0, 0, time.Time{}
		}
	}
	if th != nil || s.epoch != l.epoch {
		return // throttled, or started before the last halving: no growth
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
	} else {
		l.limit += 1.0 / avoidGrowth // an eighth of the window per clean window
	}
	l.limit = math.Min(l.limit, float64(l.ceiling))
}

// halve halves the window and starts a new one; l.mu is held.
func (l *limiter) halve() {
	l.slow = false
	l.epoch++
	l.halvings++
	l.winDone, l.winGlob, l.winAfter = 0, 0, time.Time{}
	l.limit = math.Max(minConcurrency, math.Floor(l.limit/2))
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
