package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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
