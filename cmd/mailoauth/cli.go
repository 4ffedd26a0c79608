package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/mailproto"
)

// addHelpFlag gives root its -h/--help: cobra's, except that setting it also
// lets fang's help show each flag as --flag VALUE (showValueNames).
func addHelpFlag(root *cobra.Command) {
	f := root.PersistentFlags().VarPF(&helpFlag{root: root}, "help", "h", "show this help")
	f.NoOptDefVal = "true"
}

type helpFlag struct {
	root *cobra.Command
	on   bool
}

func (h *helpFlag) String() string { return strconv.FormatBool(h.on) }
func (h *helpFlag) Type() string   { return "bool" }
func (h *helpFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	if h.on = v; v {
		showValueNames(h.root)
	}
	return nil
}

// newHelpCmd is `mailoauth help [COMMAND]...`.
func newHelpCmd() *cobra.Command {
	return withHelp("help", &cobra.Command{
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, sc := range cmd.Commands() {
				if sc.IsAvailableCommand() && strings.HasPrefix(sc.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(sc.Name(), sc.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == nil || len(rest) > 0 {
				return usagef("no help for %q: it is not a command; run `mailoauth help` for the list of commands", strings.Join(args, " "))
			}
			showValueNames(root)
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	})
}

// showValueNames makes the help about to be shown print each flag as
// --flag VALUE: fang's help prints a flag by its name only, so right before
// it renders (and nothing else runs after help), each flag of the command
// is renamed "db" -> "db PATH", with the name in back quotes in its usage
// (Go's and pflag's convention), and the usage loses the back quotes.
// flagKey keeps "db PATH" meaning "db" for any lookup.
func showValueNames(root *cobra.Command) {
	if _, ok := root.Annotations[valueNamesShown]; ok {
		return
	}
	if root.Annotations == nil {
		root.Annotations = map[string]string{}
	}
	root.Annotations[valueNamesShown] = "yes"
	render := root.HelpFunc() // fang's, set by fang.Execute
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		c.InheritedFlags() // merges the global flags into c.Flags()
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if strings.Contains(f.Name, " ") {
				return // done already
			}
			name, usage := pflag.UnquoteUsage(f)
			if name = flagValueName(f); name != "" {
				f.Name += " " + name
			}
			f.Usage = usage
		})
		wrapColumns(c, helpWidth())
		render(c, args)
	})
}

const valueNamesShown = "mailoauth.value-names"

// flagKey is the normalization of every flag set of the tree: a flag's name
// up to its first space (see showValueNames).
func flagKey(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	n, _, _ := strings.Cut(name, " ")
	return pflag.NormalizedName(n)
}

// flagValueName is the argument name of a flag: the back-quoted word of its
// usage ("" for a switch such as --all).
func flagValueName(f *pflag.Flag) string {
	if f.NoOptDefVal != "" {
		return ""
	}
	name, _ := pflag.UnquoteUsage(f)
	return name
}

// singleDashLongFlag refuses -db and the like (Go's flag package took them;
// pflag would read -db as -d b): one sentence naming the right spelling.
func singleDashLongFlag(root *cobra.Command, args []string) error {
	long := map[string]bool{}
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
		for _, sc := range c.Commands() {
			visit(sc)
		}
	}
	visit(root)
	for _, arg := range args {
		if arg == "--" {
			return nil
		}
		if len(arg) < 3 || arg[0] != '-' || arg[1] == '-' {
			continue
		}
		name, _, _ := strings.Cut(arg[1:], "=")
		if long[name] {
			return usagef("%s is not a flag; long flags take two dashes: --%s", arg, arg[1:])
		}
	}
	return nil
}

// wrapLongs wraps the Long text of every command at 78 columns, paragraph
// by paragraph: the help's own wrapping breaks words at hyphens
// ("service-" / "account").
func wrapLongs(c *cobra.Command) {
	var ps []string
	for _, p := range strings.Split(c.Long, "\n\n") {
		ps = append(ps, wrapText(p, 78))
	}
	c.Long = strings.Join(ps, "\n\n")
	for _, sc := range c.Commands() {
		wrapLongs(sc)
	}
}

