package main

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core/mailboxcsv"
)

// helpFile is every command's help text (Use, Short, Long, Example), in the
// format its preamble describes: the words in one place for review, the
// behaviour in cmd_NAME.go.
//
//go:embed help.txt
var helpFile string

// helpEntry is one command's help text.
type helpEntry struct{ use, short, long, example string }

// helpEntries is helpFile by command path ("" for mailoauth itself,
// "proxy password"); helpFileErr is what is wrong with the file
// (TestHelpFile fails on it).
var helpEntries, helpFileErr = parseHelp(helpFile)

// helpVars are the {{name}}s of help.txt: texts the code shares with other
// output, so they are written once.
var helpVars = map[string]func() string{
	"key-policy": keyPolicyText,
	"csv-header": func() string { return strings.Join(mailboxcsv.Header, ",") },
}

// withHelp fills c's Use, Short, Long and Example from help.txt's entry for
// the command path and, unless c has its own, its Args (synopsisArgs) and
// the completion of its arguments (argCompletions) from the entry's
// synopsis, and returns c. Without an entry (TestHelpFile fails first) the
// command keeps working, named by the path's last word.
func withHelp(path string, c *cobra.Command) *cobra.Command {
	e, ok := helpEntries[path]
	if !ok {
		e.use = path[strings.LastIndex(path, " ")+1:]
		if e.use == "" {
			e.use = "mailoauth"
		}
	}
	c.Use, c.Short, c.Long, c.Example = e.use, e.short, e.long, e.example
	words := synopsisWords(e.use)
	if c.Args == nil {
		c.Args = synopsisArgs(path, words, e.example)
	}
	if c.ValidArgsFunction == nil && c.ValidArgs == nil && len(words) > 0 {
		c.ValidArgsFunction = argCompletions[strings.Trim(words[0], "[].")]
	}
	return c
}

// synopsisWords are the arguments of a synopsis ("token ADDR": ADDR), its
// flags ([--rotate]) left out.
func synopsisWords(use string) []string {
	var words []string
	for _, w := range strings.Fields(use)[1:] {
		if !strings.HasPrefix(strings.TrimLeft(w, "["), "-") {
			words = append(words, w)
		}
	}
	return words
}

// synopsisArgs checks a command's positional arguments against the
// synopsis of its entry, the one place that states them: "token ADDR"
// takes one, "history [ADDR]" at most one, "test [ADDR...]" any number,
// "doctor" none. A wrong number is a usage mistake (exit 2) that names the
// synopsis and the first of examples that shows more than the bare command.
func synopsisArgs(path string, words []string, examples string) cobra.PositionalArgs {
	lo, hi := 0, 0 // hi < 0: no limit
	for _, w := range words {
		if !strings.HasPrefix(w, "[") {
			lo++
		}
		if strings.HasSuffix(strings.TrimRight(w, "]"), "...") {
			hi = -1
		} else if hi >= 0 {
			hi++
		}
	}
	return func(_ *cobra.Command, args []string) error {
		if len(args) >= lo && (hi < 0 || len(args) <= hi) {
			return nil
		}
		example := ""
		if ex := helpExample(path, examples); ex != "" {
			example = ", e.g. " + ex
		}
		var count string
		switch {
		case hi == 0:
			return usagef("%s takes no arguments%s", path, example)
		case hi < 0:
			count = "at least " + countArgs(lo)
		case lo == hi:
			count = countArgs(lo)
		case lo == 0:
			count = "at most " + countArgs(hi)
		default:
			count = number(lo) + " to " + countArgs(hi)
		}
		synopsis := strings.Join(append([]string{"mailoauth", path}, words...), " ")
		return usagef("%s takes %s (%s)%s", path, count, synopsis, example)
	}
}

// countArgs spells a number of arguments: "one argument", "two arguments".
func countArgs(n int) string {
	if n == 1 {
		return "one argument"
	}
	return number(n) + " arguments"
}

