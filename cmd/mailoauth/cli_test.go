package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// allCommands is every command of the tree below root, hidden ones too.
func allCommands(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		for _, sc := range c.Commands() {
			out = append(out, sc)
			visit(sc)
		}
	}
	visit(root)
	return out
}

// A value name is what an administrator types: PATH, ADDR, KIND:NAME, not
// Go's type names (string, int, duration) nor words of the usage sentence.
var valueNameRE = regexp.MustCompile(`^[A-Z][A-Z0-9_:.]*$`)

// TestHelpEveryCommandHasExampleAndNamedValues: every command's --help, as
// an administrator sees it, has examples, and lists every flag of the
// command as --flag VALUE (or --switch), with no back quotes and no
// garbled names such as "-client mailoauth authorize".
func TestHelpEveryCommandHasExampleAndNamedValues(t *testing.T) {
	root := newRootCmd(&app{})
	cmds := append([]*cobra.Command{root}, allCommands(root)...)
	if len(cmds) < 18 {
		t.Fatalf("only %d commands in the tree", len(cmds))
	}
	for _, c := range cmds {
		path := strings.Fields(c.CommandPath())[1:]
		if c.Example == "" {
			t.Errorf("%s has no Example", c.CommandPath())
		}
		r := mailoauth(t, filepath.Join(t.TempDir(), "none.db"), append(path, "--help")...)
		if r.code != 0 {
			t.Errorf("%s --help: exit %d, stderr %q", c.CommandPath(), r.code, r.stderr)
			continue
		}
		out := r.stdout
		if !strings.Contains(out, "EXAMPLES") {
			t.Errorf("%s --help shows no examples:\n%s", c.CommandPath(), out)
		}
		if m := regexp.MustCompile("`[A-Z][A-Z0-9_:.]*`").FindString(out); m != "" {
			t.Errorf("%s --help shows the raw value name %s:\n%s", c.CommandPath(), m, out)
		}
		c.InheritedFlags()
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || c.Name() == "sandbox" && (f.Name == "db" || f.Name == "profile") { // its help hides them
				return
			}
			want := "--" + f.Name
			if v := flagValueName(f); v != "" {
				if !valueNameRE.MatchString(v) {
					t.Errorf("%s --%s: value name %q is not one an administrator would type", c.CommandPath(), f.Name, v)
				}
				want += " " + v
			} else if f.NoOptDefVal == "" {
				t.Errorf("%s --%s takes a value but its usage names none", c.CommandPath(), f.Name)
			}
			if !regexp.MustCompile(regexp.QuoteMeta(want) + `(\s|$)`).MatchString(out) {
				t.Errorf("%s --help does not show %q:\n%s", c.CommandPath(), want, out)
			}
			if first, _, _ := strings.Cut(f.Usage, " "); first != strings.ToLower(first) {
				// fang title-cases the first word: "SASL" would read "Sasl"
				t.Errorf("%s --%s: usage starts with %q; start with a lower-case word", c.CommandPath(), f.Name, first)
			}
		})
	}
}

