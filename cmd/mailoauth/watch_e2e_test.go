package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/coretest"
	"github.com/mailoauth/mailoauth/store"
)

// hook is a webhook receiver that keeps every alert POSTed to it.
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	alerts []map[string]any
	got    chan struct{}
}

func newHook(t *testing.T) *hook {
	h := &hook{got: make(chan struct{}, 100)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a map[string]any
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&a) != nil {
			t.Errorf("the webhook got a %s that is not a JSON alert", r.Method)
			return
		}
		h.mu.Lock()
		h.alerts = append(h.alerts, a)
		h.mu.Unlock()
		h.got <- struct{}{}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// take returns the alerts received since the last take.
func (h *hook) take() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.alerts
	h.alerts = nil
	return out
}

// watchProcess is a running `mailoauth watch`.
type watchProcess struct {
	cmd     *exec.Cmd
	metrics string // http://ADDR
	stderr  *coretest.Buffer
}

var metricsLineRe = regexp.MustCompile(`metrics on (http://\S+)/metrics`)

func startWatch(t *testing.T, db string, args ...string) *watchProcess {
	t.Helper()
	return startDaemon(t, db, append([]string{"watch", "--metrics", "127.0.0.1:0"}, args...)...)
}

// startDaemon starts a mailoauth command that prints its metrics address
// and stops it with SIGTERM at the end of the test.
func startDaemon(t *testing.T, db string, args ...string) *watchProcess {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--db", db}, args...)...)
	cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=")
	stderr := &coretest.Buffer{}
	out := startPiped(t, cmd, stderr)
	wp := &watchProcess{cmd: cmd, stderr: stderr}
	t.Cleanup(func() {
		if err := sigterm(cmd); err != nil {
			t.Errorf("watch on SIGTERM: %v", err)
		}
		if strings.Contains(stderr.String(), "goroutine ") {
			t.Errorf("watch printed a stack trace:\n%s", stderr.String())
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := metricsLineRe.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("watch exited without printing its metrics address:\n%s", stderr.String())
		}
		wp.metrics = a
	case <-time.After(hang):
		t.Fatalf("watch printed no metrics address:\n%s", stderr.String())
	}
	return wp
}

// sigterm stops the process with SIGTERM and reports how it exited (killed
// after the hang guard).
func sigterm(cmd *exec.Cmd) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(hang):
		_ = cmd.Process.Kill()
		return fmt.Errorf("no exit %v after SIGTERM", hang)
	}
}

const hang = 30 * time.Second

var sampleRe = regexp.MustCompile(`(?m)^(\w+)\{([^}]*)\} (\S+)$`)

