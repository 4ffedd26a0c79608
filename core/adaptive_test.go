package core

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"
	"github.com/mailoauth/mailoauth/core/coretest"
	"golang.org/x/oauth2"
)

// fakeRunClock is the runner's clock on a coretest.Clock: it advances only
// when something sleeps on it (or the test advances it), and records the
// sleeps.
type fakeRunClock struct{ *coretest.Clock }

func newFakeRunClock() fakeRunClock { return fakeRunClock{coretest.NewClock(time.Unix(1e9, 0))} }

func (c fakeRunClock) clock() runClock {
	return runClock{now: c.Now, sleep: func(ctx context.Context, d time.Duration) error {
		c.Sleep(d)
		return ctx.Err()
	}}
}

// window is the current limit (whole mailboxes).
func (l *limiter) window() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.limit)
}

// round takes every slot the window offers, lets each take d, and releases
// them (throttled ones first, as many as given); it returns the window after.
func round(t *testing.T, l *limiter, fc fakeRunClock, d time.Duration, throttled int, th *throttle) int {
	t.Helper()
	n := l.window()
	slots := make([]slot, n)
	for i := range slots {
		s, err := l.acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		slots[i] = s
	}
	fc.Advance(d)
	for i, s := range slots {
		if i < throttled {
			l.release(s, th)
		} else {
			l.release(s, nil)
		}
	}
	return l.window()
}

func TestLimiterStartsPoliteAndGrowsToCeiling(t *testing.T) {
	fc := newFakeRunClock()
	l := newLimiter(40, fc.clock())
	if w := l.window(); w != StartConcurrency {
		t.Fatalf("starts at %d, want %d", w, StartConcurrency)
	}
	var got []int
	for i := 0; i < 4; i++ {
		got = append(got, round(t, l, fc, 100*time.Millisecond, 0, nil))
	}
	// Slow start doubles per clean window, then the ceiling holds.
	if fmt.Sprint(got) != "[16 32 40 40]" {
		t.Fatalf("windows after clean rounds %v, want [16 32 40 40]", got)
	}
	if small := newLimiter(3, fc.clock()); small.window() != 3 {
		t.Fatalf("a ceiling below the start is the start: %d", small.window())
	}
}

func TestLimiterHalvesOncePerWindowOnGlobalThrottle(t *testing.T) {
	fc := newFakeRunClock()
	l := newLimiter(64, fc.clock())
	round(t, l, fc, 100*time.Millisecond, 0, nil) // 16
	round(t, l, fc, 100*time.Millisecond, 0, nil) // 32
	global := &throttle{server: "oauth2.googleapis.com", global: true}
	// A whole window of token-endpoint 429s halves it once.
	if w := round(t, l, fc, 100*time.Millisecond, 32, global); w != 16 {
		t.Fatalf("after a throttled window: %d, want 16", w)
	}
	// Then an eighth per clean window: back to 32 within 6 windows, not 16.
	var got []int
	for i := 0; i < 6; i++ {
		got = append(got, round(t, l, fc, 100*time.Millisecond, 0, nil))
	}
	if got[0] != 18 || got[5] < 32 {
		t.Fatalf("windows after a halving %v, want 18 first and back to 32 by the sixth", got)
	}
	// Never below the floor.
	for i := 0; i < 10; i++ {
		round(t, l, fc, 100*time.Millisecond, 64, global)
	}
	if w := l.window(); w != minConcurrency {
		t.Fatalf("window after many throttled rounds: %d, want %d", w, minConcurrency)
	}
}

func TestLimiterHalvesOnlyOnGlobalSignals(t *testing.T) {
	fc := newFakeRunClock()
	l := newLimiter(64, fc.clock())
	round(t, l, fc, 100*time.Millisecond, 0, nil) // 16
	round(t, l, fc, 100*time.Millisecond, 0, nil) // 32
	// Per-account throttles, a whole window of them: the window stays.
	for _, th := range []*throttle{
		{server: "imap.gmail.com:993", reply: "NO [THROTTLED]"},
		{server: "imap.gmail.com:993", connCap: true},
		{server: "smtp.gmail.com:465", reply: "454 4.7.0 " + SMTPTooManyLogins},
	} {
		if w := round(t, l, fc, 100*time.Millisecond, 32, th); w != 32 {
			t.Fatalf("a window of %+v: %d, want 32 (per-account, not the run's rate)", th, w)
		}
	}
	// Sporadic global ones, a quarter of a window or less: retried, the
	// window keeps growing.
	if w := round(t, l, fc, 100*time.Millisecond, 8, &throttle{global: true}); w <= 32 || l.halvings != 0 {
		t.Fatalf("8 of 32 global throttles: window %d, %d halvings; want it to grow", w, l.halvings)
	}
	// More than a quarter: halved.
	w := l.window()
	if got := round(t, l, fc, 100*time.Millisecond, w/4+1, &throttle{global: true}); got != w/2 {
		t.Fatalf("%d of %d global throttles: window %d, want %d", w/4+1, w, got, w/2)
	}
}

