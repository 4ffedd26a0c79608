package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/mailoauth/mailoauth/core"
)

const profileSynopsis = "profile ls [--json] | rm DOMAIN [--yes]"

func runProfile(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("use `mailoauth %s`", profileSynopsis)
	}
	switch args[0] {
	case "ls", "list":
		return profileList(a, args[1:])
	case "rm", "remove":
		return profileRemove(a, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintf(a.stdout, "Usage: mailoauth %s\n\nls lists every domain profile with its credential, default sender, mailboxes and last test.\nrm deletes a profile with its mailboxes, tokens and results after writing a backup of the store beside it; it asks first on a terminal, elsewhere it needs --yes.\n", profileSynopsis)
		return nil
	}
	return usagef("unknown profile command %q; use `mailoauth %s`", args[0], profileSynopsis)
}

func profileList(a *app, args []string) error {
	fs := a.newFlags("profile ls", "profile ls [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	st, err := a.openExisting()
	if err != nil {
		return err
	}
	defer st.Close()
	states, err := st.ProfileStates()
	if err != nil {
		return err
	}
	if *asJSON {
		if states == nil {
			states = []core.ProfileState{}
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(states)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tCREDENTIAL\tSENDER\tMAILBOXES\tLAST TEST")
	for _, s := range states {
		cred := s.CredentialText()
		if v := s.VerifiedText(); v != "" {
			cred += ", " + v
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.Domain, cred, s.DefaultSender, s.Mailboxes, s.TestText("2006-01-02 15:04"))
	}
	tw.Flush()
	fmt.Fprintf(a.stdout, "%d profile(s) in %s\n", len(states), st.Path())
	return nil
}

func profileRemove(a *app, args []string) error {
	fs := a.newFlags("profile rm", "profile rm DOMAIN [--yes]")
	yes := fs.Bool("yes", false, "delete without asking (needed when standard input is not a terminal)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name one domain: mailoauth profile rm yourcompany.example")
	}
	domain, err := core.NormalizeDomain(pos[0])
	if err != nil {
		return err
	}
	st, err := a.openExisting()
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.MailboxCount(domain) // also: the profile exists
	if err != nil {
		return err
	}
	if !*yes {
		ok, err := a.confirm(fmt.Sprintf("Delete profile %s with %d mailbox(es), their tokens and results? A backup of the store is written first.", domain, n),
			fmt.Sprintf("deleting profile %s (%d mailbox(es), their tokens and results) needs confirmation and there is no terminal to ask on; run `mailoauth profile rm %s --yes`", domain, n, domain))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintf(a.stdout, "Kept %s; nothing was deleted.\n", domain)
			return nil
		}
	}
	bak, err := st.TakeBackup()
	if err != nil {
		return err
	}
	if err := st.DeleteProfile(domain, actor()); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Deleted profile %s (%d mailbox(es)); the store before it is in %s.\n", domain, n, bak)
	return nil
}
