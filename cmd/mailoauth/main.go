// Command mailoauth connects a server product's mailboxes to Gmail / Google
// Workspace over IMAP and SMTP with OAuth 2.0: a terminal wizard and the
// small command-line tool around it. This package only parses flags, wires
// the engine (core) to the store and prints; it holds no logic of its own.
//
// The command line is spf13/cobra styled by charm.land/fang. Every
// command's words (its synopsis, one-line summary, description and
// examples) are in help.txt, embedded and looked up by command path
// (help.go); the synopsis also sets how many arguments it takes (a wrong
// number is refused with the synopsis and an example) and how they
// complete (an ADDR a mailbox address, a DOMAIN a profile's). Its behaviour
// is in cmd_NAME.go. To add a command, write its entry in help.txt, then
// cmd_NAME.go with its flags and its run, and add it to commands() in its
// help group:
//
//	## mailoauth frob [ADDR...]                (help.txt; argument names in capitals)
//	frob mailboxes (one line, lower case)
//
//	example:
//	mailoauth frob user1@yourcompany.example
//	mailoauth frob --all --json
//
//	command(a, "frob", (*frobFlags).register, runFrob),   (in commands())
//
//	type frobFlags struct{ all, asJSON bool }
//
//	func (o *frobFlags) register(cmd *cobra.Command) {
//		f := cmd.Flags()
//		f.BoolVarP(&o.all, "all", "a", false, "every assigned mailbox")
//		f.BoolVarP(&o.asJSON, "json", "j", false, "print JSON")
//	}
//
//	func runFrob(ctx context.Context, a *app, args []string, o *frobFlags) error { ... }
//
// A command that only groups others is a parentCmd, one without flags of
// its own is withHelp(path, &cobra.Command{...}); flags several commands
// share have their add...Flag helper (cli.go).
//
// Rules (TestHelp* check them): every command has an entry in help.txt,
// with examples, and every entry a command; a flag that takes a value names
// it in back quotes in its usage ("the store `PATH`"), which help and the
// man page show as --flag VALUE; short forms are -a
// --all, -j --json, -f --format, -y --yes, -m --mailbox, -k --key, -c
// --checks, and the global -d --db, -p --profile; return usagef(...) for a
// mistake on the command line (exit 2), errChecksFailed when checks ran and
// failed (exit 1, details already printed); other errors map in exitCode.
// A long-running command (a daemon) takes --log-format with addLogFlags and
// logs through the *slog.Logger of newLogger (log.go), to stderr.
//
// It is the top of the layers (README.md, Architecture): it may import every
// package of the project but another command (cmd/...) and the test
// support, core/coretest and store/storetest, which only _test.go files
// import; no package imports it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"charm.land/fang/v2"
	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/mailboxcsv"
	"github.com/mailoauth/mailoauth/store"
)

// Exit codes, a contract with scripts (DESIGN.md).
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitEnviron = 3
	// exitInterrupted: stopped by Ctrl-C or SIGTERM before it finished,
	// 128+SIGINT as a shell reports a command Ctrl-C killed.
	exitInterrupted = 130
)

// The groups of `mailoauth --help`, in the README's order.
const (
	groupSetup   = "setup"
	groupUse     = "use"
	groupOperate = "operate"
)

// commands is every command of mailoauth, by group, in the order help
// lists them.
func commands(a *app) []*cobra.Command {
	return slices.Concat(
		inGroup(groupSetup,
			newWizardCmd(a),
			newKeyCmd(a),
			command(a, "setup", (*setupFlags).register, runSetup),
			command(a, "authorize", (*authorizeFlags).register, runAuthorize),
			newProfileCmd(a),
			newMailboxCmd(a)),
		inGroup(groupUse,
			command(a, "test", (*testFlags).register, runTest),
			command(a, "watch", (*watchCmdFlags).register, runWatch),
			command(a, "history", (*historyFlags).register, runHistory),
			command(a, "token", (*tokenFlags).register, runToken),
			command(a, "export", (*exportFlags).register, runExport),
			flaglessCommand(a, "doctor", runDoctor)),
		inGroup(groupOperate,
			command(a, "upgrade", (*upgradeFlags).register, runUpgrade),
			command(a, "serve", (*serveFlags).register, runServe),
			newProxyCmd(a),
			command(a, "sandbox", (*sandboxFlags).register, runSandbox),
			newCompletionCmd(a),
			newManCmd(a)),
		[]*cobra.Command{newVersionCmd(a)}, // hidden, in no group
	)
}

// app is what every subcommand shares: the output streams and the global
// flags. The store is opened only by the commands that need it.
type app struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	dbPath         string
	profile        string
}

