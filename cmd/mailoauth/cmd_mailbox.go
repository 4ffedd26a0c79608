package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mailoauth/mailoauth/core"
)

const mailboxSynopsis = "mailbox ls [--json] | add ADDR [--name N] [--owner KIND:NAME] | rm ADDR | import FILE.csv | export"

func runMailbox(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("use `mailoauth %s`", mailboxSynopsis)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "ls", "list":
		return mailboxList(a, rest)
	case "add":
		return mailboxAdd(a, rest)
	case "rm", "remove":
		return mailboxRemove(a, rest)
	case "import":
		return mailboxImport(ctx, a, rest)
	case "export":
		return mailboxExport(a, rest)
	case "-h", "--help", "help":
		fmt.Fprintf(a.stdout, "Usage: mailoauth %s\n\nCSV columns (with a header): %s\nOwner kinds: user, workgroup, attendant, acd.\n", mailboxSynopsis, strings.Join(core.CSVHeader, ","))
		return nil
	}
	return usagef("unknown mailbox command %q; use `mailoauth %s`", sub, mailboxSynopsis)
}

func mailboxList(a *app, args []string) error {
	fs := a.newFlags("mailbox ls", "mailbox ls [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	st, p, err := a.openProfile()
	if err != nil {
		return err
	}
	defer st.Close()
	boxes, err := st.Mailboxes(p.Domain)
	if err != nil {
		return err
	}
	if *asJSON {
		if boxes == nil {
			boxes = []core.Mailbox{}
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(boxes)
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

func mailboxAdd(a *app, args []string) error {
	fs := a.newFlags("mailbox add", "mailbox add ADDR [--name N] [--owner KIND:NAME]")
	name := fs.String("name", "", "display name (default: the address, as Gmail uses)")
	owner := fs.String("owner", "user", "owner in the host product as KIND:NAME, KIND one of user, workgroup, attendant, acd")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name one address: mailoauth mailbox add user1@yourcompany.example --owner user:Alice")
	}
	kind, ownerName, _ := strings.Cut(*owner, ":")
	st, p, err := a.openProfile(pos[0])
	if err != nil {
		return err
	}
	defer st.Close()
	m := core.Mailbox{Email: pos[0], DisplayName: *name, OwnerKind: core.OwnerKind(kind), OwnerName: ownerName}
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

func mailboxRemove(a *app, args []string) error {
	fs := a.newFlags("mailbox rm", "mailbox rm ADDR")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name one address: mailoauth mailbox rm user1@yourcompany.example")
	}
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

func mailboxImport(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("mailbox import", "mailbox import FILE.csv")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name one CSV file with the header %s", strings.Join(core.CSVHeader, ","))
	}
	data, err := core.ReadUserFile(ctx, pos[0], core.CSVFile)
	if err != nil {
		return err
	}
	st, p, err := a.openProfile()
	if err != nil {
		return err
	}
	defer st.Close()
	boxes, err := p.MailboxRule().ParseCSV(bytes.NewReader(data), pos[0])
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

func mailboxExport(a *app, args []string) error {
	fs := a.newFlags("mailbox export", "mailbox export")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	st, p, err := a.openProfile()
	if err != nil {
		return err
	}
	defer st.Close()
	boxes, err := st.Mailboxes(p.Domain)
	if err != nil {
		return err
	}
	return core.WriteMailboxCSV(a.stdout, boxes)
}
