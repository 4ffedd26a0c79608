package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// `test --help` (and so the man page, made from the same flags) and the
// README's Commands section say when a bulk run halves its window as the
// runner does it: only on global-rate replies, when they are over a quarter
// of a window's attempts, at most once a window; a per-account throttle
// backs off its mailbox only. Neither may say it halves at any throttling
// reply.
func TestConcurrencyHelpSaysWhenTheRunHalves(t *testing.T) {
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// the README's command block is shell comments: drop each line's "#"
	flatten := func(s string) string {
		s = regexp.MustCompile(`(?m)^#\s*`).ReplaceAllString(s, "")
		return strings.Join(strings.Fields(s), " ")
	}
	wrong := regexp.MustCompile(`(?i)halves (at a|at any|on a|on any|when it does|at each)`)
	r := mailoauth(t, db, "test", "--help")
	if r.code != 0 {
		t.Fatalf("test --help: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	man := mailoauth(t, db, "man")
	for what, text := range map[string]string{"test --help": r.stdout, "man": strings.ReplaceAll(man.stdout, `\-`, "-"), "README": string(readme)} {
		flat := flatten(text)
		if !strings.Contains(flat, flatten(core.ConcurrencyRule)) {
			t.Errorf("%s lacks the halving rule %q", what, core.ConcurrencyRule)
		}
		if m := wrong.FindString(flat); m != "" {
			t.Errorf("%s still says the run %q", what, m)
		}
	}
}
