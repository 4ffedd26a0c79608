package watch

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/consent"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// hang is the guard against a hang; never a speed goal.
const hang = 30 * time.Second

// fakeClock is a Clock the test moves by hand; After reports each new
// wait on added.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	added   chan time.Time
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t0 time.Time) *fakeClock {
	return &fakeClock{now: t0, added: make(chan time.Time, 1000)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	at := c.now.Add(d)
	c.waiters = append(c.waiters, fakeWaiter{at, ch})
	c.added <- at
	return ch
}

// advance moves the clock to at and fires the waits that are due.
func (c *fakeClock) advance(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = at
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(at) {
			w.ch <- at
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

// memSource is the store for the watcher, in memory.
type memSource struct {
	mu       sync.Mutex
	profiles []core.Profile
	boxes    map[string][]core.Mailbox
	cache    *memCache
	saved    []core.MailboxResult
}

type memCache struct {
	*core.MemoryTokenCache
	*core.MemoryRefreshStore
}

func (m *memSource) ListProfiles() ([]core.Profile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]core.Profile(nil), m.profiles...), nil
}

func (m *memSource) Mailboxes(domain string) ([]core.Mailbox, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]core.Mailbox(nil), m.boxes[domain]...), nil
}

func (m *memSource) TokenCache(string) core.TokenCache { return m.cache }

func (m *memSource) SaveResults(_ string, rs []core.MailboxResult) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saved = append(m.saved, rs...)
	return nil
}

func serviceAccountSource(t *testing.T, users int) (*sandbox.Sandbox, *memSource) {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Options{Users: users, Delegate: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	p := core.Profile{Domain: sb.Domain(), DefaultSender: "admin@" + sb.Domain(), Credential: sb.ServiceAccountJSON(),
		Endpoints: sb.Endpoints(), CredentialLoaded: time.Now()}
	src := &memSource{profiles: []core.Profile{p}, boxes: map[string][]core.Mailbox{},
		cache: &memCache{&core.MemoryTokenCache{}, &core.MemoryRefreshStore{}}}
	for i := 1; i <= users; i++ {
		src.boxes[p.Domain] = append(src.boxes[p.Domain], core.Mailbox{Email: "user" + string(rune('0'+i)) + "@" + p.Domain})
	}
	return sb, src
}

// alertLog collects the alerts delivered.
type alertLog struct {
	mu     sync.Mutex
	alerts []Alert
}

func (l *alertLog) add(a Alert) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.alerts = append(l.alerts, a)
}

// take returns the alerts delivered since the last take.
func (l *alertLog) take() []Alert {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.alerts
	l.alerts = nil
	return out
}

// step runs one round at once and waits for its checks and alerts.
func step(w *Watcher, n int) {
	w.round(context.Background(), n, w.clock.Now(), 0)
	w.inflight.Wait()
	w.pending.Wait()
}