func TestLimiterHoldsWhenLatencyGrows(t *testing.T) {
	fc := newFakeRunClock()
	l := newLimiter(64, fc.clock())
	round(t, l, fc, 100*time.Millisecond, 0, nil) // best 100 ms, window 16
	w := l.window()
	for i := 0; i < 5; i++ {
		round(t, l, fc, time.Second, 0, nil) // the machine or the link is full
	}
	if got := l.window(); got > w+2 {
		t.Fatalf("window grew from %d to %d while latency went from 100 ms to 1 s", w, got)
	}
}

func TestBackoffJitteredAndAtLeastRetryAfter(t *testing.T) {
	seen := map[time.Duration]bool{}
	for i := 0; i < 50; i++ {
		d := backoff(3, 0) // 2 s nominal
		if d < time.Second || d > 2*time.Second {
			t.Fatalf("backoff(3) = %s, want 1s..2s", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Fatalf("backoff is not jittered: %d distinct values of 50", len(seen))
	}
	if d := backoff(1, 9*time.Second); d < 9*time.Second {
		t.Fatalf("backoff %s is shorter than Retry-After 9s", d)
	}
	if d := backoff(40, 0); d > retryMax {
		t.Fatalf("backoff(40) = %s over the cap %s", d, retryMax)
	}
}

// fakeThrottledCheck throttles each mailbox's first `times` attempts (with
// SMTP 421, a global-rate signal, if global; else 454); the first throttle
// of user0 asks for Retry-After 5s.
func fakeThrottledCheck(times int, global bool) (checkFunc, func(string) int) {
	var mu sync.Mutex
	tries := map[string]int{}
	check := func(ctx context.Context, mailbox string, checks []CheckName, onCheck func(CheckResult)) MailboxResult {
		mu.Lock()
		tries[mailbox]++
		n := tries[mailbox]
		mu.Unlock()
		r := MailboxResult{Mailbox: mailbox}
		if n <= times {
			th := &throttle{server: "smtp.gmail.com:465", reply: "454 4.7.0 " + SMTPTooManyLogins, d: DiagContext{Mailbox: mailbox}}
			if global {
				th.reply, th.global = "421 4.7.0 "+SMTPTryAgainLater, true
			}
			if mailbox == "user0@example.test" && n == 1 {
				th.retryAfter = 5 * time.Second
			}
			r.throttle = th
			r.Finding = throttledFinding(th.d, th, 0)
			return r
		}
		r.OK = true
		r.Checks = []CheckResult{{Name: CheckToken, OK: true}}
		return r
	}
	return check, func(m string) int { mu.Lock(); defer mu.Unlock(); return tries[m] }
}

func TestRunAllRetriesThrottledAndNeverFalseFails(t *testing.T) {
	for _, global := range []bool{false, true} {
		t.Run(fmt.Sprintf("global=%v", global), func(t *testing.T) {
			fc := newFakeRunClock()
			check, tries := fakeThrottledCheck(2, global)
			var boxes []string
			for i := 0; i < 30; i++ {
				boxes = append(boxes, fmt.Sprintf("user%d@example.test", i))
			}
			var stats RunStats
			res := runAll(context.Background(), check, boxes, RunOptions{Concurrency: 16, Stats: &stats, clock: fc.clock()})
			for _, r := range res {
				if !r.OK || r.Finding != nil {
					t.Fatalf("%s reported failed for throttling alone: %+v", r.Mailbox, r.Finding)
				}
				if len(r.Notes) != 1 || r.Notes[0] != "throttled, retried 2 times" {
					t.Fatalf("%s notes %q, want the retries noted", r.Mailbox, r.Notes)
				}
				if n := tries(r.Mailbox); n != 3 {
					t.Fatalf("%s tried %d times, want 3", r.Mailbox, n)
				}
			}
			// Only the global-rate signal (421) slows the whole run.
			if stats.Retries != 60 || stats.retried != 30 || (stats.halvings > 0) != global {
				t.Fatalf("stats %+v, want halvings only for a global signal", stats)
			}
			slept := fc.Slept()
			longest := time.Duration(0)
			for _, d := range slept {
				longest = max(longest, d)
			}
			if longest < 5*time.Second {
				t.Fatalf("no wait honoured the Retry-After of 5s: sleeps %v", slept)
			}
		})
	}
}

func TestRunAllThrottledWhenRetriesRunOut(t *testing.T) {
	fc := newFakeRunClock()
	check, tries := fakeThrottledCheck(1000, true)
	var stats RunStats
	res := runAll(context.Background(), check, []string{"user1@example.test"}, RunOptions{clock: fc.clock(), Stats: &stats})
	r := res[0]
	if r.OK || r.Finding == nil || r.Finding.Code != CodeThrottled {
		t.Fatalf("want finding throttled, got %+v", r.Finding)
	}
	if !strings.Contains(r.Finding.Summary, fmt.Sprintf("after %d retries", DefaultRetries)) || r.Finding.Fix == "" {
		t.Fatalf("finding %+v", r.Finding)
	}
	if n := tries("user1@example.test"); n != DefaultRetries+1 {
		t.Fatalf("tried %d times, want %d", n, DefaultRetries+1)
	}
	if len(r.Notes) != 1 || r.Notes[0] != fmt.Sprintf("throttled, retried %d times", DefaultRetries) {
		t.Fatalf("notes %q", r.Notes)
	}
	// the summary counts the retries the note says, not the replies met
	if stats.Retries != DefaultRetries || stats.retried != 1 {
		t.Fatalf("stats %+v, want %d retries of 1 mailbox as noted", stats, DefaultRetries)
	}
}

func TestDiagnoseThrottlingReplies(t *testing.T) {
	d := DiagContext{Mailbox: "user1@example.test", Endpoints: GmailEndpoints(), clock: func() time.Time { return time.Unix(1e9, 0) }}
	h := http.Header{}
	h.Set("Retry-After", "3")
	tokenErr := &oauth2.RetrieveError{Response: &http.Response{StatusCode: 429, Header: h},
		Body: []byte(`{"error":"rate_limit_exceeded","error_description":"Rate Limit Exceeded"}`)}
	imapServer := &ServerError{Server: gmailIMAP, Err: &imap.Error{Type: imap.StatusResponseTypeNo, Code: IMAPThrottledCode, Text: IMAPThrottled}}
	for _, c := range []struct {
		name   string
		err    error
		code   Code
		after  time.Duration
		want   string
		global bool // a signal about the run's rate, not one account
	}{
		{"token 429", tokenErr, CodeThrottled, 3 * time.Second, "HTTP 429 rate_limit_exceeded", true},
		{"imap THROTTLED", imapServer, CodeThrottled, 0, "NO [THROTTLED]", false},
		{"imap connection cap", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlert, Text: IMAPTooManyConnections}, CodeTooManyConnections, 0, "", false},
		{"smtp 421", &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: SMTPTryAgainLater}, CodeThrottled, 0, "421 4.7.0", true},
		{"smtp 454", &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: SMTPTooManyLogins}, CodeThrottled, 0, "454 4.7.0", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			th := throttleOf(c.err, d)
			if th == nil || th.retryAfter != c.after || th.global != c.global {
				t.Fatalf("throttleOf = %+v, want Retry-After %s, global %v", th, c.after, c.global)
			}
			f := diagnoseCheck(&FindingError{Finding: diagnoseCheck(c.err, d), Err: c.err}, d)
			if f.Code != c.code || !strings.Contains(f.Summary, c.want) || f.Fix == "" {
				t.Fatalf("finding %+v, want %s naming %q", f, c.code, c.want)
			}
		})
	}
	// Postfix's 454 4.7.0 Temporary authentication failure is not throttling.
	postfix := &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Temporary authentication failure"}
	if throttleOf(postfix, d) != nil || diagnoseCheck(postfix, d).Code == CodeThrottled {
		t.Fatal("Postfix's 454 4.7.0 Temporary authentication failure taken for throttling")
	}
	if throttleOf(errors.New("connection reset"), d) != nil {
		t.Fatal("a reset taken for throttling")
	}
}

