package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// fang lays a command's subcommands and flags out in two columns, the
// key ("-d --db PATH", "cert [--flags]") and its description, but never
// wraps the description: on an 80-column terminal each long one runs past
// the edge and the terminal folds it under the keys. It does keep the
// lines of a description that has several in the second column, so
// wrapColumns breaks each description at fang's width beforehand. The
// layout constants and the key texts mirror fang v2's help.go;
// TestHelpFitsIn80Columns notices when fang changes them.
const (
	helpKeyIndent = 4  // fang's longPad
	helpMinKeys   = 10 // fang's minSpace
	helpKeyGap    = 2  // fang's spaceBetween
	helpMaxWidth  = 120
	helpMinColumn = 24 // narrower than this, wrapping helps no one
)

// helpWidth is the width fang renders help at: the terminal's, at most
// 120, and 120 when standard output is no terminal.
func helpWidth() int {
	if s := os.Getenv("__FANG_TEST_WIDTH"); s != "" {
		w, _ := strconv.Atoi(s)
		return w
	}
	w, _, err := term.GetSize(os.Stdout.Fd())
	if err != nil {
		return helpMaxWidth
	}
	return min(w, helpMaxWidth)
}

// wrapColumns breaks the descriptions of c's subcommands and flags so that
// each line fits the help's width. Help is the last thing a run does, so
// changing them in place is safe.
func wrapColumns(c *cobra.Command, width int) {
	keys := helpMinKeys
	var cmds []*cobra.Command
	for _, sc := range c.Commands() {
		if !sc.Hidden {
			cmds = append(cmds, sc)
			keys = max(keys, ansi.StringWidth(commandKey(sc))+helpKeyGap)
		}
	}
	var flags []*pflag.Flag
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			flags = append(flags, f)
			keys = max(keys, ansi.StringWidth(flagHelpKey(f))+helpKeyGap)
		}
	})
	column := width - helpKeyIndent - keys
	if column < helpMinColumn {
		return
	}
	for _, sc := range cmds {
		sc.Short = wrapWords(sc.Short, column, "")
	}
	for _, f := range flags {
		suffix := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			suffix = " (" + f.DefValue + ")" // fang appends it to the last line
		}
		f.Usage = wrapWords(f.Usage, column, suffix)
	}
}

// wrapWords breaks s at spaces into lines of at most width columns (a
// word longer than that stands alone), leaving room on the last line for
// suffix, which the caller appends. Only at spaces: "--db" or a path must
// not be split at its hyphens or slashes.
func wrapWords(s string, width int, suffix string) string {
	if strings.Contains(s, "\n") || ansi.StringWidth(s+suffix) <= width {
		return s
	}
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case ansi.StringWidth(line+" "+word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if ansi.StringWidth(line+suffix) > width {
		lines = append(lines, line)
		line = "" // the suffix goes alone on the next line
	}
	return strings.Join(append(lines, line), "\n")
}

// flagHelpKey is the key fang shows for f (its name carries the value's
// name by then, see showValueNames).
func flagHelpKey(f *pflag.Flag) string {
	if f.Shorthand == "" {
		return "--" + f.Name
	}
	return "-" + f.Shorthand + " --" + f.Name
}

// optionalArgs matches what fang takes for the optional arguments of a
// use line.
var optionalArgs = regexp.MustCompile(`(\[.*\])`)

// commandKey is the key fang shows for the subcommand sc: its use line
// with its markers ordered as fang orders them.
func commandKey(sc *cobra.Command) string {
	u := sc.Use
	hasArgs := strings.Contains(u, "[args]")
	hasFlags := strings.Contains(u, "[flags]") || strings.Contains(u, "[--flags]") || sc.HasFlags() || sc.HasPersistentFlags() || sc.HasAvailableFlags()
	hasCommands := strings.Contains(u, "[command]") || sc.HasAvailableSubCommands()
	for _, k := range []string{"[args]", "[flags]", "[--flags]", "[command]"} {
		u = strings.ReplaceAll(u, k, "")
	}
	var other []string
	for _, a := range optionalArgs.FindAllString(u, -1) {
		u = strings.ReplaceAll(u, a, "")
		other = append(other, a)
	}
	key := strings.TrimSpace(u)
	if hasCommands {
		key += " [command]"
	}
	if hasArgs {
		key += " [args]"
	}
	for _, a := range other {
		key += " " + a
	}
	if hasFlags {
		key += " [--flags]"
	}
	return key
}