// sample reads one metric's value from /metrics (ok false: not there).
func (w *watchProcess) sample(t *testing.T, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(w.metrics + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range sampleRe.FindAllStringSubmatch(string(body), -1) {
		if m[1] != name {
			continue
		}
		match := true
		for k, v := range labels {
			match = match && strings.Contains(m[2], fmt.Sprintf("%s=%q", k, v))
		}
		if match {
			v, _ := strconv.ParseFloat(m[3], 64)
			return v, true
		}
	}
	return 0, false
}

// rounds is how many rounds the watcher completed (from /healthz).
func (w *watchProcess) rounds(t *testing.T) int {
	t.Helper()
	resp, err := http.Get(w.metrics + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	defer resp.Body.Close()
	var h struct {
		Rounds int `json:"rounds"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("/healthz is not JSON: %v", err)
	}
	return h.Rounds
}

// waitFor polls until cond holds; the limit is a hang guard, not a speed goal.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hang)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v still waiting for %s", hang, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// quietRounds waits for two more complete rounds and then checks that the
// webhook got nothing meanwhile.
func (w *watchProcess) quietRounds(t *testing.T, h *hook, when string) {
	t.Helper()
	n := w.rounds(t)
	waitFor(t, "two more rounds", func() bool { return w.rounds(t) >= n+2 })
	if a := h.take(); len(a) != 0 {
		t.Fatalf("%s: alerts repeated although nothing changed: %v", when, a)
	}
}

// wantAlerts waits for n alerts and checks each is state for a mailbox of
// mailboxes with code, a summary and a fix.
func wantAlerts(t *testing.T, h *hook, n int, state string, code core.Code, mailboxes ...string) []map[string]any {
	t.Helper()
	var got []map[string]any
	waitFor(t, fmt.Sprintf("%d %s alert(s)", n, state), func() bool {
		got = append(got, h.take()...)
		return len(got) >= n
	})
	seen := map[string]bool{}
	for _, a := range got {
		m, _ := a["mailbox"].(string)
		if a["state"] != state || a["code"] != string(code) || a["fix"] == "" || a["summary"] == "" || a["since"] == "" || a["profile"] != "example.test" || a["check"] == "" {
			t.Errorf("want %s alerts with code %s, profile, check, summary, fix and since; got %v", state, code, a)
		}
		if seen[m] {
			t.Errorf("two %s alerts for %s: %v", state, m, got)
		}
		seen[m] = true
	}
	for _, m := range mailboxes {
		if !seen[m] {
			t.Errorf("no %s alert for %s: %v", state, m, got)
		}
	}
	if len(got) != n {
		t.Errorf("want exactly %d %s alert(s), got %d: %v", n, state, len(got), got)
	}
	return got
}

func TestWatchAlertsOnceAndRecoversOnce(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, 2)
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupServiceAccount(t, sb, db, "user1@example.test", "user2@example.test")
	h := newHook(t)
	w := startWatch(t, db, "--interval", "2s", "--alert-webhook", h.srv.URL, "--roundtrip-every", "0")
	all := []string{"admin@example.test", "user1@example.test", "user2@example.test"}
	checkOK := func(m, c string) float64 {
		v, _ := w.sample(t, "mailoauth_check_ok", map[string]string{"profile": "example.test", "mailbox": m, "check": c})
		return v
	}
	waitFor(t, "mailoauth_check_ok 1 for every mailbox and check", func() bool {
		for _, m := range all {
			for _, c := range []string{"token", "imap", "smtp"} {
				if checkOK(m, c) != 1 {
					return false
				}
			}
		}
		return true
	})
	if a := h.take(); len(a) != 0 {
		t.Fatalf("every check passes, yet alerts came: %v", a)
	}
	// Bounded labels, never a token.
	for _, path := range []string{"/metrics", "/healthz"} {
		resp, err := http.Get(w.metrics + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "ya29.") || strings.Contains(string(body), "PRIVATE KEY") {
			t.Fatalf("%s shows a token or key:\n%s", path, body)
		}
	}

	// A suspended mailbox: its metric drops to 0, exactly one alert with the
	// finding's code and fix, nothing more until it is fixed, then one recovery.
	sb.admin(t, "POST", "/users", map[string]any{"email": "user2@example.test", "suspended": true})
	waitFor(t, "user2's token metric at 0", func() bool { return checkOK("user2@example.test", "token") == 0 })
	a := wantAlerts(t, h, 1, "failing", core.CodeUserSuspended, "user2@example.test")
	if !strings.Contains(a[0]["fix"].(string), "admin.google.com") {
		t.Errorf("the alert's fix should say where to restore the user: %v", a[0])
	}
	if checkOK("user1@example.test", "token") != 1 {
		t.Error("another mailbox's metric dropped too")
	}
	w.quietRounds(t, h, "user2 still suspended")
	sb.admin(t, "POST", "/users", map[string]any{"email": "user2@example.test", "suspended": false})
	wantAlerts(t, h, 1, "recovered", core.CodeUserSuspended, "user2@example.test")
	waitFor(t, "user2's metrics back at 1", func() bool { return checkOK("user2@example.test", "smtp") == 1 })
	w.quietRounds(t, h, "after the recovery")

	// The delegation deleted in the Admin console: every mailbox fails at
	// once (one alert each), and recovers once it is added again.
	sb.admin(t, "DELETE", "/delegation?client_id="+sb.clientID, nil)
	wantAlerts(t, h, 3, "failing", core.CodeDelegationNotAuthorized, all...)
	if v, ok := w.sample(t, "mailoauth_findings", map[string]string{"code": string(core.CodeDelegationNotAuthorized)}); !ok || v != 3 {
		t.Errorf("mailoauth_findings{code=delegation_not_authorized} = %v (%v), want 3", v, ok)
	}
	w.quietRounds(t, h, "delegation still missing")
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	wantAlerts(t, h, 3, "recovered", core.CodeDelegationNotAuthorized, all...)
	w.quietRounds(t, h, "after the delegation came back")

	// Every result went into the history.
	r := mailoauth(t, db, "history", "user2@example.test")
	if r.code != 0 || !strings.Contains(r.stdout, "✗") || !strings.Contains(r.stdout, "✓") {
		t.Errorf("history after the watch rounds:\n%s%s", r.stdout, r.stderr)
	}
}

func TestWatchConsentPathRevokeAndTestingExpiry(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, 1, "--auto-consent")
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	sb.admin(t, "POST", "/oauth/consent", map[string]any{"user_type": "external", "publishing_status": "testing"})
	sb.admin(t, "POST", "/oauth/test_users", map[string]any{"add": []string{"admin@example.test", "user1@example.test"}})
	setupStore(t, db, sb.dir, "--client")
	r := mailoauth(t, db, "mailbox", "add", "user1@example.test")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r = authorize(t, db, autoBrowser, "--all"); r.code != 0 {
		t.Fatalf("authorize --all: %d %s%s", r.code, r.stdout, r.stderr)
	}
	h := newHook(t)
	w := startWatch(t, db, "--interval", "2s", "--alert-webhook", h.srv.URL, "--roundtrip-every", "0")
	label := map[string]string{"mailbox": "user1@example.test", "check": "token"}
	waitFor(t, "user1's token metric at 1", func() bool { v, _ := w.sample(t, "mailoauth_check_ok", label); return v == 1 })

	// The user removes the app's access: one alert naming the re-consent.
	sb.admin(t, "POST", "/oauth/revoke", map[string]any{"email": "user1@example.test"})
	waitFor(t, "user1's token metric at 0", func() bool { v, _ := w.sample(t, "mailoauth_check_ok", label); return v == 0 })
	a := wantAlerts(t, h, 1, "failing", core.CodeConsentRequired, "user1@example.test")
	if !strings.Contains(a[0]["fix"].(string), "mailoauth authorize user1@example.test") {
		t.Errorf("the fix should name the re-consent: %v", a[0])
	}
	w.quietRounds(t, h, "consent still revoked")
	if r = authorize(t, db, autoBrowser, "user1@example.test"); r.code != 0 {
		t.Fatalf("re-consent: %d %s%s", r.code, r.stdout, r.stderr)
	}
	wantAlerts(t, h, 1, "recovered", core.CodeConsentRequired, "user1@example.test")

	// Six days later by Google's clock: the 7-day expiry of an app in
	// Testing is announced before any check fails.
	sb.admin(t, "POST", "/clock/advance", map[string]any{"seconds": 6 * 24 * 3600})
	wantAlerts(t, h, 2, "warning", core.CodeConsentExpiring, "admin@example.test", "user1@example.test")
	left, ok := w.sample(t, "mailoauth_deadline_seconds", map[string]string{"mailbox": "user1@example.test", "kind": "consent_expiry"})
	if !ok || left > 48*3600 || left <= 0 {
		t.Errorf("mailoauth_deadline_seconds{consent_expiry} = %v (%v), want under 48 h", left, ok)
	}
	for _, c := range []string{"token", "imap", "smtp"} {
		if v, _ := w.sample(t, "mailoauth_check_ok", map[string]string{"mailbox": "user1@example.test", "check": c}); v != 1 {
			t.Errorf("the %s check failed before the expiry; the warning must come first", c)
		}
	}
	if v, _ := w.sample(t, "mailoauth_findings", map[string]string{"code": string(core.CodeConsentExpiring)}); v != 2 {
		t.Errorf("mailoauth_findings{consent_expiring} = %v, want 2", v)
	}
	w.quietRounds(t, h, "warning in force")
}

func TestWatchOnceExitsLikeTestAll(t *testing.T) {
	sb := startSandbox(t, 1)
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupServiceAccount(t, sb, db, "user1@example.test")
	if r := mailoauth(t, db, "watch", "--once"); r.code != 0 || !strings.Contains(r.stdout, "2 mailboxes checked, 0 failing") {
		t.Fatalf("watch --once, all good: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sb.admin(t, "POST", "/users", map[string]any{"email": "user1@example.test", "imap": false})
	r := mailoauth(t, db, "watch", "--once")
	if r.code != 1 || !strings.Contains(r.stdout, "[imap_disabled]") || !strings.Contains(r.stdout, "Fix:") {
		t.Fatalf("watch --once with IMAP disabled: want exit 1 with the finding, got %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	missing := filepath.Join(t.TempDir(), "missing.db")
	if r := mailoauth(t, missing, "watch", "--once"); r.code != 3 || !strings.Contains(r.stderr, "mailoauth setup") {
		t.Errorf("watch --once without a store: want exit 3 naming setup, got %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("watch created a store where there was none")
	}
	t.Setenv(store.KeyEnv, "")
	empty := filepath.Join(t.TempDir(), "empty.db")
	if st, err := store.Open(empty, store.Options{}); err != nil {
		t.Fatal(err)
	} else {
		st.Close()
	}
	if r := mailoauth(t, empty, "watch", "--once"); r.code != 2 || !strings.Contains(r.stderr, "holds no domain yet") {
		t.Errorf("watch --once with no profile: want exit 2 saying so, got %d %s", r.code, r.stderr)
	}
	if r := mailoauth(t, db, "watch", "--once", "--interval", "10ms"); r.code != 2 {
		t.Errorf("--interval 10ms: want exit 2, got %d %s", r.code, r.stderr)
	}
	if r := mailoauth(t, db, "watch", "--once", "--key-max-age", "ninety"); r.code != 2 || !strings.Contains(r.stderr, "90d") {
		t.Errorf("--key-max-age ninety: want exit 2 naming 90d, got %d %s", r.code, r.stderr)
	}
}

func TestServeWatchRunsTheWatcherInProcess(t *testing.T) {
	sb := startSandbox(t, 1)
	dir := t.TempDir()
	db := filepath.Join(dir, "mailoauth.db")
	setupServiceAccount(t, sb, db, "user1@example.test")
	ak := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(ak, []byte("# nobody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := startDaemon(t, db, "serve", "--addr", "127.0.0.1:0", "--authorized-keys", ak, "--host-key", filepath.Join(dir, "host_key"),
		"--watch", "--interval", "2s", "--metrics", "127.0.0.1:0")
	waitFor(t, "user1's smtp metric at 1 from serve --watch", func() bool {
		v, _ := w.sample(t, "mailoauth_check_ok", map[string]string{"mailbox": "user1@example.test", "check": "smtp"})
		return v == 1
	})
	// The store stays shared: a command runs beside it.
	if r := mailoauth(t, db, "history", "user1@example.test"); r.code != 0 || !strings.Contains(r.stdout, "✓") {
		t.Errorf("history while serve --watch runs: %d %s%s", r.code, r.stdout, r.stderr)
	}
}

func TestWatchRereadsProfilesOnSIGHUP(t *testing.T) {
	sb := startSandbox(t, 1)
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupServiceAccount(t, sb, db)
	w := startWatch(t, db, "--interval", "1s", "--roundtrip-every", "0")
	waitFor(t, "the default sender's metric", func() bool {
		v, _ := w.sample(t, "mailoauth_check_ok", map[string]string{"mailbox": "admin@example.test", "check": "token"})
		return v == 1
	})
	// The store is shared: another command changes the profile meanwhile.
	if r := mailoauth(t, db, "setup", "--domain", "example.test", "--sender", "user1@example.test",
		"--key", filepath.Join(sb.dir, "service-account.json"), "--endpoints", filepath.Join(sb.dir, "endpoints.json")); r.code != 0 {
		t.Fatalf("setup while watch runs: %d %s%s", r.code, r.stdout, r.stderr)
	}
	n := w.rounds(t)
	waitFor(t, "a round after the change", func() bool { return w.rounds(t) >= n+2 })
	if _, ok := w.sample(t, "mailoauth_check_ok", map[string]string{"mailbox": "user1@example.test"}); ok {
		t.Fatal("the new default sender was watched before SIGHUP")
	}
	if err := w.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new default sender watched after SIGHUP", func() bool {
		v, _ := w.sample(t, "mailoauth_check_ok", map[string]string{"mailbox": "user1@example.test", "check": "smtp"})
		return v == 1
	})
}

func TestWatchFinishesChecksInFlightOnSIGTERM(t *testing.T) {
	sb := startSandbox(t, 1)
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupServiceAccount(t, sb, db)
	// A slow Google: each reply takes 300 ms, so a check is surely in flight.
	sb.admin(t, "POST", "/faults", map[string]any{"latency_ms": 300})
	minted := sb.tokensMinted(t) // setup's verify minted these
	cmd := exec.Command(binary, "--db", db, "watch", "--interval", "1m", "--checks", "token,imap,smtp", "--roundtrip-every", "0")
	cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=")
	log := &coretest.Buffer{}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A check is in flight once the watcher has asked for a token.
	waitFor(t, "the first check's token request", func() bool { return sb.tokensMinted(t) > minted })
	if err := sigterm(cmd); err != nil {
		t.Fatalf("watch on SIGTERM: %v\n%s", err, log.String())
	}
	// The default sender's check was in flight: it finished and was saved.
	r := mailoauth(t, db, "history", "admin@example.test", "--json")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 3 || strings.Contains(r.stdout, `"ok":false`) {
		t.Errorf("the check in flight at SIGTERM should have finished (token, imap, smtp passed):\n%s%s\nlog:\n%s", r.stdout, r.stderr, log.String())
	}
}

// tokensMinted is how many access tokens the sandbox has minted.
func (s *sandboxProcess) tokensMinted(t *testing.T) int {
	t.Helper()
	var st struct {
		Minted int `json:"tokens_minted"`
	}
	s.adminState(t, &st)
	return st.Minted
}