func TestRoundsSpreadEvenlyOverTheInterval(t *testing.T) {
	_, src := serviceAccountSource(t, 3) // admin and user1..3: 4 mailboxes
	t0 := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	clk := newFakeClock(t0)
	rounds := make(chan Health, 10)
	w, err := New(src, Options{Interval: time.Minute, Clock: clk, Concurrency: 2, OnRound: func(h Health) { rounds <- h }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	// Two rounds: the mailboxes start at 0, 15, 30 and 45 s of each
	// minute, and the next round at the minute: never a burst.
	want := []time.Duration{15, 30, 45, 60, 75, 90, 105, 120}
	for i, off := range want {
		select {
		case at := <-clk.added:
			if got := at.Sub(t0); got != off*time.Second {
				t.Fatalf("wait %d: the watcher waits until +%v, want +%v", i, got, off*time.Second)
			}
			clk.advance(at)
		case <-time.After(hang):
			t.Fatalf("no wait %d after %v", i, hang)
		}
	}
	for range 2 {
		select {
		case h := <-rounds:
			if h.State != "ok" || h.Mailboxes != 4 {
				t.Errorf("round health: %+v", h)
			}
		case <-time.After(hang):
			t.Fatal("a round did not finish")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(hang):
		t.Fatal("Run did not return after its context ended")
	}
	if n := len(src.saved); n < 8 {
		t.Errorf("every check is saved to the history: %d results saved, want at least 8", n)
	}
}

func TestAlertsOnStateChangeOnly(t *testing.T) {
	sb, src := serviceAccountSource(t, 2)
	log := &alertLog{}
	clk := newFakeClock(time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC))
	w, err := New(src, Options{Interval: time.Minute, Clock: clk, Renotify: time.Hour, OnAlert: log.add})
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	domain := sb.Domain()
	user1 := "user1@" + domain
	ok := func(m string, c core.CheckName) float64 {
		return testutil.ToFloat64(w.metrics.checkOK.WithLabelValues(domain, m, string(c)))
	}
	step(w, 0)
	if a := log.take(); len(a) != 0 {
		t.Fatalf("all checks pass: no alert expected, got %+v", a)
	}
	for _, m := range []string{"admin@" + domain, user1, "user2@" + domain} {
		for _, c := range DefaultChecks {
			if ok(m, c) != 1 {
				t.Errorf("mailoauth_check_ok{%s,%s} = %v, want 1", m, c, ok(m, c))
			}
		}
	}
	// A suspended mailbox: one failing alert with its code and fix.
	suspended := true
	if err := sb.SetUser(sandbox.UserUpdate{Email: user1, Suspended: &suspended}); err != nil {
		t.Fatal(err)
	}
	clk.advance(clk.Now().Add(time.Minute))
	step(w, 1)
	a := log.take()
	if len(a) != 1 || a[0].State != StateFailing || a[0].Mailbox != user1 || a[0].Check != "token" ||
		a[0].Code != core.CodeUserSuspended || a[0].Fix == "" || !a[0].Since.Equal(clk.Now()) {
		t.Fatalf("want one failing alert for %s with user_suspended and its fix, got %+v", user1, a)
	}
	if ok(user1, core.CheckToken) != 0 || ok(user1, core.CheckIMAP) != 0 || ok("user2@"+domain, core.CheckIMAP) != 1 {
		t.Errorf("metrics after the suspension: token %v imap %v, other mailbox imap %v", ok(user1, core.CheckToken), ok(user1, core.CheckIMAP), ok("user2@"+domain, core.CheckIMAP))
	}
	if n := testutil.ToFloat64(w.metrics.findings.WithLabelValues(domain, string(core.CodeUserSuspended))); n != 1 {
		t.Errorf("mailoauth_findings{user_suspended} = %v, want 1", n)
	}
	if h := w.Health(); h.State != "failing" || len(h.Failing) != 1 || h.Failing[0].Fix == "" {
		t.Errorf("healthz: %+v", h)
	}
	// Still failing: nothing repeats until the re-notify period is over.
	since := clk.Now()
	for i := 2; i < 4; i++ {
		clk.advance(clk.Now().Add(time.Minute))
		step(w, i)
		if a := log.take(); len(a) != 0 {
			t.Fatalf("round %d repeated an alert: %+v", i, a)
		}
	}
	clk.advance(since.Add(time.Hour))
	step(w, 4)
	if a := log.take(); len(a) != 1 || !a[0].Renotify || a[0].State != StateFailing || !a[0].Since.Equal(since) {
		t.Fatalf("after the re-notify period: want one repeat with the original start, got %+v", a)
	}
	// Fixed: exactly one recovered.
	suspended = false
	_ = sb.SetUser(sandbox.UserUpdate{Email: user1, Suspended: &suspended})
	clk.advance(clk.Now().Add(time.Minute))
	step(w, 5)
	if a := log.take(); len(a) != 1 || a[0].State != StateRecovered || a[0].Mailbox != user1 || a[0].Code != core.CodeUserSuspended {
		t.Fatalf("want one recovered alert, got %+v", a)
	}
	clk.advance(clk.Now().Add(time.Minute))
	step(w, 6)
	if a := log.take(); len(a) != 0 {
		t.Fatalf("a recovered mailbox alerted again: %+v", a)
	}
	if ok(user1, core.CheckSMTP) != 1 || w.Health().State != "ok" {
		t.Errorf("after recovery: smtp %v, health %+v", ok(user1, core.CheckSMTP), w.Health())
	}
}

func TestConsentExpiryWarnsBeforeAnyCheckFails(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Options{Users: 1, AutoConsent: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	if err := sb.SetConsentScreen(sandbox.ConsentScreen{UserType: "external", PublishingStatus: "testing"}); err != nil {
		t.Fatal(err)
	}
	domain := sb.Domain()
	user := "user1@" + domain
	if err := sb.AddTestUsers(user, "admin@"+domain); err != nil {
		t.Fatal(err)
	}
	// The profile knows nothing of the app's status: the sandbox's Admin
	// console (and the token's own lifetime) tell it.
	p := core.Profile{Domain: domain, DefaultSender: "admin@" + domain, Credential: sb.OAuthClientJSON(), Endpoints: sb.Endpoints()}
	src := &memSource{profiles: []core.Profile{p}, boxes: map[string][]core.Mailbox{domain: {{Email: user}}},
		cache: &memCache{&core.MemoryTokenCache{}, &core.MemoryRefreshStore{}}}
	a, err := consent.New(&p, src.cache, src.cache)
	if err != nil {
		t.Fatal(err)
	}
	follow := func(_ string, u string) {
		go func() {
			if resp, err := http.Get(u); err == nil {
				resp.Body.Close()
			}
		}()
	}
	for _, m := range []string{user, "admin@" + domain} {
		if _, err := a.Authorize(context.Background(), m, consent.Options{ShowURL: follow, Wait: hang}); err != nil {
			t.Fatal(err)
		}
	}
	w, log := newLogged(t, src)
	step(w, 0)
	if a := log.take(); len(a) != 0 {
		t.Fatalf("fresh consent: no alert expected, got %+v", a)
	}
	left := testutil.ToFloat64(w.metrics.deadline.WithLabelValues(domain, user, string(core.DeadlineConsentExpiry)))
	if left < (7*24-1)*3600 || left > 7*24*3600 {
		t.Errorf("seconds until the consent expires: %v, want about 7 days", left)
	}

	sb.AdvanceClock(6 * 24 * time.Hour)
	step(w, 1)
	got := log.take()
	var warned []string
	for _, a := range got {
		if a.State != StateWarning || a.Code != core.CodeConsentExpiring || a.Check != string(core.DeadlineConsentExpiry) ||
			!strings.Contains(a.Fix, "Publish") || !strings.Contains(a.Fix, "mailoauth authorize "+a.Mailbox) {
			t.Errorf("want only consent_expiring warnings with the publish / re-consent fix, got %+v", a)
		}
		warned = append(warned, a.Mailbox)
	}
	if len(warned) != 2 {
		t.Errorf("want a warning for both consented mailboxes, got %v", warned)
	}
	for _, c := range DefaultChecks {
		if v := testutil.ToFloat64(w.metrics.checkOK.WithLabelValues(domain, user, string(c))); v != 1 {
			t.Errorf("the %s check should still pass 6 days after consent (the warning comes first), got %v", c, v)
		}
	}
	if left := testutil.ToFloat64(w.metrics.deadline.WithLabelValues(domain, user, string(core.DeadlineConsentExpiry))); left > 48*3600 || left < 23*3600 {
		t.Errorf("seconds until expiry after 6 days: %v, want about 24 h", left)
	}
	if h := w.Health(); h.State != "warning" || len(h.Warnings) != 2 {
		t.Errorf("healthz with warnings only: %+v", h)
	}
	step(w, 2)
	if a := log.take(); len(a) != 0 {
		t.Errorf("a warning still in force repeated: %+v", a)
	}
	// Past the 7 days the check fails with its own finding.
	sb.AdvanceClock(2 * 24 * time.Hour)
	step(w, 3)
	var failing int
	for _, a := range log.take() {
		if a.State == StateFailing {
			failing++
			if a.Code != core.CodeTestingAppRefreshExpired {
				t.Errorf("after 8 days: %+v", a)
			}
		}
	}
	if failing != 2 {
		t.Errorf("want both mailboxes failing after 8 days, got %d", failing)
	}
}

func TestAlertEmailAndWebhookSayWhenTheSenderIsBroken(t *testing.T) {
	sb, src := serviceAccountSource(t, 1)
	var mu sync.Mutex
	var posted []Alert
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var a Alert
		_ = json.NewDecoder(r.Body).Decode(&a)
		mu.Lock()
		posted = append(posted, a)
		mu.Unlock()
	}))
	defer hook.Close()
	domain := sb.Domain()
	ops := "ops@" + domain
	_ = sb.SetUser(sandbox.UserUpdate{Email: ops})
	w, err := New(src, Options{Interval: time.Minute, Webhook: hook.URL, AlertEmail: ops})
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	step(w, 0)
	// A broken mailbox: the alert goes by mail through the default sender.
	imap := false
	_ = sb.SetUser(sandbox.UserUpdate{Email: "user1@" + domain, IMAP: &imap})
	step(w, 1)
	mu.Lock()
	if len(posted) != 1 || posted[0].Code != core.CodeIMAPDisabled || posted[0].EmailError != "" {
		t.Fatalf("want one webhook alert for imap_disabled with the e-mail sent, got %+v", posted)
	}
	posted = nil
	mu.Unlock()
	if n := sb.MessageCount(ops); n != 1 {
		t.Errorf("the alert e-mail should have arrived in %s: %d messages", ops, n)
	}
	// The default sender itself suspended: its own alert cannot be mailed,
	// and the webhook says so.
	suspended := true
	_ = sb.SetUser(sandbox.UserUpdate{Email: "admin@" + domain, Suspended: &suspended})
	step(w, 2)
	mu.Lock()
	defer mu.Unlock()
	if len(posted) != 1 || posted[0].Mailbox != "admin@"+domain || !strings.Contains(posted[0].EmailError, "default sender admin@"+domain) ||
		!strings.Contains(posted[0].EmailError, string(core.CodeUserSuspended)) {
		t.Fatalf("want the sender's own alert with email_error naming the sender and user_suspended, got %+v", posted)
	}
}

