// Command benchbulk measures `mailoauth test --all` against the built-in
// Google sandbox with many mailboxes: on loopback (--rtt 0), across a
// simulated Internet (--rtt 50ms), with and without Google's throttling,
// and a second run that must mint no token. For each run it prints
// mailboxes/s, the test process's CPU per mailbox and peak RSS (from its
// rusage), the sandbox's CPU per mailbox, tokens minted, throttled retries
// and false failures, and under a run each problem it shows; after the
// last row it exits 1 if any run showed one. It is `make bench-bulk`; it
// is not part of `make test`.
//
// It must never import a package of this project: it runs the built
// binary as an administrator would, so what it measures is the program as
// shipped, flags and output included.
//
// Unless -checks is given, the --rtt 0 runs are made twice: with the checks
// issue 12 measured its baseline and set its targets with (token,imap,smtp)
// and with the default checks, which add the round trip (a message sent
// and found), so like is compared with like and neither is hidden.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type scenario struct {
	name   string
	faults string // /admin/faults body
	args   []string
	checks string // --checks; "" = the default (all four)
	// second: the run after another one within the tokens' lifetime (no --fresh).
	second bool
}

type summary struct {
	Total            int     `json:"total"`
	OK               int     `json:"ok"`
	Failed           int     `json:"failed"`
	Seconds          float64 `json:"seconds"`
	ThrottledRetries int     `json:"throttled_retries"`
	PeakConcurrency  int     `json:"peak_concurrency"`
}

func main() {
	bin := flag.String("bin", "bin/mailoauth", "the mailoauth binary")
	n := flag.Int("n", 2000, "number of mailboxes (sandbox users)")
	checks := flag.String("checks", "", "--checks of every test run (default: the --rtt 0 runs with token,imap,smtp and with all four, the others with all four)")
	rtt := flag.Duration("rtt", 50*time.Millisecond, "the round-trip time of the Internet runs")
	throttle := flag.Float64("throttle", 0.1, "the share of token, IMAP and SMTP requests throttled in the throttling runs")
	only := flag.String("only", "", "comma-separated scenario names to run (default: all)")
	profile := flag.String("cpuprofile", "", "a `DIR` to write a CPU profile of each test run to (RUN-CHECKS.pprof; a bench aid)")
	count := flag.Int("count", 1, "how many times to make the runs, all of them in turn (on a shared machine, compare medians)")
	flag.Parse()
	if err := run(*bin, *n, *checks, *rtt, *throttle, *only, *profile, *count); err != nil {
		fmt.Fprintln(os.Stderr, "bench-bulk:", err)
		os.Exit(1)
	}
}

// errProblems: a run printed a problem (false failures, retries not
// noted, a --fresh run that minted too few tokens, a second run that
// minted any); every row is printed first, then the exit status says it.
var errProblems = errors.New("the runs above show problems (the indented lines); the targets are not met")

// issueChecks are the checks issue 12's baseline and --rtt 0 targets were
// measured with.
const issueChecks = "token,imap,smtp"

// defaultChecks are test's checks without --checks.
const defaultChecks = "token,imap,smtp,roundtrip"

