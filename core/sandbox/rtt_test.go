package sandbox

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/coretest"
)

// rttClockOf is the delayed writer's clock on fc: it advances only when
// the writer sleeps.
func rttClockOf(fc *coretest.Clock) rttClock {
	return rttClock{now: fc.Now, sleep: func(d time.Duration) bool {
		fc.Sleep(d)
		return true
	}}
}

// TestRTTConnOneRoundTripPerFlight: a server that answers each of N
// requests with a reply written in several Write calls costs the client N
// round trips on the clock, not one per Write, plus one for the connect
// (the first reply comes 2 RTT after the connection is accepted).
func TestRTTConnOneRoundTripPerFlight(t *testing.T) {
	const rtt = 50 * time.Millisecond
	const n = 7
	fc := coretest.NewClock(time.Unix(1e9, 0))
	start := fc.Now()
	client, server := net.Pipe()
	var flights atomic.Int64
	sc := newRTTConn(server, func() time.Duration { return rtt }, rttClockOf(fc), &flights)
	go func() {
		defer sc.Close()
		br := bufio.NewReader(sc)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			// One reply in three writes, as a server that writes a
			// multi-line reply line by line does.
			for _, part := range []string{"250-", strings.TrimSpace(line), "\r\n"} {
				if _, err := io.WriteString(sc, part); err != nil {
					return
				}
			}
		}
	}()
	_ = client.SetDeadline(time.Now().Add(30 * time.Second)) // hang guard
	cr := bufio.NewReader(client)
	for i := 0; i < n; i++ {
		if _, err := io.WriteString(client, "NOOP\r\n"); err != nil {
			t.Fatal(err)
		}
		if line, err := cr.ReadString('\n'); err != nil || line != "250-NOOP\r\n" {
			t.Fatalf("reply %d: %q, %v", i, line, err)
		}
	}
	client.Close()
	if got := flights.Load(); got != n+1 {
		t.Errorf("a connect and %d round trips were counted as %d round trips", n, got)
	}
	if got := fc.Now().Sub(start); got != (n+1)*rtt {
		t.Errorf("a connect and %d round trips cost %s on the clock, want %s (sleeps %v)", n, got, (n+1)*rtt, fc.Slept())
	}
	if s := fc.Slept(); len(s) == 0 || s[0] != 2*rtt {
		t.Errorf("the first reply waited %v, want %s (the connect and the reply)", s, 2*rtt)
	}
}

// TestRTTConnNoDelay: without an RTT nothing is queued or counted.
func TestRTTConnNoDelay(t *testing.T) {
	fc := coretest.NewClock(time.Unix(1e9, 0))
	client, server := net.Pipe()
	var flights atomic.Int64
	sc := newRTTConn(server, func() time.Duration { return 0 }, rttClockOf(fc), &flights)
	go func() { _, _ = io.WriteString(sc, "hello\r\n"); sc.Close() }()
	b, err := io.ReadAll(client)
	if err != nil || string(b) != "hello\r\n" || flights.Load() != 0 || len(fc.Slept()) != 0 {
		t.Fatalf("got %q, %v; flights %d, sleeps %v", b, err, flights.Load(), fc.Slept())
	}
}