func TestTrackerStates(t *testing.T) {
	tr := newTracker(time.Hour)
	t0 := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	k := key{"example.test", "a@example.test", "token"}
	f1 := core.NewFinding(core.CodeUnknownUser, "gone.", "add it.")
	f2 := core.NewFinding(core.CodeUserSuspended, "suspended.", "restore it.")
	if a := tr.check(k, true, nil, t0, time.Time{}); a != nil {
		t.Fatalf("first ok: %+v", a)
	}
	if a := tr.check(k, false, f1, t0.Add(time.Minute), time.Time{}); a == nil || a.State != StateFailing {
		t.Fatalf("first failure: %+v", a)
	}
	if a := tr.check(k, false, f1, t0.Add(59*time.Minute), time.Time{}); a != nil {
		t.Fatalf("same failure within the re-notify period: %+v", a)
	}
	// Another finding is a new state.
	if a := tr.check(k, false, f2, t0.Add(60*time.Minute), time.Time{}); a == nil || a.Code != core.CodeUserSuspended || a.Renotify {
		t.Fatalf("new finding: %+v", a)
	}
	if a := tr.check(k, true, nil, t0.Add(61*time.Minute), time.Time{}); a == nil || a.State != StateRecovered || !a.Since.Equal(t0.Add(60*time.Minute)) {
		t.Fatalf("recovery: %+v", a)
	}
	// Warnings: new, kept quiet, gone.
	wk := key{"example.test", "", "key_rotation"}
	w1 := core.NewFinding(core.CodeKeyRotationDue, "old.", "rotate.")
	if as := tr.warnings("example.test", map[key]*core.Finding{wk: w1}, t0); len(as) != 1 || as[0].State != StateWarning {
		t.Fatalf("new warning: %+v", as)
	}
	if as := tr.warnings("example.test", map[key]*core.Finding{wk: w1}, t0.Add(time.Minute)); len(as) != 0 {
		t.Fatalf("warning repeated: %+v", as)
	}
	if as := tr.warnings("example.test", nil, t0.Add(2*time.Minute)); len(as) != 1 || as[0].State != StateRecovered {
		t.Fatalf("warning gone: %+v", as)
	}
}