func run(bin string, n int, checks string, rtt time.Duration, throttle float64, only, profile string, count int) error {
	dir, err := os.MkdirTemp("", "mailoauth-bench.")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sbDir, db := filepath.Join(dir, "sandbox"), filepath.Join(dir, "mailoauth.db")

	sb := exec.Command(bin, "sandbox", "--dir", sbDir, "--users", fmt.Sprint(n), "--delegate")
	out, err := sb.StdoutPipe()
	if err != nil {
		return err
	}
	var sbErr bytes.Buffer
	sb.Stderr = &sbErr
	if err := sb.Start(); err != nil {
		return err
	}
	defer func() { _ = sb.Process.Signal(syscall.SIGTERM); _ = sb.Wait() }()
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("sandbox said %q", line)
		}
		ready <- err
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("sandbox: %v: %s", err, sbErr.String())
		}
	case <-time.After(2 * time.Minute):
		return errors.New("the sandbox did not get ready in 2 minutes")
	}
	var ep struct {
		AdminURL string `json:"admin_url"`
	}
	raw, err := os.ReadFile(filepath.Join(sbDir, "endpoints.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &ep); err != nil {
		return err
	}

	mo := func(args ...string) error {
		c := exec.Command(bin, append([]string{"--db", db}, args...)...)
		if b, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("mailoauth %s: %v: %s", strings.Join(args, " "), err, b)
		}
		return nil
	}
	if err := mo("setup", "--domain", "example.test", "--sender", "admin@example.test",
		"--key", filepath.Join(sbDir, "service-account.json"), "--endpoints", filepath.Join(sbDir, "endpoints.json")); err != nil {
		return err
	}
	var csv strings.Builder
	csv.WriteString("email,display_name,owner_kind,owner_name\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&csv, "user%d@example.test,User %d,user,Agent %d\n", i, i, i)
	}
	csvPath := filepath.Join(dir, "mailboxes.csv")
	if err := os.WriteFile(csvPath, []byte(csv.String()), 0o600); err != nil {
		return err
	}
	if err := mo("mailbox", "import", csvPath); err != nil {
		return err
	}

	ms := rtt.Milliseconds()
	th := fmt.Sprintf(`"throttle":{"token":%g,"imap":%g,"smtp":%g}`, throttle, throttle, throttle)
	rtt0 := []scenario{
		{name: "rtt0-fresh", faults: `{}`, args: []string{"--fresh"}},
		{name: "rtt0-second", faults: `{}`, second: true},
	}
	var scenarios []scenario
	if checks == "" {
		for _, s := range rtt0 {
			s.checks = issueChecks
			scenarios = append(scenarios, s)
		}
	}
	scenarios = append(scenarios, rtt0...)
	scenarios = append(scenarios, []scenario{
		{name: fmt.Sprintf("rtt%d", ms), faults: fmt.Sprintf(`{"rtt_ms":%d}`, ms)},
		{name: fmt.Sprintf("rtt%d-fresh", ms), faults: fmt.Sprintf(`{"rtt_ms":%d}`, ms), args: []string{"--fresh"}},
		{name: "rtt0-fresh-throttled", faults: "{" + th + "}", args: []string{"--fresh"}},
		{name: fmt.Sprintf("rtt%d-fresh-throttled", ms), faults: fmt.Sprintf(`{"rtt_ms":%d,%s}`, ms, th), args: []string{"--fresh"}},
	}...)
	if checks != "" {
		for i := range scenarios {
			scenarios[i].checks = checks
		}
	}
	want := map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}

	host, _ := os.Hostname()
	fmt.Printf("mailoauth bench-bulk: %d mailboxes (+ the default sender), %s/%s, %d CPUs, Go %s, host %s, %s\n",
		n, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), host, cpuModel())
	fmt.Println("runs: rttN = the sandbox's --rtt; -fresh = test --all --fresh (a token minted for every mailbox), else default flags")
	if checks == "" {
		fmt.Printf("checks: %s = issue 12's baseline and --rtt 0 targets; %s = the default (adds the round trip: a message sent and found)\n",
			issueChecks, defaultChecks)
	}
	fmt.Println("load: the machine's 1-minute load average as the run started (other work on it inflates CPU per mailbox)")
	failed := false
	fmt.Printf("%-20s %-25s %9s %8s %11s %9s %9s %7s %7s %9s %5s %6s %5s\n", "run", "checks", "mailboxes", "wall s", "mailboxes/s", "CPU ms/mb", "sandbox", "RSS MB", "tokens", "throttled", "peak", "failed", "load")
	var runs []scenario
	for range max(count, 1) {
		for _, s := range scenarios {
			if len(want) == 0 || want[s.name] {
				runs = append(runs, s)
			}
		}
	}
	for _, s := range runs {
		if err := post(ep.AdminURL+"/faults", s.faults); err != nil {
			return err
		}
		before, err := minted(ep.AdminURL)
		if err != nil {
			return err
		}
		args := []string{"--db", db, "test", "--json", "--all"}
		if s.checks != "" {
			args = append(args, "--checks", s.checks)
		}
		c := exec.Command(bin, append(args, s.args...)...)
		if profile != "" {
			c.Env = append(os.Environ(), "MAILOAUTH_CPUPROFILE="+
				filepath.Join(profile, s.name+"-"+strings.ReplaceAll(orDefault(s.checks, "default"), ",", "+")+".pprof"))
		}
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		sbCPU0 := processCPU(sb.Process.Pid)
		load := loadAverage()
		start := time.Now()
		runErr := c.Run()
		wall := time.Since(start)
		var ee *exec.ExitError
		if runErr != nil && !errors.As(runErr, &ee) {
			return runErr
		}
		sbCPU := time.Duration(-1)
		if sbCPU1 := processCPU(sb.Process.Pid); sbCPU0 >= 0 && sbCPU1 >= 0 {
			sbCPU = sbCPU1 - sbCPU0
		}
		ru, _ := c.ProcessState.SysUsage().(*syscall.Rusage)
		sum, noted, err := parse(stdout.Bytes())
		if err != nil {
			return fmt.Errorf("%s: %v; stderr: %s", s.name, err, stderr.String())
		}
		after, err := minted(ep.AdminURL)
		if err != nil {
			return err
		}
		cpu := time.Duration(0)
		rss := int64(0)
		if ru != nil {
			cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			rss = int64(ru.Maxrss) / 1024 // KiB on Linux
		}
		fmt.Printf("%-20s %-25s %9d %8.2f %11.0f %9.2f %9s %7d %7d %9d %5d %6d %5s\n", s.name, orDefault(s.checks, defaultChecks), sum.Total, wall.Seconds(),
			float64(sum.Total)/wall.Seconds(), float64(cpu.Microseconds())/1000/float64(max(sum.Total, 1)), perMailbox(sbCPU, sum.Total), rss,
			after-before, sum.ThrottledRetries, sum.PeakConcurrency, sum.Failed, load)
		for _, p := range problems(s, sum, noted, after-before, stdout.Bytes()) {
			fmt.Printf("  %s: %s\n", s.name, p)
			failed = true
		}
	}
	if failed {
		return errProblems
	}
	return nil
}

