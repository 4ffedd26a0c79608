package core

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"
	"golang.org/x/oauth2"
)

// Throttling: Google answers a client that goes too fast with a reply that
// says "later", not "wrong" (core/google.go has the texts). Such a reply is
// recognised here; the bulk runner slows down and tries the mailbox again,
// and only when it keeps coming is it the mailbox's finding, CodeThrottled.

// throttle is what a throttling reply said: where it came from, as the
// server sent it, and how long it asked to wait (0: not said).
type throttle struct {
	server     string
	reply      string
	retryAfter time.Duration
	// connCap: Gmail's per-account IMAP connection cap rather than a rate;
	// retried the same way, but diagnosed as CodeTooManyConnections.
	connCap bool
	// global: a signal about the whole run's rate (the token endpoint's
	// 429, SMTP 421) rather than about one account (IMAP [THROTTLED], the
	// connection cap, SMTP 454 Too many login attempts); only these may
	// shrink the run's window (adaptive.go).
	global bool
	d      DiagContext // for the finding once the retries are used up
}

// throttleOf recognises Google's throttling replies in err; nil if it is
// none of them.
func throttleOf(err error, d DiagContext) *throttle {
	if err == nil {
		return nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code, desc := oauthError(re)
		status := 0
		var h http.Header
		if re.Response != nil {
			status, h = re.Response.StatusCode, re.Response.Header
		}
		if status != http.StatusTooManyRequests && code != OAuthRateLimitExceeded {
			return nil
		}
		reply := strings.TrimSpace(fmt.Sprintf("HTTP %d %s %s", status, code, desc))
		return &throttle{server: HostOfURL(d.normalized().tokenURL), reply: redact(reply), retryAfter: retryAfter(h, d.now()), global: true, d: d}
	}
	server := d.server(err)
	var ie *imap.Error
	if errors.As(err, &ie) {
		lt := strings.ToLower(ie.Text)
		switch {
		case strings.Contains(lt, "too many simultaneous connections"):
			return &throttle{server: server, reply: imapReply(ie), connCap: true, d: d}
		case strings.EqualFold(string(ie.Code), IMAPThrottledCode) || strings.Contains(lt, "exceeded command or bandwidth limits"):
			return &throttle{server: server, reply: imapReply(ie), d: d}
		}
		return nil
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		lm := strings.ToLower(se.Message)
		if se.Code == 421 || (se.Code == 454 && (strings.Contains(lm, "too many login attempts") || strings.Contains(lm, "try again later"))) {
			return &throttle{server: server, reply: smtpReply(se), global: se.Code == 421, d: d}
		}
	}
	return nil
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// isThrottle reports whether err is a throttling reply (so the token it
// came with is not to blame).
func isThrottle(err error) bool { return throttleOf(err, DiagContext{}) != nil }

// diagnoseThrottle is the finding of a throttling reply, or nil. retries
// is how many times the mailbox was tried again before giving up.
func diagnoseThrottle(err error, d DiagContext, retries int) *Finding {
	th := throttleOf(err, d)
	if th == nil {
		return nil
	}
	d = d.normalized()
	if th.connCap {
		return tooManyConnectionsFinding(d, th.server)
	}
	return throttledFinding(d, th, retries)
}

// diagnoseCheck is Diagnose for a failed check: a throttling reply is
// CodeThrottled (or the connection cap), everything else Diagnose's.
func diagnoseCheck(err error, d DiagContext) *Finding {
	if FindingOf(err) == nil {
		if f := diagnoseThrottle(err, d, 0); f != nil {
			return f
		}
	}
	return Diagnose(err, d)
}