// TestSandboxRTTFlights: with the RTT fault, each IMAP command, each SMTP
// command and each token request costs exactly one delayed flight.
func TestSandboxRTTFlights(t *testing.T) {
	sb := start(t, Options{Delegate: true, RTT: time.Millisecond})
	before := sb.Flights()
	tok := mustMint(t, sb, "user1@example.test", core.ScopeMail)
	if got := sb.Flights() - before; got != 2 {
		t.Errorf("a token request on a new connection cost %d round trips, want 2 (the connect and the reply)", got)
	}
	ic := dialIMAP(t, sb, nil)
	if err := ic.Authenticate(&xoauth2{user: "user1@example.test", token: tok}); err != nil {
		t.Fatal(err)
	}
	before = sb.Flights()
	const n = 5
	for i := 0; i < n; i++ {
		if err := ic.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if got := sb.Flights() - before; got != n {
		t.Errorf("%d IMAP NOOPs cost %d flights", n, got)
	}
	sc := dialSMTP(t, sb)
	if err := sc.Hello("test"); err != nil {
		t.Fatal(err)
	}
	before = sb.Flights()
	for i := 0; i < n; i++ {
		if err := sc.Noop(); err != nil {
			t.Fatal(err)
		}
	}
	if got := sb.Flights() - before; got != n {
		t.Errorf("%d SMTP NOOPs cost %d flights", n, got)
	}
	// The fault goes off as it came.
	sb.SetFaults(Faults{})
	before = sb.Flights()
	if err := ic.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if got := sb.Flights() - before; got != 0 {
		t.Errorf("without rtt_ms a NOOP cost %d delayed flights", got)
	}
}

// TestThrottleReplies: each service throttles with Google's own replies,
// exactly every 1/rate-th request, and counts them.
func TestThrottleReplies(t *testing.T) {
	u := "user1@example.test"
	sb, tok := mailSandbox(t, u)
	adminPost(t, sb, "/faults", `{"throttle":{"token":0.5,"imap":1,"smtp":1,"retry_after_s":7}}`)

	// Token: every second request is 429 rate_limit_exceeded with Retry-After.
	if _, err := mint(sb, u, core.ScopeMail); err != nil {
		t.Fatalf("first token request after the fault: %v", err)
	}
	resp, err := http.PostForm(sb.Endpoints().TokenURL, map[string][]string{"grant_type": {jwtBearerGrant}, "assertion": {"x.y.z"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "7" || !strings.Contains(string(b), `"error": "rate_limit_exceeded"`) {
		t.Fatalf("throttled token request: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}

	// IMAP: the connection cap's ALERT, then [THROTTLED], in turn.
	wantIMAPError(t, dialIMAP(t, sb, nil).Authenticate(&xoauth2{user: u, token: tok}), imap.ResponseCodeAlert, core.IMAPTooManyConnections)
	wantIMAPError(t, dialIMAP(t, sb, nil).Authenticate(&xoauth2{user: u, token: tok}), core.IMAPThrottledCode, core.IMAPThrottled)

	// SMTP: 454 4.7.0 for the login, then 421 4.7.0 and the connection closes.
	var se *smtp.SMTPError
	err = dialSMTP(t, sb).Auth(&xoauth2{user: u, token: tok, twoStep: true})
	if !errors.As(err, &se) || se.Code != 454 || se.EnhancedCode != (smtp.EnhancedCode{4, 7, 0}) || !strings.Contains(se.Message, core.SMTPTooManyLogins) {
		t.Fatalf("want 454 4.7.0, got %#v", err)
	}
	c := dialSMTP(t, sb)
	err = c.Auth(&xoauth2{user: u, token: tok, twoStep: true})
	if !errors.As(err, &se) || se.Code != 421 || se.EnhancedCode != (smtp.EnhancedCode{4, 7, 0}) || !strings.Contains(se.Message, core.SMTPTryAgainLater) {
		t.Fatalf("want 421 4.7.0, got %#v", err)
	}
	if err := c.Noop(); err == nil {
		t.Fatal("the connection stayed open after 421")
	}
	if got := sb.Throttled(); got != (ThrottleCounts{Token: 1, IMAP: 2, SMTP: 2}) {
		t.Fatalf("throttled counts %+v", got)
	}
	// Faults off: all pass again.
	sb.SetFaults(Faults{})
	if err := dialIMAP(t, sb, nil).Authenticate(&xoauth2{user: u, token: tok}); err != nil {
		t.Fatal(err)
	}
}

func TestThrottleEveryNth(t *testing.T) {
	var seen, hit int
	var hits []int
	for i := 1; i <= 30; i++ {
		if ok, _ := throttleLocked(0.1, &seen, &hit); ok {
			hits = append(hits, i)
		}
	}
	if len(hits) != 3 || hits[0] != 10 || hits[1] != 20 || hits[2] != 30 {
		t.Fatalf("rate 0.1 throttled requests %v, want 10, 20, 30", hits)
	}
}

// TestAdminFaultsRTTDelaysReplies: rtt_ms set through /admin/faults on a
// running sandbox delays the replies of a connection already open, and
// setting it back to 0 ends the delay.
func TestAdminFaultsRTTDelaysReplies(t *testing.T) {
	u := "user1@example.test"
	sb, tok := mailSandbox(t, u)
	ic := dialIMAP(t, sb, nil)
	if err := ic.Authenticate(&xoauth2{user: u, token: tok}); err != nil {
		t.Fatal(err)
	}
	noops := func(n int) time.Duration {
		t.Helper()
		start := time.Now()
		for i := 0; i < n; i++ {
			if err := ic.Noop().Wait(); err != nil {
				t.Fatal(err)
			}
		}
		return time.Since(start)
	}
	const rtt, n = 60 * time.Millisecond, 3
	adminPost(t, sb, "/faults", `{"rtt_ms":60}`)
	if got := noops(n); got < n*rtt {
		t.Errorf("with rtt_ms 60, %d NOOPs took %s, want at least %s", n, got, n*rtt)
	}
	adminPost(t, sb, "/faults", `{}`)
	if got := noops(n); got >= n*rtt {
		t.Errorf("with rtt_ms back to 0, %d NOOPs took %s, want under %s", n, got, n*rtt)
	}
}

func TestAdminFaultsRefusesBadRates(t *testing.T) {
	sb := start(t, Options{})
	for body, want := range map[string]string{`{"throttle":{"token":1.5}}`: "throttle.token is 1.5", `{"throttle":{"imap":-0.1}}`: "throttle.imap",
		`{"rtt_ms":-1}`: "must not be negative", `{"rtt_ms":60001}`: "rtt_ms 60001 is out of range; use 0 to 60000 (one minute)"} {
		resp, err := http.Post(sb.Endpoints().AdminURL+"/faults", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), want) {
			t.Errorf("POST /admin/faults %s: %d %s, want 400 saying %q", body, resp.StatusCode, b, want)
		}
	}
}
