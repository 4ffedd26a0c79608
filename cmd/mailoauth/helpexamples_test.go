package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"
)

// TestHelpExamplesNotCutAt80Columns: on an 80-column terminal fang cuts an
// example line longer than its box (72 columns) with "…", hiding the very
// value an administrator came to copy. Every command's examples fit, long
// ones continued with " \" on indented lines.
func TestHelpExamplesNotCutAt80Columns(t *testing.T) {
	eachHelpAt80Columns(t, func(c *cobra.Command, help string) {
		_, examples, _ := strings.Cut(help, "EXAMPLES")
		examples, _, _ = strings.Cut(examples, "\n  COMMANDS")
		examples, _, _ = strings.Cut(examples, "\n  FLAGS")
		for _, line := range strings.Split(examples, "\n") {
			if strings.Contains(line, "…") {
				t.Errorf("%s --help at 80 columns cuts an example: %q", c.CommandPath(), strings.TrimSpace(line))
			}
		}
	})
}

// eachHelpAt80Columns runs check on the --help of every command, rendered
// as on an 80-column terminal; it returns the store path the runs used.
func eachHelpAt80Columns(t *testing.T, check func(c *cobra.Command, help string)) string {
	t.Helper()
	t.Setenv("__FANG_TEST_WIDTH", "80") // fang's width when stdout is no terminal
	root := newRootCmd(&app{})
	db := filepath.Join(t.TempDir(), "none.db")
	for _, c := range append([]*cobra.Command{root}, allCommands(root)...) {
		path := strings.Fields(c.CommandPath())[1:]
		r := mailoauth(t, db, append(path, "--help")...)
		if r.code != 0 {
			t.Errorf("%s --help: exit %d, stderr %q", c.CommandPath(), r.code, r.stderr)
			continue
		}
		check(c, r.stdout)
	}
	return db
}

// TestManExamplesKeepContinuationIndent: the manual page shows a long
// example as the help does, its continued lines indented under the first.
func TestManExamplesKeepContinuationIndent(t *testing.T) {
	r := mailoauth(t, filepath.Join(t.TempDir(), "none.db"), "man")
	if want := "mailoauth setup \\-\\-domain yourcompany.example \\e\n  \\-\\-sender administrator@yourcompany.example"; !strings.Contains(r.stdout, want) {
		t.Errorf("the manual page does not indent setup's continued example line (want %q)", want)
	}
}

// TestHelpFitsIn80Columns: on an 80-column terminal no line of any
// command's help runs past the edge (the terminal would fold a flag's
// description under the flags), and a wrapped description keeps its words
// and its default.
func TestHelpFitsIn80Columns(t *testing.T) {
	db := eachHelpAt80Columns(t, func(c *cobra.Command, help string) {
		for _, line := range strings.Split(help, "\n") {
			if w := ansi.StringWidth(strings.TrimRight(line, " ")); w > 80 {
				t.Errorf("%s --help at 80 columns: a line of %d columns: %q", c.CommandPath(), w, strings.TrimSpace(line))
			}
		}
	})
	r := mailoauth(t, db, "proxy", "--help")
	flat := strings.Join(strings.Fields(r.stdout), " ")
	for _, want := range []string{
		"--max-per-mailbox N At most N simultaneous IMAP (and, separately, SMTP and POP3) sessions per mailbox; Gmail allows 15 IMAP connections per account (10)",
		"--smtp HOST:PORT The SMTP submission listener HOST:PORT with STARTTLS (a login without it only on a loopback address); empty: none (127.0.0.1:1587)",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("proxy --help at 80 columns lost words of a description; want %q in\n%s", want, r.stdout)
		}
	}
}
