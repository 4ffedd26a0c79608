package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/mailboxcsv"
)

const mailboxSynopsis = "mailbox ls [--json] | add ADDR [--name NAME] [--owner KIND:NAME] | rm ADDR | import FILE.csv | export"

func newMailboxCmd(a *app) *cobra.Command {
	ls := newListCmd("mailbox", a, mailboxList)
	add := command(a, "mailbox add", (*mailboxAddFlags).register, mailboxAdd)
	rm := flaglessCommand(a, "mailbox rm", mailboxRemove)
	rm.Aliases = []string{"remove"}
	imp := flaglessCommand(a, "mailbox import", mailboxImport)
	exp := flaglessCommand(a, "mailbox export", mailboxExport)
	return parentCmd("mailbox", mailboxSynopsis, ls, add, rm, imp, exp)
}

type mailboxAddFlags struct{ name, owner string }

func (o *mailboxAddFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.name, "name", "", "display `NAME` (default: the address, as Gmail uses)")
	cmd.Flags().StringVar(&o.owner, "owner", "user", "owner in the host product as `KIND:NAME`, KIND one of user, workgroup, attendant, acd")
}

func mailboxList(a *app, asJSON bool) error {
	st, p, boxes, err := a.openMailboxes()
	if err != nil {
		return err
	}
	defer st.Close()
	if asJSON {
		return a.printJSON(orEmpty(boxes))
	}
	results, _ := st.Results(p.Domain)
	// On the OAuth client path each mailbox needs its owner's consent.
	var consents map[string]core.ConsentState
	if cred, err := p.LoadCredential(); err == nil && cred.Kind == core.KindOAuthClient {
		if consents, err = st.ConsentStates(p.Domain, cred.ClientID); err != nil {
			return err
		}
	}
	cols := []column{{"EMAIL", 48, false}, {"DISPLAY NAME", 32, true}, {"OWNER", 32, true}, {"LAST TEST", 48, false}}
	if consents != nil {
		cols = append(cols, column{"CONSENT", 48, false})
	}
	rows := make([][]string, 0, len(boxes))
	for _, m := range boxes {
		last := "never"
		if r, ok := results[m.Email]; ok {
			last = "passed"
			if !r.OK && r.Finding != nil {
				last = "failed: " + string(r.Finding.Code)
			}
			last += " " + r.CheckedAt.Local().Format("2006-01-02 15:04")
		}
		owner := string(m.OwnerKind)
		if m.OwnerName != "" {
			owner += ":" + m.OwnerName
		}
		row := []string{m.Email, m.DisplayName, owner, last}
		if consents != nil {
			row = append(row, consents[m.Email].Summary("2006-01-02"))
		}
		rows = append(rows, row)
	}
	if err := writeTable(a.stdout, cols, rows); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%d mailbox(es) in %s\n", len(boxes), p.Domain)
	return nil
}

func mailboxAdd(_ context.Context, a *app, pos []string, o *mailboxAddFlags) error {
	kind, ownerName, _ := strings.Cut(o.owner, ":")
	st, p, err := a.openProfile(pos[0])
	if err != nil {
		return err
	}
	defer st.Close()
	m := core.Mailbox{Email: pos[0], DisplayName: o.name, OwnerKind: core.OwnerKind(kind), OwnerName: ownerName}
	if err := p.MailboxRule().Mailbox(&m); err != nil {
		return err
	}
	existed, err := st.HasMailbox(p.Domain, m.Email)
	if err != nil {
		return err
	}
	if err := st.PutMailbox(p.Domain, m, actor()); err != nil {
		return err
	}
	who := string(m.OwnerKind)
	if m.OwnerName != "" {
		who += " " + m.OwnerName
	}
	verb := "Assigned"
	if existed { // add of an assigned mailbox updates its name and owner
		verb = "Updated"
	}
	fmt.Fprintf(a.stdout, "%s %s (%s, %s).\n", verb, m.Email, m.DisplayName, who)
	return nil
}

func mailboxRemove(_ context.Context, a *app, pos []string) error {
	st, p, email, err := a.openMailbox(pos[0])
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.DeleteMailbox(p.Domain, email, actor()); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Removed %s.\n", email)
	return nil
}

func mailboxImport(ctx context.Context, a *app, pos []string) error {
	data, err := core.ReadUserFile(ctx, pos[0], core.CSVFile)
	if err != nil {
		return err
	}
	st, p, err := a.openProfile()
	if err != nil {
		return err
	}
	defer st.Close()
	boxes, err := mailboxcsv.Parse(p.MailboxRule(), bytes.NewReader(data), pos[0])
	if err != nil {
		return err
	}
	if err := st.PutMailboxes(p.Domain, boxes, actor()); err != nil {
		return err
	}
	n, _ := st.MailboxCount(p.Domain)
	fmt.Fprintf(a.stdout, "Imported %d mailbox(es) from %s; %s now has %d.\n", len(boxes), pos[0], p.Domain, n)
	return nil
}

func mailboxExport(_ context.Context, a *app, _ []string) error {
	st, _, boxes, err := a.openMailboxes()
	if err != nil {
		return err
	}
	defer st.Close()
	return mailboxcsv.Write(a.stdout, boxes)
}