// A server that asks to wait longer than MaxRetryAfter is not waited out
// (the run would look hung for as long): the mailbox gets its throttled
// finding at once, naming the wait and when to run again. A Retry-After of
// MaxRetryAfter itself is still waited out and retried.
func TestRunAllLongRetryAfterIsThrottledAtOnce(t *testing.T) {
	at := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	longCheck := func(asked time.Duration, tries *int) checkFunc {
		return func(ctx context.Context, mailbox string, _ []CheckName, _ func(CheckResult)) MailboxResult {
			*tries++
			if *tries > 1 {
				return MailboxResult{Mailbox: mailbox, OK: true, Checks: []CheckResult{{Name: CheckToken, OK: true}}}
			}
			th := &throttle{server: "oauth2.googleapis.com", reply: "HTTP 429 rate_limit_exceeded", retryAfter: asked, global: true,
				d: DiagContext{Mailbox: mailbox, clock: func() time.Time { return at }}}
			return MailboxResult{Mailbox: mailbox, throttle: th, Finding: throttledFinding(th.d, th, 0)}
		}
	}
	fc := newFakeRunClock()
	tries := 0
	r := runAll(context.Background(), longCheck(time.Hour, &tries), []string{"user1@example.test"}, RunOptions{clock: fc.clock()})[0]
	if tries != 1 || len(fc.Slept()) != 0 {
		t.Fatalf("Retry-After 1h: tried %d times after sleeping %v; want one try and no wait", tries, fc.Slept())
	}
	if r.OK || r.Finding == nil || r.Finding.Code != CodeThrottled ||
		!strings.Contains(r.Finding.Summary, "asked to wait 60 minutes (Retry-After), longer than a run waits (2 minutes)") ||
		!strings.Contains(r.Finding.Fix, "Run the test again after 2026-12-02 19:00 UTC") {
		t.Fatalf("Retry-After 1h: finding %+v", r.Finding)
	}
	fc, tries = newFakeRunClock(), 0
	r = runAll(context.Background(), longCheck(MaxRetryAfter, &tries), []string{"user1@example.test"}, RunOptions{clock: fc.clock()})[0]
	if !r.OK || tries != 2 || len(fc.Slept()) == 0 || fc.Slept()[0] < MaxRetryAfter {
		t.Fatalf("Retry-After of %s: ok=%v after %d tries, sleeps %v; want it waited out and retried", MaxRetryAfter, r.OK, tries, fc.Slept())
	}
}

