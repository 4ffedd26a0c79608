package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// What the help, the manual page and the README say about a behaviour, in
// the words core gives them, so the documents cannot drift from the code.

// flatDoc is text as a reader sees it: words separated by single spaces,
// the "#" of the README's shell-comment lines dropped.
func flatDoc(s string) string {
	s = regexp.MustCompile(`(?m)^#\s*`).ReplaceAllString(s, "")
	return strings.Join(strings.Fields(s), " ")
}

// readme is the README, flattened.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return flatDoc(string(b))
}

// helpOf runs mailoauth with args (a --help or man) and returns what it
// printed, flattened; it must exit 0.
func helpOf(t *testing.T, args ...string) string {
	t.Helper()
	r := mailoauth(t, filepath.Join(t.TempDir(), "mailoauth.db"), args...)
	if r.code != 0 {
		t.Fatalf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
	}
	return flatDoc(strings.ReplaceAll(r.stdout, `\-`, "-")) // man escapes its hyphens
}

// `test --help` (and so the man page, made from the same flags) and the
// README's Commands section say when a bulk run halves its window as the
// runner does it: only on global-rate replies, when they are over a quarter
// of a window's attempts, at most once a window; a per-account throttle
// backs off its mailbox only. Neither may say it halves at any throttling
// reply.
func TestConcurrencyHelpSaysWhenTheRunHalves(t *testing.T) {
	wrong := regexp.MustCompile(`(?i)halves (at a|at any|on a|on any|when it does|at each)`)
	for what, text := range map[string]string{"test --help": helpOf(t, "test", "--help"), "man": helpOf(t, "man"), "README": readme(t)} {
		if !strings.Contains(text, flatDoc(core.ConcurrencyRule)) {
			t.Errorf("%s lacks the halving rule %q", what, core.ConcurrencyRule)
		}
		if m := wrong.FindString(text); m != "" {
			t.Errorf("%s still says the run %q", what, m)
		}
	}
}

// `key inspect --help` and the README say how to recognise key creation
// blocked by an organization policy, the exact fix, and that the OAuth
// client path needs no key, in core's words.
func TestKeyInspectHelpAndReadmeExplainKeyCreationPolicy(t *testing.T) {
	for what, text := range map[string]string{"key inspect --help": helpOf(t, "key", "inspect", "--help"), "key --help": helpOf(t, "key", "--help"), "README": readme(t)} {
		for _, want := range append([]string{core.KeyPolicyHint}, core.KeyPolicyHelp...) {
			if !strings.Contains(text, flatDoc(want)) {
				t.Errorf("%s lacks %q", what, want)
			}
		}
	}
}
