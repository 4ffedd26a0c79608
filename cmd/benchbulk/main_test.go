package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProblemsMakeTheExitStatus: a run that shows a problem makes `make
// bench-bulk` fail (after every row is printed), so a script notices; a
// clean run does not. The second run alone, with no run before it to
// cache the tokens, mints them: a problem.
func TestProblemsMakeTheExitStatus(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mailoauth")
	if out, err := exec.Command("go", "build", "-o", bin, "../mailoauth").CombinedOutput(); err != nil {
		t.Fatalf("building mailoauth: %v\n%s", err, out)
	}
	quiet(t)
	if err := run(bin, 2, "token", 50*time.Millisecond, 0, "rtt0-fresh", "", 1); err != nil {
		t.Fatalf("a clean --fresh run: %v", err)
	}
	if err := run(bin, 2, "token", 50*time.Millisecond, 0, "rtt0-second", "", 1); !errors.Is(err, errProblems) {
		t.Fatalf("a second run that minted every token returned %v, want errProblems", err)
	}
}

// quiet sends the rows the runs print to a file for the test's log.
func quiet(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = f
	t.Cleanup(func() {
		os.Stdout = old
		b, _ := os.ReadFile(f.Name())
		f.Close()
		t.Logf("bench-bulk printed:\n%s", b)
	})
}

func TestProblemsOfARun(t *testing.T) {
	fresh := scenario{name: "rtt0-fresh", args: []string{"--fresh"}}
	second := scenario{name: "rtt0-second", second: true}
	failedOut := []byte(`{"mailbox":"user1@example.test","ok":false,"finding":{"code":"throttled"}}` + "\n")
	for _, c := range []struct {
		s      scenario
		sum    summary
		noted  int
		tokens int
		want   string // "" = no problem
	}{
		{fresh, summary{Total: 2, OK: 2}, 0, 2, ""},
		{fresh, summary{Total: 2, OK: 1, Failed: 1}, 0, 2, "(false failures); first: user1@example.test"},
		{fresh, summary{Total: 2, OK: 2}, 0, 1, "--fresh minted 1 tokens for 2 mailboxes"},
		{fresh, summary{Total: 2, OK: 2, ThrottledRetries: 3}, 2, 2, "3 throttled retries but 2 noted"},
		{second, summary{Total: 2, OK: 2}, 0, 0, ""},
		{second, summary{Total: 2, OK: 2}, 0, 2, "second run within the tokens' lifetime minted 2"},
	} {
		got := strings.Join(problems(c.s, c.sum, c.noted, c.tokens, failedOut), "; ")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s %+v noted %d tokens %d: problems %q, want %q", c.s.name, c.sum, c.noted, c.tokens, got, c.want)
		}
	}
}