// globalThrottleCheck answers the first try of each mailbox in throttled
// with the token endpoint's 429 asking Retry-After after, and records the
// (fake) time each check started.
func globalThrottleCheck(fc fakeRunClock, throttled map[string]bool, after time.Duration) (checkFunc, func() map[string]time.Time) {
	var mu sync.Mutex
	started := map[string]time.Time{}
	return func(ctx context.Context, mailbox string, _ []CheckName, _ func(CheckResult)) MailboxResult {
			mu.Lock()
			_, again := started[mailbox]
			if !again {
				started[mailbox] = fc.Now()
			}
			mu.Unlock()
			if throttled[mailbox] && !again {
				th := &throttle{server: "oauth2.googleapis.com", reply: "HTTP 429 rate_limit_exceeded", retryAfter: after, global: true, d: DiagContext{Mailbox: mailbox}}
				return MailboxResult{Mailbox: mailbox, throttle: th, Finding: throttledFinding(th.d, th, 0)}
			}
			return MailboxResult{Mailbox: mailbox, OK: true, Checks: []CheckResult{{Name: CheckToken, OK: true}}}
		}, func() map[string]time.Time {
			mu.Lock()
			defer mu.Unlock()
			return maps.Clone(started)
		}
}

// When the run's global-rate replies halve the window, the Retry-After
// they asked for holds every start of the run, not only their mailbox's
// retry: with one mailbox at a time and no retries, the mailbox after a
// 429 asking 10 s starts 10 s later (the only wait on the clock).
func TestRunAllGlobalRetryAfterHoldsNewStarts(t *testing.T) {
	fc := newFakeRunClock()
	t0 := fc.Now()
	check, started := globalThrottleCheck(fc, map[string]bool{"user0@example.test": true}, 10*time.Second)
	res := runAll(context.Background(), check, []string{"user0@example.test", "user1@example.test"},
		RunOptions{Concurrency: 1, Retries: -1, clock: fc.clock()})
	if res[0].Finding == nil || res[0].Finding.Code != CodeThrottled || !res[1].OK {
		t.Fatalf("results %+v / %+v", res[0].Finding, res[1])
	}
	if at := started()["user1@example.test"]; at.Sub(t0) < 10*time.Second {
		t.Fatalf("user1 started %s after the 429 that asked for 10 s (sleeps %v); want it held until then", at.Sub(t0), fc.Slept())
	}
}

