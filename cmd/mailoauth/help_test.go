package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestHelpFile keeps help.txt and the commands in step: the file parses,
// every command of the tree (help included) takes its words from an entry
// of its own path, and every entry names a command.
func TestHelpFile(t *testing.T) {
	if helpFileErr != nil {
		t.Fatalf("help.txt is malformed:\n%v", helpFileErr)
	}
	root := newRootCmd(&app{})
	root.InitDefaultHelpCmd() // the help command joins the tree when it runs
	used := map[string]bool{}
	for _, c := range append([]*cobra.Command{root}, allCommands(root)...) {
		path := strings.TrimPrefix(strings.TrimPrefix(c.CommandPath(), "mailoauth"), " ")
		e, ok := helpEntries[path]
		switch {
		case !ok:
			t.Errorf("%q has no entry in help.txt (## %s ...)", c.CommandPath(), c.CommandPath())
		case c.Use != e.use || c.Short != e.short || c.Example != e.example:
			t.Errorf("%q is built from another command's entry (withHelp or command with a wrong path?): Use %q, entry %q", c.CommandPath(), c.Use, e.use)
		}
		used[path] = true
	}
	for path := range helpEntries {
		if !used[path] {
			t.Errorf("help.txt has an entry for %q, which is no command", strings.TrimSpace("mailoauth "+path))
		}
	}
}

// TestHelpFileFormat reads entries as help.txt's preamble says and refuses
// malformed ones with the line they start on.
func TestHelpFileFormat(t *testing.T) {
	good := "preamble, not help\n## notes\n\n" +
		"## mailoauth proxy password ADDR [--rotate]\nmake a password\n\n" +
		"First paragraph\nwrapped here.\n\nSecond, with {{csv-header}}.\n\n" +
		"example:\n# a comment\nmailoauth proxy password a@b.example \\\n  --rotate\n\n\n" +
		"## mailoauth\nthe tool\nexample:\nmailoauth\n"
	entries, err := parseHelp(strings.Replace(good, "## notes\n", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	want := helpEntry{
		use:     "password ADDR [--rotate]",
		short:   "make a password",
		long:    "First paragraph wrapped here.\n\nSecond, with email,display_name,owner_kind,owner_name.",
		example: "# a comment\nmailoauth proxy password a@b.example \\\n  --rotate",
	}
	if got := entries["proxy password"]; got != want {
		t.Errorf("proxy password:\n got %#v\nwant %#v", got, want)
	}
	if got := entries[""]; got != (helpEntry{use: "mailoauth", short: "the tool", example: "mailoauth"}) {
		t.Errorf("root: %#v", got)
	}
	for name, text := range map[string]string{
		"not mailoauth":    "## notes\n",
		"no summary":       "## mailoauth x\n\nexample:\nmailoauth x\n",
		"no example":       "## mailoauth x\nsummary\n\nlong\n",
		"two-line summary": "## mailoauth x\nsummary\nmore summary\nexample:\nmailoauth x\n",
		"unknown var":      "## mailoauth x\nsummary\n\n{{nope}}\nexample:\nmailoauth x\n",
		"open var":         "## mailoauth x\nsummary\n\n{{csv-header\nexample:\nmailoauth x\n",
		"twice":            "## mailoauth x\nsummary\nexample:\nmailoauth x\n## mailoauth x A\ns\nexample:\nmailoauth x\n",
	} {
		want := "help.txt line 2: "
		if name == "twice" {
			want = "help.txt line 6: " // the second entry
		}
		if _, err := parseHelp("preamble\n" + text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one starting %q", name, err, want)
		}
	}
}

// TestHelpMissingEntryFallsBack: a command without an entry still works
// (named by its path's last word) instead of panicking.
func TestHelpMissingEntryFallsBack(t *testing.T) {
	for path, use := range map[string]string{"proxy frob": "frob", "frob": "frob", "": "mailoauth"} {
		saved := helpEntries
		helpEntries = map[string]helpEntry{}
		c := withHelp(path, &cobra.Command{})
		helpEntries = saved
		if c.Use != use || c.Short != "" {
			t.Errorf("withHelp(%q) without an entry: Use %q Short %q, want Use %q", path, c.Use, c.Short, use)
		}
	}
}

// TestSynopsisArgs: the number of arguments a command takes is its
// synopsis's, and a wrong number says so with the synopsis and an example.
func TestSynopsisArgs(t *testing.T) {
	example := "# a comment\nmailoauth frob\nmailoauth frob a@b.example \\\n  --all   # note"
	for _, c := range []struct {
		use      string
		ok, fail []int // numbers of arguments accepted, refused
		want     string
	}{
		{"frob", []int{0}, []int{1}, "frob takes no arguments, e.g. mailoauth frob a@b.example --all"},
		{"frob ADDR [--rotate]", []int{1}, []int{0, 2}, "frob takes one argument (mailoauth frob ADDR), e.g. mailoauth frob a@b.example --all"},
		{"frob [ADDR]", []int{0, 1}, []int{2}, "frob takes at most one argument (mailoauth frob [ADDR])"},
		{"frob [ADDR...]", []int{0, 1, 5}, nil, ""},
		{"frob ADDR...", []int{1, 5}, []int{0}, "frob takes at least one argument (mailoauth frob ADDR...)"},
		{"frob FILE ADDR", []int{2}, []int{1, 3}, "frob takes two arguments (mailoauth frob FILE ADDR)"},
		{"frob FILE [ADDR]", []int{1, 2}, []int{0, 3}, "frob takes one to two arguments (mailoauth frob FILE [ADDR])"},
	} {
		check := synopsisArgs("frob", synopsisWords(c.use), example)
		for _, n := range c.ok {
			if err := check(nil, make([]string, n)); err != nil {
				t.Errorf("%s with %d arguments: %v", c.use, n, err)
			}
		}
		for _, n := range c.fail {
			err := check(nil, make([]string, n))
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s with %d arguments: %v; want a usage error with %q", c.use, n, err, c.want)
			}
		}
	}
}
