package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newManCmd(a *app) *cobra.Command {
	return withHelp("man", &cobra.Command{
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeManPage(a.stdout, cmd.Root())
		},
	})
}

// writeManPage writes mailoauth(1): every command with its flags (as
// --flag VALUE) and examples, from the same definitions as --help.
func writeManPage(w io.Writer, root *cobra.Command) error {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	version, _, _ := strings.Cut(versionString(), "\n")
	line(`.TH MAILOAUTH 1 "" "mailoauth %s" "User Commands"`, roffText(version))
	line(".SH NAME")
	line(`mailoauth \- %s`, roffText(root.Short))
	line(".SH SYNOPSIS")
	line(`.B mailoauth`)
	line(`[\fB\-\-db\fR \fIPATH\fR] [\fB\-\-profile\fR \fIDOMAIN\fR] \fICOMMAND\fR [\fIFLAGS\fR] [\fIARGS\fR]`)
	line(".SH DESCRIPTION")
	paragraphs(&b, root.Long)
	line(".SH GLOBAL FLAGS")
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) { manFlag(&b, f) })
	line(`.TP`)
	line(`\fB\-v\fR, \fB\-\-version\fR`)
	line(`print the version and VCS revision`)
	line(".SH COMMANDS")
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		for _, sc := range c.Commands() {
			if !sc.IsAvailableCommand() || sc.Name() == "help" {
				continue
			}
			manCommand(&b, sc)
			visit(sc)
		}
	}
	visit(root)
	line(".SH EXIT STATUS")
	line(`0 all good; 1 a check failed (the details were printed); 2 bad input or usage; 3 environment (store busy, file unreadable).`)
	line(".SH ENVIRONMENT")
	tagged(&b, ".B", [][2]string{
		{"MAILOAUTH_DB", "the store when --db is not given."},
		{"MAILOAUTH_KEY", "the store's sealing key, instead of the file mailoauth.db.key beside it."},
		{"XDG_DATA_HOME", "the default store is $XDG_DATA_HOME/mailoauth/mailoauth.db when it is set."},
	})
	line(".SH FILES")
	tagged(&b, ".I", [][2]string{
		{"~/.local/share/mailoauth/mailoauth.db", "the default store (bbolt, mode 0600), with its sealing key mailoauth.db.key beside it."},
		{"/var/lib/mailoauth/mailoauth.db", "the store of the services (mailoauth-serve.service); give it to other commands with MAILOAUTH_DB or --db."},
		{"/etc/mailoauth/authorized_keys", "the administrators' public keys of mailoauth serve; its host key is /etc/mailoauth/ssh_host_ed25519_key."},
	})
	line(".SH SEE ALSO")
	line(`msmtp(1), mbsync(1), neomutt(1), curl(1), systemd.service(5)`)
	_, err := io.WriteString(w, b.String())
	return err
}

func manCommand(b *strings.Builder, c *cobra.Command) {
	fmt.Fprintf(b, ".SS \"%s\"\n", roffText(strings.TrimPrefix(c.UseLine(), "mailoauth ")))
	paragraphs(b, c.Long)
	if c.Long == "" {
		paragraphs(b, c.Short)
	}
	c.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" {
			manFlag(b, f)
		}
	})
	if c.Example != "" {
		b.WriteString(".PP\nExamples:\n.RS\n.nf\n")
		for _, l := range strings.Split(strings.TrimSpace(c.Example), "\n") {
			b.WriteString(roffText(strings.TrimRight(l, " \t")) + "\n") // a continued line keeps its indent
		}
		b.WriteString(".fi\n.RE\n")
	}
}

func manFlag(b *strings.Builder, f *pflag.Flag) {
	if f.Hidden {
		return
	}
	name, _, _ := strings.Cut(f.Name, " ")
	head := `\fB\-\-` + roffText(name) + `\fR`
	if f.Shorthand != "" {
		head = `\fB\-` + f.Shorthand + `\fR, ` + head
	}
	if v := flagValueName(f); v != "" {
		head += ` \fI` + roffText(v) + `\fR`
	}
	_, usage := pflag.UnquoteUsage(f)
	if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.NoOptDefVal == "" {
		usage += " (default " + f.DefValue + ")"
	}
	fmt.Fprintf(b, ".TP\n%s\n%s\n", head, roffText(usage))
}

// tagged writes a tagged paragraph (.TP) for each item: its name set with
// font (.B bold, .I italic), then its text.
func tagged(b *strings.Builder, font string, items [][2]string) {
	for _, it := range items {
		fmt.Fprintf(b, ".TP\n%s %s\n%s\n", font, it[0], roffText(it[1]))
	}
}

func paragraphs(b *strings.Builder, text string) {
	for _, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			fmt.Fprintf(b, ".PP\n%s\n", roffText(p))
		}
	}
}

// roffText escapes text for roff: backslashes, dashes, and a leading
// period or quote that would start a request.
func roffText(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}