// TestHelpTestListsEveryFlag is issue 9 item 11: `test --help` lists
// --fresh, --timeout DURATION and --mechanism MECHANISM, and setup's help
// names the client file without garbling it.
func TestHelpTestListsEveryFlag(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none.db")
	r := mailoauth(t, db, "test", "--help")
	for _, want := range []string{"--fresh", "--timeout DURATION", "--mechanism MECHANISM", "-m --mailbox ADDR", "-c --checks CHECKS", "--concurrency N", "-j --json", "-a --all"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("test --help lacks %q:\n%s", want, r.stdout)
		}
	}
	r = mailoauth(t, db, "help", "setup")
	for _, want := range []string{"--client FILE", "--redirect-uri URI", "-k --key FILE", "--domain DOMAIN", "--sender ADDR", "-d --db PATH", "-p --profile DOMAIN"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help setup lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, bad := range []string{"-client mailoauth", "-redirect-uri authorize", "string", "`"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("help setup shows %q:\n%s", bad, r.stdout)
		}
	}
	// the root help groups commands as the README does
	r = mailoauth(t, db, "--help")
	for _, want := range []string{"SET UP", "CHECK AND USE", "UPGRADE, SERVE, TRAIN", "completion SHELL", "-v --version"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("mailoauth --help lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestHelpMechanismNamesTheCommandsServers: --mechanism says which logins
// it picks the mechanism of, per command: the proxy's POP3 ones too,
// `test`'s IMAP and SMTP ones only.
func TestHelpMechanismNamesTheCommandsServers(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none.db")
	for cmd, want := range map[string]string{"proxy": "MECHANISM for IMAP, SMTP and POP3:", "test": "MECHANISM for IMAP and SMTP:"} {
		if r := mailoauth(t, db, cmd, "--help"); !strings.Contains(r.stdout, want) {
			t.Errorf("%s --help: --mechanism should say %q:\n%s", cmd, want, r.stdout)
		}
	}
}

// TestUsageMistakesExitTwo: unknown commands and flags, flags spelled with
// one dash, missing arguments: exit 2 with one sentence saying what to type.
func TestUsageMistakesExitTwo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none.db")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"mailbx", "ls"}, "did you mean mailbox?"},
		{[]string{"mailbox", "lss"}, `unknown command "lss"`},
		{[]string{"test", "--bogus"}, "unknown flag: --bogus; run `mailoauth test --help`"},
		{[]string{"token", "-x", "a@b.example"}, "unknown shorthand flag"},
		{[]string{"-db", db, "test"}, "long flags take two dashes: --db"},
		{[]string{"test", "-fresh"}, "--fresh"},
		{[]string{"test", "--timeout", "soon"}, `--timeout "soon" is not a duration`},
		{[]string{"token"}, "token takes one argument (mailoauth token ADDR), e.g. mailoauth token user1@yourcompany.example"},
		{[]string{"doctor", "yourcompany.example"}, "doctor takes no arguments, e.g. mailoauth doctor --profile yourcompany.example"},
		{[]string{"completion", "tcsh"}, "use bash, zsh or fish"},
		{[]string{"help", "nope"}, `no help for "nope"`},
		{[]string{"history", "a@example.test", "b@example.test"}, "history takes at most one argument (mailoauth history [ADDR]), e.g. mailoauth history user1@"},
		{[]string{"serve", "--log-format", "xml", "--addr", "127.0.0.1:0", "--authorized-keys", "k"}, "--log-format"},
	}
	for _, c := range cases {
		r := mailoauth(t, db, c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) || !strings.HasPrefix(r.stderr, "mailoauth: ") {
			t.Errorf("mailoauth %v: exit %d, stderr %q; want exit 2 and %q", c.args, r.code, r.stderr, c.want)
		}
		if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 0 {
			t.Errorf("mailoauth %v: error is %d lines, want one: %q", c.args, n+1, r.stderr)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("a usage mistake created the store %s", db)
	}
	// Without a terminal, plain mailoauth prints the usage (exit 2).
	r := mailoauth(t, db)
	if r.code != exitUsage || !strings.Contains(r.stderr, "SET UP") {
		t.Errorf("mailoauth without a terminal: exit %d, stderr %q; want the usage and exit 2", r.code, r.stderr)
	}
}

// TestVersionShowsRevision: the binary `make build` makes prints the module
// version and the VCS revision it was built from.
func TestVersionShowsRevision(t *testing.T) {
	rev, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skip("not in a git checkout: no revision to compare with")
	}
	bin := filepath.Join(t.TempDir(), "mailoauth")
	runMake(t, "build", bin)
	for _, args := range [][]string{{"--version"}, {"-v"}, {"version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("mailoauth %v: %v", args, err)
		}
		s := string(out)
		if !strings.HasPrefix(s, "mailoauth ") || !strings.Contains(s, "revision "+strings.TrimSpace(string(rev))) {
			t.Errorf("mailoauth %v printed %q; want the version and revision %s", args, s, rev)
		}
	}
}

