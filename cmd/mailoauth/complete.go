package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// The dynamic completions of `mailoauth completion bash|zsh|fish`: profile
// domains and mailbox addresses come from the store, opened read-only and
// only when it exists (a completion never creates a store); any problem
// completes nothing.

// argCompletions completes a command's arguments by the name of the first
// in its help.txt synopsis (withHelp): an ADDR is a mailbox address, a
// DOMAIN a profile's domain; any other name completes file names.
var argCompletions = map[string]cobra.CompletionFunc{
	"ADDR":   completeMailboxes,
	"DOMAIN": completeProfiles,
}

// flagText is the value of c's flag name ("" without one): the completions
// read --db and --profile from the command they complete, so that they
// need no app and any command (or flag) can use them.
func flagText(c *cobra.Command, name string) string {
	if f := c.Flag(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// completionStore opens the store of --db / $MAILOAUTH_DB read-only and
// lists its profiles, or returns nil.
func completionStore(c *cobra.Command) (*store.Store, []core.Profile) {
	path := flagText(c, "db")
	if path == "" {
		path = store.DefaultPath()
	}
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return nil, nil
	}
	st, err := store.Open(path, storeOptions(store.Options{ReadOnly: true}))
	if err != nil {
		return nil, nil
	}
	ps, err := st.ListProfiles()
	if err != nil {
		st.Close()
		return nil, nil
	}
	return st, ps
}

// completeProfiles completes the domains of the store's profiles.
func completeProfiles(c *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	st, ps := completionStore(c)
	if st == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer st.Close()
	var out []cobra.Completion
	for _, p := range ps {
		if strings.HasPrefix(p.Domain, toComplete) {
			out = append(out, cobra.CompletionWithDesc(p.Domain, "default sender "+p.DefaultSender))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeMailboxes completes the mailbox addresses of the profile named by
// --profile, or of every profile: the default senders and the assigned
// mailboxes.
func completeMailboxes(c *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	st, ps := completionStore(c)
	if st == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer st.Close()
	want := ""
	if p := flagText(c, "profile"); p != "" {
		want, _ = core.NormalizeDomain(p)
	}
	seen := map[string]bool{}
	var out []cobra.Completion
	add := func(email, desc string) {
		if !seen[email] && strings.HasPrefix(email, toComplete) {
			seen[email] = true
			out = append(out, cobra.CompletionWithDesc(email, desc))
		}
	}
	for _, p := range ps {
		if want != "" && p.Domain != want {
			continue
		}
		add(p.DefaultSender, "default sender of "+p.Domain)
		boxes, err := st.Mailboxes(p.Domain)
		if err != nil {
			continue
		}
		for _, m := range boxes {
			add(m.Email, m.DisplayName)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// fixedCompletions completes one of a flag's fixed values.
func fixedCompletions(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}

// completeChecks completes a comma-separated list of check names.
func completeChecks(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	done, last := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		done, last = toComplete[:i+1], toComplete[i+1:]
	}
	var out []cobra.Completion
	for _, c := range core.AllChecks {
		if strings.HasPrefix(string(c), last) && !strings.Contains(","+done, ","+string(c)+",") {
			out = append(out, done+string(c))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}
