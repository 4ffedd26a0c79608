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