func TestKeyAgeWarning(t *testing.T) {
	_, src := serviceAccountSource(t, 1)
	src.profiles[0].CredentialLoaded = time.Now().Add(-100 * 24 * time.Hour)
	w, log := newLogged(t, src)
	step(w, 0)
	a := log.take()
	if len(a) != 1 || a[0].Code != core.CodeKeyRotationDue || a[0].State != StateWarning || !strings.Contains(a[0].Fix, "Add key") {
		t.Fatalf("a key loaded 100 days ago (rotation age 90 days): want one key_rotation_due warning, got %+v", a)
	}
	left := testutil.ToFloat64(w.metrics.deadline.WithLabelValues(src.profiles[0].Domain, "", string(core.DeadlineKeyRotation)))
	if left > -9*24*3600 || left < -11*24*3600 {
		t.Errorf("seconds until key rotation: %v, want about -10 days", left)
	}
}

// newLogged is a watcher over src whose alerts go to the returned log.
func newLogged(t *testing.T, src Source) (*Watcher, *alertLog) {
	t.Helper()
	log := &alertLog{}
	w, err := New(src, Options{Interval: time.Minute, OnAlert: log.add})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	return w, log
}

// A reload (SIGHUP) while a round runs is safe (go test -race), and a
// mailbox removed from the store leaves the metrics at the next round.
func TestReloadDuringRoundsAndRemovedMailboxes(t *testing.T) {
	sb, src := serviceAccountSource(t, 2)
	w, _ := newLogged(t, src)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 {
			if err := w.Reload(); err != nil {
				t.Error(err)
			}
		}
	}()
	step(w, 0)
	<-done
	domain := sb.Domain()
	user2 := "user2@" + domain
	if n := testutil.CollectAndCount(w.metrics.checkOK); n != 3*3+1 {
		t.Fatalf("want 3 mailboxes x 3 checks and the credential of mailoauth_check_ok, got %d", n)
	}
	src.mu.Lock()
	src.boxes[domain] = src.boxes[domain][:1] // user2 removed
	src.mu.Unlock()
	step(w, 1)
	if n := testutil.CollectAndCount(w.metrics.checkOK); n != 2*3+1 {
		t.Errorf("after removing %s: %d series, want 7", user2, n)
	}
}