// wrapText breaks a paragraph at spaces into lines of at most width
// columns (a longer word keeps its own line).
func wrapText(s string, width int) string {
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(s) {
		if n > 0 && n+1+len(w) > width {
			b.WriteByte('\n')
			n = 0
		} else if n > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// unknownCommand is the error for a word that names no command of parent.
func unknownCommand(parent *cobra.Command, word string) error {
	hint := ""
	if s := parent.SuggestionsFor(word); len(s) > 0 {
		hint = fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	return usagef("unknown command %q%s; run `%s --help` for the list of commands", word, hint, parent.CommandPath())
}

// command makes the command of mailoauth at path ("token", "proxy
// password"): its words, arguments and their completion come from
// help.txt (withHelp), register adds its flags, bound to a new F, and run
// does its work with the command's context, the app, the positional
// arguments and those flags.
func command[F any](a *app, path string, register func(*F, *cobra.Command), run func(context.Context, *app, []string, *F) error) *cobra.Command {
	o := new(F)
	cmd := withHelp(path, &cobra.Command{})
	register(o, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error { return run(cmd.Context(), a, args, o) }
	return cmd
}

// flaglessCommand is command for a command with no flags of its own
// (doctor, mailbox rm): run gets the command's context, the app and the
// positional arguments.
func flaglessCommand(a *app, path string, run func(context.Context, *app, []string) error) *cobra.Command {
	return withHelp(path, &cobra.Command{
		RunE: func(cmd *cobra.Command, args []string) error { return run(cmd.Context(), a, args) },
	})
}

// inGroup puts each command in the help's group id (commands lists them
// by group).
func inGroup(id string, cmds ...*cobra.Command) []*cobra.Command {
	for _, c := range cmds {
		c.GroupID = id
	}
	return cmds
}

// parentCmd is the command at path that only groups subs (key, mailbox,
// profile): run alone, or with a word that is none of them, it says how to
// use them (exit 2).
func parentCmd(path, synopsis string, subs ...*cobra.Command) *cobra.Command {
	cmd := withHelp(path, &cobra.Command{
		Args: subcommandArgs,
		RunE: func(*cobra.Command, []string) error { return usagef("use `mailoauth %s`", synopsis) },
	})
	cmd.AddCommand(subs...)
	return cmd
}

// newListCmd is `mailoauth NOUN ls [--json]` (alias list) of profile and
// mailbox: list prints the table, or JSON.
func newListCmd(noun string, a *app, list func(a *app, asJSON bool) error) *cobra.Command {
	var asJSON bool
	cmd := withHelp(noun+" ls", &cobra.Command{
		Aliases: []string{"list"},
		RunE:    func(*cobra.Command, []string) error { return list(a, asJSON) },
	})
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print JSON")
	return cmd
}

// addChoiceFlag adds the string flag --name (-short) that takes one of
// choices, which its completion offers.
func addChoiceFlag(cmd *cobra.Command, p *string, name, short, value, usage string, choices ...string) {
	cmd.Flags().StringVarP(p, name, short, value, usage)
	_ = cmd.RegisterFlagCompletionFunc(name, fixedCompletions(choices...))
}

// addMechanismFlag adds --mechanism, the SASL mechanism mailoauth logs in
// to servers with (the command's, e.g. "IMAP and SMTP"); parseMechanism
// reads it.
func addMechanismFlag(cmd *cobra.Command, p *string, servers string) {
	addChoiceFlag(cmd, p, "mechanism", "", mailproto.XOAUTH2, "the SASL `MECHANISM` for "+servers+": XOAUTH2 or OAUTHBEARER", mailproto.XOAUTH2, mailproto.OAUTHBEARER)
}

// parseMechanism is --mechanism in upper case, or the usage error of an
// unknown one.
func parseMechanism(s string) (string, error) {
	mech := strings.ToUpper(s)
	if mech != mailproto.XOAUTH2 && mech != mailproto.OAUTHBEARER {
		return "", usagef("--mechanism %q is not known; use XOAUTH2 or OAUTHBEARER", s)
	}
	return mech, nil
}

// addChecksFlag adds -c/--checks, a comma-separated list of check names,
// with its completion.
func addChecksFlag(cmd *cobra.Command, p *string, value, usage string) {
	cmd.Flags().StringVarP(p, "checks", "c", value, usage)
	_ = cmd.RegisterFlagCompletionFunc("checks", completeChecks)
}

// addTimeoutFlag adds --timeout, the timeout of each network check.
func addTimeoutFlag(f *pflag.FlagSet, p *time.Duration) {
	f.DurationVar(p, "timeout", core.DefaultCheckTimeout, "the timeout of each network check, a `DURATION`")
}

// subcommandArgs is the Args of a command that only groups others
// (key, mailbox): any word left is not one of them.
func subcommandArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return unknownCommand(cmd, args[0])
	}
	return nil
}

// version and revision may be set with -ldflags -X: the Makefile sets
// revision from git for builds without Go's VCS data (-buildvcs=false, a git
// worktree); packaging may set version.
var version, revision string

// versionString is the module version and the VCS revision the binary was
// built from (runtime/debug build info, else -ldflags), with the Go version.
func versionString() string {
	v, rev, dirty, goVersion := version, revision, false, ""
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
		if v == "" && info.Main.Version != "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision": // Go's own record wins over -ldflags
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if rev == "" {
		rev = "unknown (built without VCS data; `make build` records it)"
	} else if dirty {
		rev += " (modified)"
	}
	return fmt.Sprintf("%s\nrevision %s\n%s", v, rev, goVersion)
}

// defaultInUsage is for flags whose usage states their default because
// their zero value means "derived" (--roundtrip-timeout: 3 times --timeout):
// the help and the manual page then show no "(0s)" beside it.
func defaultInUsage(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		fs.Lookup(n).DefValue = ""
	}
}

// flagErrorText is pflag's error in an administrator's words: a value that
// does not parse says what the flag takes and gives an example, instead of
// Go's parser message ("strconv.ParseInt: parsing ...").
func flagErrorText(err error) string {
	var ive *pflag.InvalidValueError
	if !errors.As(err, &ive) {
		return err.Error()
	}
	f := ive.GetFlag()
	name, _, _ := strings.Cut(f.Name, " ")
	kind, example := "", f.DefValue
	switch f.Value.Type() {
	case "int", "int64", "uint", "uint64":
		kind = "a whole number"
		if example == "" || example == "0" {
			example = "16"
		}
	case "duration":
		kind = "a duration such as 30s, 5m or 1h"
		if example == "" || example == "0s" {
			example = "30s"
		}
	case "bool":
		return fmt.Sprintf("--%s takes no value (or =true / =false), not %q", name, ive.GetValue())
	default:
		return fmt.Sprintf("--%s %q: %v", name, ive.GetValue(), ive.Unwrap())
	}
	return fmt.Sprintf("--%s %q is not %s; e.g. --%s %s", name, ive.GetValue(), kind, name, example)
}
