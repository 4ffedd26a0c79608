package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// `mailoauth test` (testcmd.go): the timeouts of its checks and of the
// round trip, the retries of a throttled mailbox, the notes --fresh and
// a refused cached token leave, and an interrupted run.

// The round trip's wait follows --timeout (three times it) unless
// --roundtrip-timeout sets it: a message that never arrives is reported
// with the bound that ran out, never a fixed 60 s.
func TestRoundtripObeysTimeoutFlags(t *testing.T) {
	sb := startSandbox(t, 2)
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupStore(t, db, sb.dir, "--key")
	sb.admin(t, "POST", "/faults", map[string]any{"smtp_discard": true})
	for _, c := range []struct {
		flags  []string
		within string
	}{
		{[]string{"--timeout", "400ms"}, "within 1.2s"},
		{[]string{"--timeout", "5s", "--roundtrip-timeout", "300ms"}, "within 300ms"},
	} {
		l, code := testOne(t, db, "user1@example.test", append([]string{"--checks", "token,imap,smtp,roundtrip"}, c.flags...)...)
		if code != 1 || l.Finding == nil || l.Finding.Code != core.CodeRoundtripNotDelivered || !strings.Contains(l.Finding.Summary, c.within) {
			t.Errorf("%v: want roundtrip_not_delivered %q, got exit %d %+v", c.flags, c.within, code, l.Finding)
		}
	}
	r := mailoauth(t, db, "test", "-h")
	if !strings.Contains(r.stdout, "--roundtrip-timeout") && !strings.Contains(r.stdout, "-roundtrip-timeout") {
		t.Errorf("test's help does not show the round trip's bound:\n%s", r.stdout)
	}
}

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
		"still after 1 retry:",
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

// freshNoted runs the readable `test` for one mailbox and reports whether
// its output carries the "cached token was refused" note.
func freshNoted(t *testing.T, db, mailbox string, extra ...string) bool {
	t.Helper()
	args := append([]string{"test", "--mailbox", mailbox, "--checks", "token,imap,smtp"}, extra...)
	r := mailoauth(t, db, args...)
	if r.code != 0 {
		t.Fatalf("test %v: exit %d\n%s%s", extra, r.code, r.stdout, r.stderr)
	}
	return strings.Contains(r.stdout, core.NoteTokenRefreshed)
}

// checkFreshNote proves the refused-token note appears only when a server
// really refused the cached token: never for --fresh (the token is minted
// anew before any server sees it), always after Google revoked it.
func checkFreshNote(t *testing.T, sb *sandboxProcess, db, mailbox string) {
	t.Helper()
	if noted := freshNoted(t, db, mailbox); noted {
		t.Fatalf("first test of %s printed a refused-token note", mailbox)
	}
	for i := 0; i < 2; i++ {
		if noted := freshNoted(t, db, mailbox, "--fresh"); noted {
			t.Fatalf("test --fresh of %s says the cached token was refused, yet no server refused one", mailbox)
		}
	}
	l, exit := testOne(t, db, mailbox, "--fresh", "--checks", "token,imap,smtp")
	if exit != 0 || len(l.Notes) != 0 {
		t.Fatalf("test --fresh --json of %s: exit %d, notes %q", mailbox, exit, l.Notes)
	}
	// True case: the cached token is revoked at Google; the IMAP login is
	// refused, a fresh token is minted and accepted, and the note says so.
	sb.admin(t, "POST", "/revoke", map[string]any{"email": mailbox})
	if !freshNoted(t, db, mailbox) {
		t.Fatalf("a revoked cached token was replaced without the note")
	}
}

func TestFreshNoteOnlyWhenTrueServiceAccount(t *testing.T) {
	sb := startSandbox(t, 2)
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	setupStore(t, db, sb.dir, "--key")
	checkFreshNote(t, sb, db, "user1@example.test")
}