func main() {
	stopProfile := startCPUProfile()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, stop := stopOnSignals(context.Background(), sigs, os.Stderr, func(code int) {
		stopProfile()
		os.Exit(code)
	})
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	stopProfile()
	os.Exit(code)
}

// run runs mailoauth with args and returns its exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, stdin: stdin}
	root := newRootCmd(a)
	if err := singleDashLongFlag(root, args); err != nil {
		return report(stderr, err)
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	var failure error
	_ = fang.Execute(ctx, root,
		fang.WithVersion(versionString()),
		fang.WithoutManpage(), // ours (cmd_man.go) shows --flag VALUE and the examples
		fang.WithErrorHandler(func(w io.Writer, _ fang.Styles, err error) {
			failure = err
			if msg := errorSentence(err); msg != "" {
				fmt.Fprintln(w, msg)
			}
		}))
	if failure == nil {
		return exitOK
	}
	return exitCode(failure)
}

func newRootCmd(a *app) *cobra.Command {
	root := withHelp("", &cobra.Command{
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if !isTerminal(os.Stdin) || !isTerminal(os.Stdout) {
				showValueNames(cmd.Root())
				cmd.SetOut(a.stderr)
				_ = cmd.Help()
				return errUsageShown
			}
			return runWizard(cmd.Context(), a, false)
		},
		SilenceErrors:              true,
		SilenceUsage:               true,
		SuggestionsMinimumDistance: 2,
	})
	root.AddGroup(
		&cobra.Group{ID: groupSetup, Title: "set up"},
		&cobra.Group{ID: groupUse, Title: "check and use"},
		&cobra.Group{ID: groupOperate, Title: "upgrade, serve, train"},
	)
	pf := root.PersistentFlags()
	pf.StringVarP(&a.dbPath, "db", "d", "", "the store `PATH` (default $MAILOAUTH_DB, else ~/.local/share/mailoauth/mailoauth.db)")
	pf.StringVarP(&a.profile, "profile", "p", "", "the domain profile, by its `DOMAIN`, when the store holds several")
	addHelpFlag(root)
	root.Flags().BoolP("version", "v", false, "print the version and VCS revision")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("%s; run `%s --help` for its flags", flagErrorText(err), c.CommandPath())
	})
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	for _, c := range commands(a) {
		root.AddCommand(c)
	}
	wrapLongs(root)
	root.SetGlobalNormalizationFunc(flagKey)
	root.SetHelpCommand(newHelpCmd())
	root.SetHelpCommandGroupID(groupOperate)
	root.SetCompletionCommandGroupID(groupOperate)
	_ = root.RegisterFlagCompletionFunc("profile", completeProfiles)
	return root
}

// errChecksFailed marks a run whose checks completed but did not all pass;
// the details were already printed.
var errChecksFailed = errors.New("checks failed")

// errUsageShown: the usage was printed instead of running anything (exit 2).
var errUsageShown = errors.New("usage shown")

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// report prints err as one sentence and returns the exit code for it.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	if msg := errorSentence(err); msg != "" {
		fmt.Fprintln(stderr, msg)
	}
	return exitCode(err)
}

// errorSentence is what stderr shows for err: one line, or nothing when the
// details were printed already.
func errorSentence(err error) string {
	switch {
	case errors.Is(err, errChecksFailed), errors.Is(err, errUsageShown):
		return ""
	case errors.Is(err, context.Canceled):
		return "mailoauth: cancelled (interrupted) before it finished; what was already saved is kept, run the command again to finish"
	}
	return "mailoauth: " + core.SafeLines(storeWording(core.ErrorSentence(err), err)) // it may quote a file or a server
}

func exitCode(err error) int {
	var ue *usageError
	var ie *core.InputError
	var imp *mailboxcsv.ImportError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, errChecksFailed):
		return exitFailed
	case errors.Is(err, errUsageShown), errors.As(err, &ue), errors.As(err, &imp):
		return exitUsage
	case errors.Is(err, store.ErrLocked):
		return exitEnviron
	case errors.As(err, &ie):
		if ie.Env {
			return exitEnviron
		}
		return exitUsage
	case errors.Is(err, store.ErrNotFound):
		return exitUsage
	}
	if f := core.FindingOf(err); f != nil {
		switch f.Code {
		case core.CodeInvalidKey, core.CodeWrongCredentialType, core.CodeMailboxOutsideDomain, core.CodeServiceAccountAsMailbox:
			return exitUsage
		}
		return exitFailed
	}
	return exitEnviron
}