// number spells a small number in words.
func number(n int) string {
	if words := []string{"no", "one", "two", "three"}; n < len(words) {
		return words[n]
	}
	return fmt.Sprint(n)
}

// helpExample is the first example of the command at path that shows more
// than the bare command (else the bare one), as one line: continued lines
// joined, a trailing comment dropped; "" when no example runs the command.
func helpExample(path, examples string) string {
	cmd := "mailoauth " + path
	first := ""
	for _, ex := range strings.Split(strings.ReplaceAll(examples, "\\\n", " "), "\n") {
		ex, _, _ = strings.Cut(ex, " #")
		ex = strings.Join(strings.Fields(ex), " ")
		switch {
		case ex == cmd && first == "":
			first = ex
		case strings.HasPrefix(ex, cmd+" "):
			return ex
		}
	}
	return first
}

// parseHelp reads help.txt: the entries it could read, and an error naming
// the line of each mistake.
func parseHelp(text string) (map[string]helpEntry, error) {
	entries := map[string]helpEntry{}
	var errs []error
	lines := strings.Split(text, "\n")
	start := -1 // the line of the current entry's "## "
	for i := 0; i <= len(lines); i++ {
		if i < len(lines) && !strings.HasPrefix(lines[i], "## ") {
			continue
		}
		if start >= 0 {
			path, e, err := parseHelpEntry(lines[start:i])
			if _, dup := entries[path]; err == nil && dup {
				err = fmt.Errorf("a second entry for %q", lines[start][3:])
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("help.txt line %d: %w", start+1, err))
			} else {
				entries[path] = e
			}
		}
		start = i
	}
	return entries, errors.Join(errs...)
}

// parseHelpEntry reads one entry, lines from its "## " line to the next.
func parseHelpEntry(lines []string) (string, helpEntry, error) {
	words := strings.Fields(strings.TrimPrefix(lines[0], "## "))
	if len(words) == 0 || words[0] != "mailoauth" {
		return "", helpEntry{}, errors.New(`the "## " line must start with "mailoauth"`)
	}
	n := 1 // words[:n] is the path, the rest the arguments
	for n < len(words) && unicode.IsLower(rune(words[n][0])) {
		n++
	}
	path := strings.Join(words[1:n], " ")
	e := helpEntry{use: strings.Join(words[n-1:], " ")}
	ex := -1
	for i, l := range lines {
		if l == "example:" {
			ex = i
			break
		}
	}
	switch {
	case len(lines) < 2 || strings.TrimSpace(lines[1]) == "":
		return "", e, errors.New("the line after the \"## \" line must be the one-line summary")
	case ex < 0:
		return "", e, errors.New(`no "example:" line (every command has examples)`)
	case ex > 2 && lines[2] != "":
		return "", e, errors.New("the summary must be one line, then a blank line")
	}
	var paras []string
	for _, p := range strings.Split(strings.TrimSpace(strings.Join(lines[2:ex], "\n")), "\n\n") {
		if p != "" {
			paras = append(paras, strings.ReplaceAll(strings.TrimSpace(p), "\n", " "))
		}
	}
	e.short = lines[1]
	e.long = strings.Join(paras, "\n\n")
	e.example = strings.TrimRight(strings.Join(lines[ex+1:], "\n"), "\n")
	var err error
	if e.short, err = expandHelpVars(e.short); err == nil {
		if e.long, err = expandHelpVars(e.long); err == nil {
			e.example, err = expandHelpVars(e.example)
		}
	}
	return path, e, err
}

// expandHelpVars replaces each {{name}} of s by helpVars[name].
func expandHelpVars(s string) (string, error) {
	var b strings.Builder
	for {
		before, rest, ok := strings.Cut(s, "{{")
		b.WriteString(before)
		if !ok {
			return b.String(), nil
		}
		name, after, ok := strings.Cut(rest, "}}")
		v := helpVars[name]
		if !ok || v == nil {
			return "", fmt.Errorf("{{%s}} is none of helpVars", name)
		}
		b.WriteString(v())
		s = after
	}
}