func TestFreshNoteOnlyWhenTrueOAuthClient(t *testing.T) {
	sb := startSandbox(t, 2, "--auto-consent")
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupStore(t, db, sb.dir, "--client")
	if r := mailoauth(t, db, "mailbox", "add", "user1@example.test"); r.code != 0 {
		t.Fatalf("mailbox add: %s", r.stderr)
	}
	if r := authorize(t, db, autoBrowser, "user1@example.test"); r.code != 0 {
		t.Fatalf("authorize: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	checkFreshNote(t, sb, db, "user1@example.test")
}

// TestTableRowsPrintedAsMailboxesFinish: `mailoauth test` without --json
// prints each mailbox's row as soon as it and those before it are done,
// not once the whole run is. The first mailbox fails at once (no such
// account); the three after it, one at a time (--concurrency 1), each
// wait 30 s for an IMAP server that never greets, so the run takes at
// least 90 s. The header and the first row must be readable long before
// that, while the run still goes on (the test then ends it), aligned as
// the finished table is, with MAILBOX sized for the longer addresses
// still to come.
func TestTableRowsPrintedAsMailboxesFinish(t *testing.T) {
	sb := startSandbox(t, 3, "--delegate")
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupStore(t, db, sb.dir, "--key")
	sb.admin(t, "POST", "/faults", map[string]any{"imap_stall": true})
	cmd := exec.Command(binary, "--db", db, "test", "-m", "x@example.test", "-m", "user1@example.test", "-m", "user2@example.test", "-m", "user3@example.test",
		"--checks", "token,imap", "--concurrency", "1")
	cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=")
	var stderr bytes.Buffer
	stdout := startPiped(t, cmd, &stderr)
	stopped := false
	stop := func() { // Wait after the reads: it closes stdout
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	defer stop()

	lines := make(chan []string, 1)
	go func() {
		rd := bufio.NewReader(stdout)
		var got []string
		for range 2 {
			l, err := rd.ReadString('\n')
			if err != nil {
				break
			}
			got = append(got, l)
		}
		lines <- got
	}()
	var got []string
	select {
	case got = <-lines:
	case <-time.After(60 * time.Second): // the run takes 90 s: a row printed only at its end is never read in time
		stop()
		t.Fatalf("no row printed while the later mailboxes hang: the table waits for the whole run (stderr %q)", stderr.String())
	}
	// The run must still be going: ended now, by the test, not by itself.
	stop()
	if cmd.ProcessState.Exited() {
		t.Fatalf("the run ended (exit %d) before its first row was read: %q %q", cmd.ProcessState.ExitCode(), got, stderr.String())
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "MAILBOX ") || !strings.HasPrefix(got[1], "x@example.test ") {
		t.Fatalf("the first lines %q, want the header and x@example.test's row", got)
	}
	head, row := got[0], got[1]
	for _, c := range []struct{ heading, cell string }{{"TOKEN", "FAIL "}, {"IMAP", "-"}, {"RESULT", "FAILED ("}} {
		if h, v := strings.Index(head, c.heading), strings.Index(row, c.cell); h < 0 || h != v {
			t.Errorf("%s at column %d, its cell %q at %d:\n%s%s", c.heading, h, c.cell, v, head, row)
		}
	}
	// MAILBOX is sized for the later, longer address too.
	if h := strings.Index(head, "TOKEN"); h < len("user1@example.test")+2 {
		t.Errorf("TOKEN at column %d leaves no room for user1@example.test:\n%s", h, head)
	}
}

// TestInterruptedBulkTestKeepsSavedResults: `test --all` stopped with
// Ctrl-C (SIGINT) mid-run says it was interrupted, exits 130, prints and
// saves the results of the mailboxes that finished, and counts, prints
// and saves nothing for the ones it stopped: they keep their earlier
// "passed" (issue 12 item 1, where they became "failed: cancelled").
func TestInterruptedBulkTestKeepsSavedResults(t *testing.T) {
	const n = 24
	sb, db := bulkSandbox(t, n)
	if r := mailoauth(t, db, "test", "--all", "--checks", "token,imap"); r.code != 0 {
		t.Fatalf("the first run should pass: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Every server reply now comes 400 ms late: a mailbox's token and IMAP
	// login take seconds, so the run is far from done when SIGINT lands.
	sb.admin(t, "POST", "/faults", map[string]any{"rtt_ms": 400})
	checked := func(prefix string) {
		t.Helper()
		r := mailoauth(t, db, "mailbox", "ls")
		if strings.Contains(r.stdout, "failed") || strings.Count(r.stdout, " passed ") != n {
			t.Fatalf("%s: every mailbox should still show its pass:\n%s", prefix, r.stdout)
		}
	}

	// --json: interrupted once the first result line is out.
	started := time.Now()
	firstResult := func(line string) bool { return strings.HasPrefix(line, `{"checks"`) }
	out, stderr, code := interruptBulkTest(t, db, 1, firstResult,
		"test", "--all", "--fresh", "--json", "--checks", "token,imap")
	lines := parseLines(t, out)
	results, last := lines[:len(lines)-1], lines[len(lines)-1]
	var sum map[string]map[string]any
	trimmed := strings.TrimSpace(out)
	if err := json.Unmarshal([]byte(trimmed[strings.LastIndex(trimmed, "\n")+1:]), &sum); err != nil || last.Summary == nil {
		t.Fatalf("no summary line last: %q (%v)", out, err)
	}
	s := sum["summary"]
	if code != exitInterrupted || !strings.Contains(stderr, "cancelled (interrupted) before it finished") {
		t.Fatalf("interrupted --json run: exit %d, stderr %q; want %d and the interrupted sentence", code, stderr, exitInterrupted)
	}
	if len(results) == 0 || s["interrupted"] != true || s["failed"] != float64(0) || s["ok"] != float64(len(results)) ||
		s["not_run"] != float64(n+1-len(results)) {
		t.Fatalf("summary %v after %d result lines of %d mailboxes; want interrupted, 0 failed, the rest not run", s, len(results), n+1)
	}
	st := openReadOnly(t, db)
	saved, err := st.Results("example.test")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range results {
		if !l.OK {
			t.Fatalf("printed %s as failed: %+v", l.Mailbox, l.Finding)
		}
		if r := saved[l.Mailbox]; !r.OK || r.CheckedAt.Before(started) {
			t.Fatalf("%s finished before the interrupt but its result of this run is not saved: ok=%v at %v", l.Mailbox, r.OK, r.CheckedAt)
		}
	}
	checked("after the interrupted --json run")

	// The table: interrupted once this run has minted its first token.
	before := sb.tokensMinted(t)
	out, stderr, code = interruptBulkTest(t, db, 1, nil, "test", "--all", "--fresh", "--checks", "token,imap",
		func() bool { return sb.tokensMinted(t) > before })
	if code != exitInterrupted || !strings.Contains(stderr, "cancelled (interrupted)") ||
		!strings.Contains(out, " 0 failed, ") || !strings.Contains(out, " not run (interrupted)\n") || strings.Contains(out, "FAILED") {
		t.Fatalf("interrupted table run: exit %d\n%s%s", code, out, stderr)
	}
	checked("after the interrupted table run")

	// Ctrl-C twice: the second may force the exit while the run saves and
	// prints; every result it printed still has its token of this run on
	// disk (item 6).
	started = time.Now()
	out, stderr, code = interruptBulkTest(t, db, 2, firstResult, "test", "--all", "--fresh", "--json", "--checks", "token,imap")
	if code != exitInterrupted || !strings.Contains(stderr, "interrupted") {
		t.Fatalf("run interrupted twice: exit %d, stderr %q", code, stderr)
	}
	st = openReadOnly(t, db)
	defer st.Close()
	cache := st.TokenCache("example.test")
	for _, l := range parseLines(t, out) {
		if l.Summary != nil {
			continue
		}
		tok, ok, err := cache.LoadToken(l.Mailbox, []string{core.ScopeMail})
		if !l.OK || err != nil || !ok || tok.Expiry.Before(started.Add(3599*time.Second)) {
			t.Fatalf("%s was printed (ok=%v) but its token of this run is not in the store: %v %v, expiry %v", l.Mailbox, l.OK, ok, err, tok.Expiry)
		}
	}
}

// interruptBulkTest runs mailoauth with --db db and args and sends it
// SIGINT (times times in a row) once a line of its output satisfies atLine or, if args ends in a
// func() bool, once that holds (polled); it returns the whole output, the
// standard error and the exit code.
func interruptBulkTest(t *testing.T, db string, times int, atLine func(string) bool, args ...any) (string, string, int) {
	t.Helper()
	var strs []string
	var ready func() bool
	for _, a := range args {
		switch a := a.(type) {
		case string:
			strs = append(strs, a)
		case func() bool:
			ready = a
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // hang guard
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--db", db}, strs...)...)
	cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=")
	var stderr bytes.Buffer
	stdout := startPiped(t, cmd, &stderr)
	interrupt := func() {
		for range times {
			_ = cmd.Process.Signal(os.Interrupt)
		}
	}
	if ready != nil {
		waitFor(t, "the point of the interrupt", ready)
		interrupt()
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	signalled := ready != nil
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if !signalled && atLine(sc.Text()) {
			interrupt()
			signalled = true
		}
	}
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if !signalled {
		t.Fatalf("the run ended before it could be interrupted:\n%s%s", out.String(), stderr.String())
	}
	return out.String(), stderr.String(), code
}

// TestInterruptedUpgradeKeepsStoppedMailboxesPending: `upgrade --yes`
// stopped with Ctrl-C switches the mailboxes that passed, leaves the ones
// it stopped pending with their passwords, lists them as "not run
// (interrupted)" rather than pending for a "cancelled" finding, and exits
// 130 saying it was interrupted.
func TestInterruptedUpgradeKeepsStoppedMailboxesPending(t *testing.T) {
	const n = 16
	sb := startSandbox(t, n)
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	sb.admin(t, "POST", "/faults", map[string]any{"rtt_ms": 400}) // seconds a mailbox: Ctrl-C lands mid-run
	work := t.TempDir()
	db := filepath.Join(work, "mailoauth.db")
	legacy, _ := writeLegacyWith(t, work, legacySSL, "Legacy-Pass-%02d", exampleUsers(n)...)
	before := sb.tokensMinted(t)
	out, stderr, code := interruptBulkTest(t, db, 1, nil, "upgrade", "--yes", "--legacy", legacy,
		"--key", filepath.Join(sb.dir, "service-account.json"), "--endpoints", filepath.Join(sb.dir, "endpoints.json"),
		"--checks", "token,imap", func() bool { return sb.tokensMinted(t) > before })
	var upgraded, stopped int
	if m := regexp.MustCompile(`(?m)^(\d+) upgraded to OAuth, 0 pending, (\d+) not run \(interrupted\)\.$`).FindStringSubmatch(out); m != nil {
		upgraded, _ = strconv.Atoi(m[1])
		stopped, _ = strconv.Atoi(m[2])
	}
	if code != exitInterrupted || !strings.Contains(stderr, "cancelled (interrupted)") || strings.Contains(out, "pending   ") ||
		upgraded+stopped != n || stopped == 0 {
		t.Fatalf("interrupted upgrade: exit %d, %d upgraded, %d not run of %d\n%s%s", code, upgraded, stopped, n, out, stderr)
	}
	if kept, _ := pendingPasswords(t, db); len(kept) != stopped {
		t.Fatalf("%d mailboxes keep their passwords, want the %d the interrupt stopped", len(kept), stopped)
	}
}
