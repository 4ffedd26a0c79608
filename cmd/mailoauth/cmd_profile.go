package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

const profileSynopsis = "profile ls [--json] | rm DOMAIN [--yes]"

func newProfileCmd(a *app) *cobra.Command {
	ls := newListCmd("profile", a, profileList)
	rm := command(a, "profile rm", (*profileRemoveFlags).register, profileRemove)
	rm.Aliases = []string{"remove"}
	return parentCmd("profile", profileSynopsis, ls, rm)
}

type profileRemoveFlags struct{ yes bool }

func (o *profileRemoveFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "delete without asking (needed when standard input is not a terminal)")
}

func profileList(a *app, asJSON bool) error {
	return a.withStore(func(st *store.Store) error {
		states, err := st.ProfileStates()
		if err != nil {
			return err
		}
		if asJSON {
			return a.printJSON(orEmpty(states))
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
	})
}

func profileRemove(_ context.Context, a *app, pos []string, o *profileRemoveFlags) error {
	domain, err := core.NormalizeDomain(pos[0])
	if err != nil {
		return err
	}
	return a.withStore(func(st *store.Store) error {
		n, err := st.MailboxCount(domain) // also: the profile exists
		if err != nil {
			return err
		}
		if !o.yes {
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
	})
}