// A sporadic 429 (one of a window of 8 attempts, under the quarter that
// halves it) holds up only its own mailbox's retry: nothing else waits.
func TestRunAllSporadicRetryAfterHoldsOnlyItsMailbox(t *testing.T) {
	fc := newFakeRunClock()
	var boxes []string
	for i := range 8 {
		boxes = append(boxes, fmt.Sprintf("user%d@example.test", i))
	}
	check, _ := globalThrottleCheck(fc, map[string]bool{"user3@example.test": true}, 10*time.Second)
	var stats RunStats
	for _, r := range runAll(context.Background(), check, boxes, RunOptions{Concurrency: 8, Retries: -1, Stats: &stats, clock: fc.clock()}) {
		if r.Mailbox != "user3@example.test" && !r.OK {
			t.Fatalf("%s: %+v", r.Mailbox, r.Finding)
		}
	}
	if slept := fc.Slept(); len(slept) != 0 || stats.halvings != 0 {
		t.Fatalf("one 429 in a window of 8 made the run wait %v (halvings %d); want no wait", slept, stats.halvings)
	}
}

// The throttled finding counts its retries in words that agree: "after 1
// retry", "after 2 retries".
func TestThrottledFindingCountsRetries(t *testing.T) {
	th := &throttle{server: "smtp.gmail.com:465", reply: "421 4.7.0 " + SMTPTryAgainLater, global: true}
	for retries, want := range map[int]string{1: "still after 1 retry:", 2: "still after 2 retries:"} {
		if f := throttledFinding(DiagContext{Mailbox: "user1@example.test"}, th, retries); !strings.Contains(f.Summary, want) {
			t.Errorf("%d retries: %q, want %q", retries, f.Summary, want)
		}
	}
	if f := throttledFinding(DiagContext{Mailbox: "user1@example.test"}, th, 0); strings.Contains(f.Summary, "after") {
		t.Errorf("no retries: %q", f.Summary)
	}
}

// Retry-After is seconds or an HTTP date (RFC 9110 10.2.3); a date is a
// wait from the reply's time, a past one or anything else none. The token
// endpoint's 429 carries it into the throttle either way.
func TestRetryAfterSecondsOrHTTPDate(t *testing.T) {
	now := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"120":                               2 * time.Minute,
		"Wed, 02 Dec 2026 18:00:30 GMT":     30 * time.Second,
		"Wednesday, 02-Dec-26 18:01:00 GMT": time.Minute, // RFC 850, obsolete but allowed
		"Wed Dec  2 19:00:00 2026":          time.Hour,   // asctime
		"Wed, 02 Dec 2026 17:59:00 GMT":     0,           // already past
		"soon":                              0,
		"-5":                                0,
		"":                                  0,
	} {
		h := http.Header{}
		h.Set("Retry-After", v)
		if got := retryAfter(h, now); got != want {
			t.Errorf("Retry-After %q: %s, want %s", v, got, want)
		}
	}
	h := http.Header{}
	h.Set("Retry-After", "Wed, 02 Dec 2026 18:00:30 GMT")
	err := &oauth2.RetrieveError{Response: &http.Response{StatusCode: 429, Header: h},
		Body: []byte(`{"error":"rate_limit_exceeded","error_description":"Rate Limit Exceeded"}`)}
	d := DiagContext{Mailbox: "user1@example.test", Endpoints: GmailEndpoints(), clock: func() time.Time { return now }}
	if th := throttleOf(err, d); th == nil || th.retryAfter != 30*time.Second || !th.global {
		t.Fatalf("429 with an HTTP-date Retry-After: %+v, want a global throttle asking 30s", th)
	}
}
