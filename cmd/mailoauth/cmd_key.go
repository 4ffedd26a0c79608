package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

func runKey(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 || args[0] != "inspect" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(a.stdout, "Usage: mailoauth key inspect FILE [--p12-password P] [--client-email E] [--client-id ID] [--json]")
			printKeyPolicy(a)
			return nil
		}
		return usagef("use `mailoauth key inspect FILE`")
	}
	fs := a.newFlags("key inspect", "key inspect FILE [--p12-password P] [--client-email E] [--client-id ID] [--json]")
	p12pw := fs.String("p12-password", core.DefaultP12Password, "password of a .p12 key")
	clientEmail := fs.String("client-email", "", "the service account's e-mail (a .p12 holds none)")
	clientID := fs.String("client-id", "", "the service account's numeric client ID (a .p12 holds none)")
	asJSON := fs.Bool("json", false, "print JSON")
	usage := fs.Usage
	fs.Usage = func() { usage(); printKeyPolicy(a) }
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name exactly one file: mailoauth key inspect service-account.json")
	}
	ins, err := core.InspectCredentialFile(ctx, pos[0], core.CredentialOptions{P12Password: *p12pw, ClientEmail: *clientEmail, ClientID: *clientID}, nil)
	if err != nil {
		if f := core.FindingOf(err); f != nil && *asJSON {
			_ = json.NewEncoder(a.stdout).Encode(map[string]any{"file": pos[0], "ok": false, "finding": f})
		}
		return err
	}
	cred := ins.Credential
	saErr := cred.RequireServiceAccount()
	if *asJSON {
		out := map[string]any{"file": pos[0], "ok": true, "credential": cred, "description": ins.Description}
		if ins.Certificate != nil {
			out["certificate"] = ins.Certificate
		}
		if len(ins.Missing) > 0 {
			out["missing"] = ins.Missing
		}
		if ins.DelegationLink != "" {
			out["delegation_link"] = ins.DelegationLink
		}
		if f := core.FindingOf(saErr); f != nil {
			out["note"] = f
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printCredential(a, cred)
	if c := ins.Certificate; c != nil {
		fmt.Fprintf(a.stdout, "  %-15s serial %s, valid %s to %s%s\n", "Certificate:", c.Serial,
			c.NotBefore.Format(time.DateOnly), c.NotAfter.Format(time.DateOnly), map[bool]string{true: " (expired)"}[c.Expired])
	}
	switch f := core.FindingOf(saErr); {
	case len(ins.Missing) > 0:
		fmt.Fprintln(a.stdout, ins.MissingNote())
		for _, m := range ins.Missing {
			fmt.Fprintf(a.stdout, "  %s (%s): %s\n", m.Name, m.Flag, m.Where)
		}
	case f != nil:
		fmt.Fprintf(a.stdout, "Note: %s %s\n", f.Summary, f.Fix)
	default:
		fmt.Fprintf(a.stdout, "This key can do domain-wide delegation: authorize client ID %s in %s.\n%s\n  %s\n", cred.ClientID, core.DelegationConsolePath, core.DelegationLinkIntro, ins.DelegationLink)
	}
	return nil
}

// printKeyPolicy explains, in the help, what to do when the organization
// blocks the creation of the key this command inspects.
func printKeyPolicy(a *app) {
	fmt.Fprintf(a.stdout, "\n%s\n", wrapText("No key to inspect? "+core.KeyPolicyHint, 78))
	for _, p := range core.KeyPolicyHelp {
		fmt.Fprintf(a.stdout, "\n%s\n", wrapText(p, 78))
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
