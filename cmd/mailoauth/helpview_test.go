package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
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