// A profile whose credential cannot be used fails as a check of its own
// (one alert, metric 0) and recovers once a reload finds a good one.
func TestBrokenCredentialIsAFailingCheck(t *testing.T) {
	_, src := serviceAccountSource(t, 1)
	good := src.profiles[0].Credential
	src.profiles[0].Credential = []byte(`{"type":"service_account"}`)
	w, log := newLogged(t, src)
	domain := src.profiles[0].Domain
	ok := func() float64 {
		return testutil.ToFloat64(w.metrics.checkOK.WithLabelValues(domain, "", CheckCredential))
	}
	step(w, 0)
	a := log.take()
	if len(a) != 1 || a[0].State != StateFailing || a[0].Check != CheckCredential || a[0].Code != core.CodeInvalidKey || a[0].Fix == "" || ok() != 0 {
		t.Fatalf("a broken credential: want one failing credential alert and metric 0, got %+v (metric %v)", a, ok())
	}
	step(w, 1)
	if a := log.take(); len(a) != 0 {
		t.Fatalf("repeated: %+v", a)
	}
	src.mu.Lock()
	src.profiles[0].Credential = good
	src.mu.Unlock()
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	step(w, 2)
	if a := log.take(); len(a) != 1 || a[0].State != StateRecovered || a[0].Check != CheckCredential || ok() != 1 {
		t.Fatalf("after a reload with a good key: want one recovered alert, got %+v (metric %v)", a, ok())
	}
}

