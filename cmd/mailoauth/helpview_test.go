package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mailoauth/mailoauth/core"
)

// TestHelpSummariesReadRight: fang title-cases the first word of each
// command's summary in its parent's help, so a summary that starts with an
// acronym ("IMAP/SMTP proxy") reads "Imap/Smtp proxy", and one that starts
// with a command line ("key inspect FILE: ...") reads as a command spelled
// with a capital ("Key inspect FILE"). Every summary starts with a plain
// lower-case word that begins no command path.
func TestHelpSummariesReadRight(t *testing.T) {
	root := newRootCmd(&app{})
	paths := map[string]bool{}
	for _, c := range allCommands(root) {
		paths[strings.Join(strings.Fields(c.CommandPath())[1:], " ")] = true
	}
	for _, c := range append([]*cobra.Command{root}, allCommands(root)...) {
		words := strings.Fields(c.Short)
		if len(words) < 2 {
			t.Errorf("%s: summary %q is not a phrase", c.CommandPath(), c.Short)
			continue
		}
		if words[0] != strings.ToLower(words[0]) {
			t.Errorf("%s: summary %q starts with %q, which the help title-cases (IMAP reads Imap); start with a lower-case word",
				c.CommandPath(), c.Short, words[0])
		}
		if two := words[0] + " " + words[1]; paths[two] {
			t.Errorf("%s: summary %q starts with the command %q, which the help shows capitalised; say what it does first",
				c.CommandPath(), c.Short, two)
		}
	}
}

// TestHelpDefaultsTruthful: a flag whose usage says its own default (e.g.
// --roundtrip-timeout: "default 3 times --timeout") must not also show
// pflag's zero value beside it, as in "... 3 times --timeout: 1m0s ... (0s)":
// the help and the manual page show one default, the true one.
func TestHelpDefaultsTruthful(t *testing.T) {
	root := newRootCmd(&app{})
	for _, c := range append([]*cobra.Command{root}, allCommands(root)...) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if !strings.Contains(strings.ToLower(f.Usage), "default") {
				return
			}
			switch f.DefValue {
			case "", "false", "0", "[]": // fang and the manual page show none
				return
			}
			t.Errorf("%s --%s: the usage states its default, yet the help also shows (%s): %q",
				c.CommandPath(), f.Name, f.DefValue, f.Usage)
		})
	}
	db := filepath.Join(t.TempDir(), "none.db")
	if r := mailoauth(t, db, "test", "--help"); strings.Contains(r.stdout, "(0s)") {
		t.Errorf("test --help shows a default of 0s:\n%s", r.stdout)
	}
}

// TestFlagValueErrorsSayWhatToType: a flag value that does not parse is
// refused (exit 2) in the administrator's words, with an example, never
// with Go's parser message such as "strconv.ParseInt: parsing".
func TestFlagValueErrorsSayWhatToType(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"test", "--concurrency", "abc"}, `--concurrency "abc" is not a whole number; e.g. --concurrency 128`},
		{[]string{"test", "--timeout", "5x"}, `--timeout "5x" is not a duration such as 30s, 5m or 1h; e.g. --timeout 20s`},
		{[]string{"watch", "--interval", "5"}, `--interval "5" is not a duration`},
		{[]string{"test", "--fresh=maybe"}, `--fresh takes no value`},
		{[]string{"mailbox", "ls", "--json=2"}, `--json takes no value`},
	} {
		r := mailoauth(t, db, c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with %q", c.args, r.code, r.stderr, c.want)
		}
		for _, goText := range []string{"strconv.", "time:", "invalid syntax", "invalid argument"} {
			if strings.Contains(r.stderr, goText) {
				t.Errorf("%v: stderr shows Go's %q: %q", c.args, goText, r.stderr)
			}
		}
	}
}

// TestSandboxHelpHidesStoreFlags: the sandbox uses no store and no profile,
// so its help does not offer -d --db or -p --profile.
func TestSandboxHelpHidesStoreFlags(t *testing.T) {
	r := mailoauth(t, filepath.Join(t.TempDir(), "s.db"), "sandbox", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "--dir") || strings.Contains(r.stdout, "--db") || strings.Contains(r.stdout, "--profile") {
		t.Errorf("sandbox --help: exit %d\n%s", r.code, r.stdout)
	}
}

// TestConcurrencyOutOfRangeIsRefused: test and upgrade take the same
// --concurrency ceilings and refuse others before anything runs (exit 2),
// saying which values to use.
func TestConcurrencyOutOfRangeIsRefused(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none.db")
	want := fmt.Sprintf("use 1 to %d", core.MaxConcurrency)
	for _, args := range [][]string{
		{"test", "--all", "--concurrency", "0"},
		{"upgrade", "--yes", "--concurrency", "0"},
		{"upgrade", "--yes", "--concurrency", "100000"},
	} {
		r := mailoauth(t, db, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "--concurrency") || !strings.Contains(r.stderr, want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming --concurrency and %q", args, r.code, r.stderr, want)
		}
	}
}
