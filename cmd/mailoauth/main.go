// Command mailoauth connects a server product's mailboxes to Gmail / Google
// Workspace over IMAP and SMTP with OAuth 2.0: a terminal wizard and the
// small command-line tool around it. This package only parses flags, wires
// the engine (core) to the store and prints; it holds no logic of its own.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// Exit codes, a contract with scripts (DESIGN.md).
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitEnviron = 3
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, app *app, args []string) error
}

func commands() []command {
	return []command{
		{"wizard", "the step-by-step wizard (also: mailoauth with no arguments); --sandbox runs it offline", runWizard},
		{"sandbox", "run the built-in Google simulator until interrupted", runSandbox},
		{"setup", "configure a domain without the wizard (steps 2-4)", runSetup},
		{"key", "key inspect FILE: what a credential file is, or what is wrong with it", runKey},
		{"authorize", "authorize ADDR | --all: a mailbox's consent for the OAuth client (stores its refresh token)", runAuthorize},
		{"profile", "profile ls | rm DOMAIN: the domain profiles, their state; delete one", runProfile},
		{"mailbox", "mailbox ls | add | rm | import FILE.csv | export", runMailbox},
		{"test", "live token / IMAP / SMTP / round-trip checks", runTest},
		{"watch", "check every mailbox on a schedule: metrics, alerts on changes, early warnings (--once for cron)", runWatch},
		{"history", "history [ADDR] [--since 24h] [--json]: each mailbox's recent checks, failures with their start", runHistory},
		{"token", "print a valid access token for a mailbox (for msmtp, mbsync, curl...)", runToken},
		{"export", "the configuration for the host product", runExport},
		{"doctor", "check clock, DNS, TLS, token, IMAP and SMTP, each with its fix", runDoctor},
		{"upgrade", "move a password-based Gmail setup to OAuth (the re-run / upgrade assistant)", runUpgrade},
		{"serve", "serve the wizard over SSH (public keys only)", runServe},
		{"proxy", "IMAP/SMTP proxy for products that only know a password; proxy password ADDR", runProxy},
	}
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, stdin: stdin}
	// Global flags may also stand before the command: mailoauth --db X test.
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" && args[0] != "--version" {
		name, val, hasVal := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if name != "db" && name != "profile" {
			fmt.Fprintf(stderr, "mailoauth: unknown global flag %s; the global flags are --db PATH and --profile DOMAIN\n", args[0])
			return exitUsage
		}
		if !hasVal {
			if len(args) < 2 {
				fmt.Fprintf(stderr, "mailoauth: %s needs a value\n", args[0])
				return exitUsage
			}
			val, args = args[1], args[1:]
		}
		if name == "db" {
			a.dbPath = val
		} else {
			a.profile = val
		}
		args = args[1:]
	}
	if len(args) == 0 {
		if isTerminal(os.Stdin) && isTerminal(os.Stdout) {
			args = []string{"wizard"}
		} else {
			usage(stderr)
			return exitUsage
		}
	}
	name := args[0]
	if name == "help" && len(args) > 1 { // mailoauth help setup
		name, args = args[1], []string{args[1], "-h"}
	} else if name == "-h" || name == "--help" || name == "help" {
		usage(stdout)
		return exitOK
	}
	if name == "--version" || name == "version" {
		fmt.Fprintln(stdout, "mailoauth", version)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return report(stderr, c.run(ctx, a, args[1:]))
		}
	}
	fmt.Fprintf(stderr, "mailoauth: unknown command %q; run `mailoauth help` for the list of commands\n", name)
	return exitUsage
}

var version = "dev"

func usage(w io.Writer) {
	fmt.Fprintln(w, "mailoauth: connect mailboxes to Gmail / Google Workspace over IMAP and SMTP with OAuth 2.0")
	fmt.Fprintln(w, "\nUsage: mailoauth [command] [flags]   (no command on a terminal opens the wizard)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nGlobal flags: --db PATH (default $MAILOAUTH_DB, else ~/.local/share/mailoauth/mailoauth.db), --profile DOMAIN")
	fmt.Fprintln(w, "Exit codes: 0 all good, 1 a check failed, 2 bad input or usage, 3 environment (store locked, file unreadable).")
	fmt.Fprintln(w, "Run `mailoauth COMMAND -h` for a command's flags.")
}

// errChecksFailed marks a run whose checks completed but did not all pass;
// the details were already printed.
var errChecksFailed = errors.New("checks failed")

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// report prints err as one sentence and returns the exit code for it.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errChecksFailed) {
		return exitFailed
	}
	if errors.Is(err, errHelpShown) {
		return exitOK
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "mailoauth: cancelled (interrupted) before it finished; what was already saved is kept, run the command again to finish")
		return exitFailed
	}
	fmt.Fprintln(stderr, "mailoauth: "+core.SafeLines(err.Error())) // it may quote a file or a server
	return exitCode(err)
}

func exitCode(err error) int {
	var ue *usageError
	var ie *core.InputError
	var imp *core.ImportError
	switch {
	case errors.As(err, &ue), errors.As(err, &imp):
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