// Throttling is no failure of the mailbox: no alert, its metric and state
// stay as they were until a round gets through.
func TestThrottledRoundKeepsTheState(t *testing.T) {
	sb, src := serviceAccountSource(t, 1)
	log := &alertLog{}
	w, err := New(src, Options{Interval: time.Minute, OnAlert: log.add, Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	user := "user1@" + sb.Domain()
	smtpOK := func() float64 {
		return testutil.ToFloat64(w.metrics.checkOK.WithLabelValues(sb.Domain(), user, "smtp"))
	}
	step(w, 0)
	// SMTP's 454/421 (IMAP's connection cap is a finding of its own).
	sb.SetFaults(sandbox.Faults{Throttle: sandbox.Throttle{SMTP: 1}})
	step(w, 1)
	src.mu.Lock()
	last := src.saved[len(src.saved)-1]
	src.mu.Unlock()
	if last.Finding == nil || last.Finding.Code != core.CodeThrottled {
		t.Fatalf("the sandbox should have throttled SMTP: %+v", last)
	}
	if a := log.take(); len(a) != 0 || smtpOK() != 1 || w.Health().State != "ok" {
		t.Fatalf("throttled: want no alert, smtp metric still 1 and health ok; got %+v, %v, %s", a, smtpOK(), w.Health().State)
	}
	sb.SetFaults(sandbox.Faults{})
	step(w, 2)
	if a := log.take(); len(a) != 0 || smtpOK() != 1 {
		t.Fatalf("after the throttling: %+v, %v", a, smtpOK())
	}
}

// A profile deleted from the store leaves the health and the metrics at
// the next reload, its credential's state included.
func TestDeletedProfileIsForgotten(t *testing.T) {
	_, src := serviceAccountSource(t, 1)
	src.profiles[0].Credential = []byte(`{"type":"service_account"}`)
	w, _ := newLogged(t, src)
	step(w, 0)
	if h := w.Health(); h.State != "failing" {
		t.Fatalf("a broken credential: health %+v", h)
	}
	src.mu.Lock()
	src.profiles = nil
	src.mu.Unlock()
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	step(w, 1)
	if h := w.Health(); len(h.Failing) != 0 || testutil.CollectAndCount(w.metrics.checkOK) != 0 {
		t.Fatalf("after deleting the profile: health %+v, %d series", h, testutil.CollectAndCount(w.metrics.checkOK))
	}
}

// A check that fails without a finding still alerts, and its fix names the
// command that shows the details for that mailbox.
func TestFailureWithoutFindingSaysWhereToLook(t *testing.T) {
	tr := newTracker(time.Hour)
	k := key{"example.test", "a@example.test", "imap"}
	a := tr.check(k, false, nil, time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC), time.Time{})
	if a == nil || a.State != StateFailing || a.Code != core.CodeUnknown ||
		a.Fix != "Run `mailoauth test --mailbox a@example.test` to see the details." {
		t.Fatalf("a failure without a finding: want a failing unknown alert naming the test command, got %+v", a)
	}
}