// problems are what a run's output and the tokens it minted show wrong,
// one line each.
func problems(s scenario, sum summary, noted, tokens int, out []byte) []string {
	var p []string
	if sum.ThrottledRetries != noted {
		p = append(p, fmt.Sprintf("%d throttled retries but %d noted on results", sum.ThrottledRetries, noted))
	}
	if sum.Failed > 0 {
		p = append(p, fmt.Sprintf("%d mailboxes reported failed (false failures); first: %s", sum.Failed, firstFailure(out)))
	}
	if slices.Contains(s.args, "--fresh") && tokens < sum.Total {
		p = append(p, fmt.Sprintf("--fresh minted %d tokens for %d mailboxes: some passed on a cached token", tokens, sum.Total))
	}
	if s.second && tokens != 0 {
		p = append(p, fmt.Sprintf("a second run within the tokens' lifetime minted %d tokens", tokens))
	}
	return p
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func post(url, body string) error {
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST %s %s: %s %s", url, body, resp.Status, b)
	}
	return nil
}

func minted(adminURL string) (int, error) {
	resp, err := http.Get(adminURL + "/state")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st struct {
		TokensMinted int `json:"tokens_minted"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, err
	}
	return st.TokensMinted, nil
}

// parse reads the JSON lines of `test --json`: the summary, and the retries
// noted on the results ("throttled, retried N times").
func parse(out []byte) (summary, int, error) {
	var sum summary
	noted := 0
	found := false
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var line struct {
			Summary *summary `json:"summary"`
			Notes   []string `json:"notes"`
		}
		if err := dec.Decode(&line); err != nil {
			return sum, 0, err
		}
		if line.Summary != nil {
			sum, found = *line.Summary, true
		}
		for _, note := range line.Notes {
			var k int
			if _, err := fmt.Sscanf(note, "throttled, retried %d", &k); err == nil {
				noted += k
			}
		}
	}
	if !found {
		return sum, 0, errors.New("no summary line in the output")
	}
	return sum, noted, nil
}

func firstFailure(out []byte) string {
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var line struct {
			Mailbox string          `json:"mailbox"`
			OK      bool            `json:"ok"`
			Finding json.RawMessage `json:"finding"`
		}
		if dec.Decode(&line) != nil {
			break
		}
		if line.Mailbox != "" && !line.OK {
			return line.Mailbox + " " + string(line.Finding)
		}
	}
	return "?"
}

// loadAverage is the machine's 1-minute load average (/proc/loadavg), or
// "-" where it cannot be read.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "-"
}

// processCPU is the user and system CPU time process pid has used so far,
// from /proc (Linux); -1 where it cannot be read.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The fields after the command name (which may hold spaces) in
	// parentheses: state is the first, utime and stime the 12th and 13th.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// perMailbox is the sandbox's CPU ms per mailbox of a run, or "-" where
// its CPU time could not be read.
func perMailbox(d time.Duration, n int) string {
	if d < 0 || n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000/float64(n))
}
