package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// `key inspect --help` and the README say how to recognise key creation
// blocked by an organization policy, the exact fix, and that the OAuth
// client path needs no key, in core's words.
func TestKeyInspectHelpAndReadmeExplainKeyCreationPolicy(t *testing.T) {
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	flatten := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for _, args := range [][]string{{"key", "inspect", "--help"}, {"key", "--help"}} {
		r := mailoauth(t, db, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		out := flatten(r.stdout)
		for _, want := range append([]string{core.KeyPolicyHint}, core.KeyPolicyHelp...) {
			if !strings.Contains(out, want) {
				t.Errorf("%v lacks %q:\n%s", args, want, r.stdout)
			}
		}
	}
	for _, want := range append([]string{core.KeyPolicyHint}, core.KeyPolicyHelp...) {
		if !strings.Contains(flatten(string(readme)), want) {
			t.Errorf("README lacks %q", want)
		}
	}
}
