package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// TestRetriesFlag: --retries bounds how often a throttled mailbox is tried
// again; 0 reports the first throttling reply at once, and a value out of
// range is a usage error (exit 2) saying the range.
func TestRetriesFlag(t *testing.T) {
	sb := startSandbox(t, 1)
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupStore(t, db, sb.dir, "--key")
	for _, bad := range []string{"-1", "21"} {
		r := mailoauth(t, db, "test", "--retries", bad, "-m", "user1@example.test")
		if r.code != 2 || !strings.Contains(r.stderr, "use 0 to 20") {
			t.Errorf("--retries %s: exit %d %q, want 2 with the range", bad, r.code, r.stderr)
		}
	}
	sb.admin(t, "POST", "/faults", map[string]any{"throttle": map[string]any{"token": 1}})
	l, code := testOne(t, db, "user1@example.test", "--checks", "token", "--retries", "0")
	if code != 1 || l.Finding == nil || l.Finding.Code != core.CodeThrottled || strings.Contains(l.Finding.Summary, "retries") || len(l.Notes) != 0 {
		t.Fatalf("--retries 0: exit %d, %+v notes %q, want throttled at once, not retried", code, l.Finding, l.Notes)
	}
}

// TestThrottledRunEndToEnd: `test` against a sandbox that throttles with
// Google's token endpoint reply (HTTP 429 with Retry-After 1), as a script
// or an administrator sees it. A mailbox retried and then accepted passes
// with the note "throttled, retried 1 time"; one whose retries run out
// fails with the finding throttled and its fix, in the table and in
// --json; the JSON summary counts the retries made (throttled_retries, the
// sum of the notes' N) and the most mailboxes at once (peak_concurrency).
// --retries keeps it fast: each retry waits about the Retry-After, 1 s.
func TestThrottledRunEndToEnd(t *testing.T) {
	sb := startSandbox(t, 4)
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupStore(t, db, sb.dir, "--key")
	start := time.Now()

	type summary struct {
		Total            int  `json:"total"`
		OK               int  `json:"ok"`
		Failed           int  `json:"failed"`
		ThrottledRetries *int `json:"throttled_retries"`
		PeakConcurrency  *int `json:"peak_concurrency"`
	}
	summaryOf := func(out string) summary {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var s struct{ Summary *summary }
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil || s.Summary == nil || s.Summary.ThrottledRetries == nil || s.Summary.PeakConcurrency == nil {
			t.Fatalf("the last line is not a summary with throttled_retries and peak_concurrency: %q (%v)", lines[len(lines)-1], err)
		}
		return *s.Summary
	}

	// Every 2nd token request throttled: of two mailboxes one meets a 429,
	// is retried once and passes; neither fails.
	sb.admin(t, "POST", "/faults", map[string]any{"throttle": map[string]any{"token": 0.5}})
	r := mailoauth(t, db, "test", "--json", "--checks", "token", "--retries", "1", "-m", "user1@example.test", "-m", "user2@example.test")
	if r.code != 0 {
		t.Fatalf("a run throttled on every 2nd token request: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := parseLines(t, r.stdout)
	var notes []string
	for _, l := range lines[:len(lines)-1] {
		if !l.OK {
			t.Errorf("%s reported failed for throttling alone: %+v", l.Mailbox, l.Finding)
		}
		notes = append(notes, l.Notes...)
	}
	if len(notes) != 1 || notes[0] != "throttled, retried 1 time" {
		t.Errorf("notes %q, want one mailbox noted \"throttled, retried 1 time\"", notes)
	}
	if s := summaryOf(r.stdout); s.OK != 2 || s.Failed != 0 || *s.ThrottledRetries != 1 || *s.PeakConcurrency < 1 || *s.PeakConcurrency > 2 {
		t.Errorf("summary %+v (throttled_retries %d, peak_concurrency %d), want 2 ok, 1 retry, at most 2 at once", s, *s.ThrottledRetries, *s.PeakConcurrency)
	}

	// Every token request throttled: the retries run out.
	sb.admin(t, "POST", "/faults", map[string]any{"throttle": map[string]any{"token": 1}})
	r = mailoauth(t, db, "test", "--checks", "token", "--retries", "1", "-m", "user3@example.test")
	if r.code != 1 {
		t.Fatalf("retries ran out: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"FAILED (" + string(core.CodeThrottled) + ")",
		"[" + string(core.CodeThrottled) + "] ",
		"HTTP 429 " + core.OAuthRateLimitExceeded,
		"still after 1 retries",
		"Fix: Run the test again in a few minutes, or with a lower ceiling",
		"user3@example.test: note: throttled, retried 1 time\n",
		"0 passed, 1 failed",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the table lacks %q:\n%s", want, r.stdout)
		}
	}

	r = mailoauth(t, db, "test", "--json", "--checks", "token", "--retries", "2", "-m", "user4@example.test")
	lines = parseLines(t, r.stdout)
	l := lines[0]
	if r.code != 1 || l.OK || l.Finding == nil || l.Finding.Code != core.CodeThrottled || !strings.Contains(l.Finding.Summary, "still after 2 retries") || l.Finding.Fix == "" {
		t.Fatalf("retries ran out (--json): exit %d, %+v", r.code, l.Finding)
	}
	if len(l.Notes) != 1 || l.Notes[0] != "throttled, retried 2 times" {
		t.Errorf("notes %q, want \"throttled, retried 2 times\"", l.Notes)
	}
	if s := summaryOf(r.stdout); s.Failed != 1 || *s.ThrottledRetries != 2 || *s.PeakConcurrency != 1 {
		t.Errorf("summary %+v (throttled_retries %d, peak_concurrency %d), want 1 failed, the 2 retries noted, 1 at once", s, *s.ThrottledRetries, *s.PeakConcurrency)
	}
	t.Logf("three throttled runs took %v", time.Since(start).Round(100*time.Millisecond))
}