// TestManPage: `mailoauth man` is a roff page naming every command with
// its flags as --flag VALUE and its examples.
func TestManPage(t *testing.T) {
	r := mailoauth(t, filepath.Join(t.TempDir(), "none.db"), "man")
	if r.code != 0 {
		t.Fatalf("mailoauth man: exit %d, %s", r.code, r.stderr)
	}
	for _, want := range []string{".TH MAILOAUTH 1", ".SH SYNOPSIS", ".SH EXIT STATUS", ".SH ENVIRONMENT", "MAILOAUTH_DB",
		`.SS "mailbox import FILE.csv`, `.SS "test [ADDR...]`, `\fB\-\-mechanism\fR \fIMECHANISM\fR`, `\fB\-d\fR, \fB\-\-db\fR \fIPATH\fR`,
		`mailoauth token user1@yourcompany.example \-\-format xoauth2`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	if m := regexp.MustCompile("`[A-Z][A-Z0-9_:.]*`").FindString(r.stdout); m != "" {
		t.Errorf("man page shows the raw value name %s", m)
	}
	if _, err := exec.LookPath("groff"); err == nil {
		cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z")
		cmd.Stdin = strings.NewReader(r.stdout)
		out, err := cmd.CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff warns about the man page: %v\n%s", err, out)
		}
	}
}

// TestDaemonLogs: --log-format json gives one JSON object per line, and an
// attribute named like a secret never reaches the log.
func TestDaemonLogs(t *testing.T) {
	var buf bytes.Buffer
	lg, err := newLogger(&buf, "json")
	if err != nil {
		t.Fatal(err)
	}
	lg.Info("minted", "mailbox", "user1@example.test", "access_token", "ya29.secret", "refresh_token_fingerprint", "SHA256:abc")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %q", buf.String())
	}
	if rec["msg"] != "minted" || rec["mailbox"] != "user1@example.test" || rec["refresh_token_fingerprint"] != "SHA256:abc" {
		t.Errorf("log line %v", rec)
	}
	if strings.Contains(buf.String(), "ya29.secret") {
		t.Errorf("the token reached the log: %s", buf.String())
	}
	buf.Reset()
	lg, _ = newLogger(&buf, "text")
	lg.Info("session of admin", "remote", "127.0.0.1:5000")
	if !strings.Contains(buf.String(), `msg="session of admin" remote=127.0.0.1:5000`) {
		t.Errorf("text log line %q", buf.String())
	}
}

// TestPlainMailoauthOnTerminalOpensWizard: `mailoauth` with no command on a
// terminal is the wizard (without one it prints the usage, exit 2: see
// TestUsageMistakesExitTwo).
func TestPlainMailoauthOnTerminalOpensWizard(t *testing.T) {
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	quitWizardOnceShown(t, "Choose a domain profile", "--db", db)
}

// quitWizardOnceShown starts mailoauth with args on a terminal, waits for
// want on its screen, quits with ctrl+c and waits for it to end; it returns
// the screen.
func quitWizardOnceShown(t *testing.T, want string, args ...string) string {
	t.Helper()
	cmd, f, screen, done := startOnTerminal(t, args...)
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(screen(), want) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(screen(), want) {
		cmd.Process.Kill()
		t.Fatalf("mailoauth %s on a terminal did not show %q:\n%s", strings.Join(args, " "), want, screen())
	}
	f.Write([]byte{3}) // ctrl+c leaves the wizard
	waitExit(t, cmd, done, "the wizard on ctrl+c", screen)
	return screen()
}

// waitExit waits until mailoauth on the terminal has ended (after what the
// test typed, named by what) and all it printed has been read; after 30 s
// it kills it and fails the test. It returns how mailoauth exited.
func waitExit(t *testing.T, cmd *exec.Cmd, done <-chan struct{}, what string, screen func() string) error {
	t.Helper()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		<-done
		return err
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%s: mailoauth did not end:\n%s", what, screen())
		return nil
	}
}

// startOnTerminal starts mailoauth with args on a 100x30 terminal; screen
// is what it has printed so far, without escape sequences, and done is
// closed once the terminal has nothing more to read (mailoauth ended).
func startOnTerminal(t *testing.T, args ...string) (cmd *exec.Cmd, f *os.File, screen func() string, done <-chan struct{}) {
	t.Helper()
	cmd = exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=", "TERM=xterm-256color")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var mu sync.Mutex
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return cmd, f, func() string {
		mu.Lock()
		defer mu.Unlock()
		return ansi.Strip(out.String())
	}, read
}
