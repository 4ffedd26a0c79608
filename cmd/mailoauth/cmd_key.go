package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
)

func newKeyCmd(a *app) *cobra.Command {
	inspect := command(a, "key inspect", (*keyInspectFlags).register, runKeyInspect)
	return parentCmd("key", "key inspect FILE", inspect)
}

type keyInspectFlags struct {
	p12pw, clientEmail, clientID string
	asJSON                       bool
}

func (o *keyInspectFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.p12pw, "p12-password", core.DefaultP12Password, "the `PASSWORD` of a .p12 key")
	f.StringVar(&o.clientEmail, "client-email", "", "the service account's `EMAIL` (a .p12 holds none)")
	f.StringVar(&o.clientID, "client-id", "", "the service account's numeric client `ID` (a .p12 holds none)")
	f.BoolVarP(&o.asJSON, "json", "j", false, "print JSON")
}

func runKeyInspect(ctx context.Context, a *app, pos []string, o *keyInspectFlags) error {
	ins, err := core.InspectCredentialFile(ctx, pos[0], core.CredentialOptions{P12Password: o.p12pw, ClientEmail: o.clientEmail, ClientID: o.clientID}, nil)
	if err != nil {
		if f := core.FindingOf(err); f != nil && o.asJSON {
			_ = json.NewEncoder(a.stdout).Encode(map[string]any{"file": pos[0], "ok": false, "finding": f})
		}
		return err
	}
	cred := ins.Credential
	saErr := cred.RequireServiceAccount()
	if o.asJSON {
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
		return a.printJSON(out)
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
		fmt.Fprintf(a.stdout, "This key can do domain-wide delegation: authorize %s.\n%s\n  %s\n", core.DelegatedClientID(cred.ClientID), core.DelegationLinkIntro, ins.DelegationLink)
	}
	return nil
}

// keyPolicyText explains, in the help, what to do when the organization
// blocks the creation of the key this command inspects.
func keyPolicyText() string {
	return strings.Join(append([]string{"No key to inspect? " + core.KeyPolicyHint}, core.KeyPolicyHelp...), "\n\n")
}
