package sandbox

import (
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/emersion/go-imap/v2"

	"github.com/mailoauth/mailoauth/core"
)

// Throttle makes a share of the requests of each service fail with Google's
// own throttling reply. The choice is deterministic: with rate r, request n
// (counting from 1 since the faults were set) is throttled when floor(n*r)
// grows, so 0.1 throttles every 10th request exactly.
type Throttle struct {
	// Token: the token endpoint answers HTTP 429 rate_limit_exceeded with
	// Retry-After.
	Token float64 `json:"token,omitempty"`
	// IMAP: AUTHENTICATE is answered NO [ALERT] Too many simultaneous
	// connections. (Failure) and NO [THROTTLED] in turn.
	IMAP float64 `json:"imap,omitempty"`
	// SMTP: AUTH is answered 454 4.7.0 Too many login attempts, and
	// 421 4.7.0 Try again later, closing connection. in turn.
	SMTP float64 `json:"smtp,omitempty"`
	// RetryAfterS is the token endpoint's Retry-After in seconds; default 1.
	RetryAfterS int `json:"retry_after_s,omitempty"`
}

func (t Throttle) valid() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"token", t.Token}, {"imap", t.IMAP}, {"smtp", t.SMTP}} {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			return fmt.Errorf("throttle.%s is %v; use a rate from 0 to 1 (0.1 throttles every 10th request)", r.name, r.v)
		}
	}
	if t.RetryAfterS < 0 {
		return fmt.Errorf("throttle.retry_after_s must not be negative")
	}
	return nil
}

// ThrottleCounts is how many requests each service has throttled.
type ThrottleCounts struct {
	Token int `json:"token"`
	IMAP  int `json:"imap"`
	SMTP  int `json:"smtp"`
}

// throttleState counts requests and throttled ones; guarded by Sandbox.mu
// and reset by SetFaults.
type throttleState struct {
	seen ThrottleCounts
	hit  ThrottleCounts
}

// throttleLocked counts one request of a service and reports whether it is
// throttled, and the how-manyth throttled one it is (from 1).
func throttleLocked(rate float64, seen, hit *int) (bool, int) {
	*seen++
	if rate <= 0 || math.Floor(float64(*seen)*rate) == math.Floor(float64(*seen-1)*rate) {
		return false, 0
	}
	*hit++
	return true, *hit
}

// Throttled is how many requests each service has throttled since the
// faults were last set.
func (s *Sandbox) Throttled() ThrottleCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttle.hit
}

// throttleToken answers a throttled token request; it reports whether it did.
func (s *Sandbox) throttleToken(w http.ResponseWriter) bool {
	s.mu.Lock()
	f := s.faults.Throttle
	hit, _ := throttleLocked(f.Token, &s.throttle.seen.Token, &s.throttle.hit.Token)
	s.mu.Unlock()
	if !hit {
		return false
	}
	after := f.RetryAfterS
	if after == 0 {
		after = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(after))
	writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": core.OAuthRateLimitExceeded, "error_description": core.DescRateLimitExceeded})
	return true
}

// throttleIMAPLocked is the refusal of a throttled AUTHENTICATE, or nil.
func (s *Sandbox) throttleIMAPLocked() error {
	hit, n := throttleLocked(s.faults.Throttle.IMAP, &s.throttle.seen.IMAP, &s.throttle.hit.IMAP)
	switch {
	case !hit:
		return nil
	case n%2 == 1:
		return imapAlert(core.IMAPTooManyConnections)
	}
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: core.IMAPThrottledCode, Text: core.IMAPThrottled}
}

// throttleSMTP answers a throttled AUTH; it reports whether it did and
// whether the connection must be closed.
func (c *smtpConn) throttleSMTP() (throttled, hangUp bool, err error) {
	s := c.sb
	s.mu.Lock()
	hit, n := throttleLocked(s.faults.Throttle.SMTP, &s.throttle.seen.SMTP, &s.throttle.hit.SMTP)
	s.mu.Unlock()
	switch {
	case !hit:
		return false, false, nil
	case n%2 == 1:
		return true, false, c.reply(454, "4.7.0", c.gsmtp(core.SMTPTooManyLogins))
	}
	return true, true, c.reply(421, "4.7.0", c.gsmtp(core.SMTPTryAgainLater))
}
