package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mailoauth/mailoauth/core"
)

func runKey(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 || args[0] != "inspect" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(a.stdout, "Usage: mailoauth key inspect FILE [--p12-password P] [--client-email E] [--client-id ID] [--json]")
			return nil
		}
		return usagef("use `mailoauth key inspect FILE`")
	}
	fs := a.newFlags("key inspect", "key inspect FILE [--p12-password P] [--client-email E] [--client-id ID] [--json]")
	p12pw := fs.String("p12-password", core.DefaultP12Password, "password of a .p12 key")
	clientEmail := fs.String("client-email", "", "the service account's e-mail (a .p12 holds none)")
	clientID := fs.String("client-id", "", "the service account's numeric client ID (a .p12 holds none)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name exactly one file: mailoauth key inspect service-account.json")
	}
	cred, _, err := core.LoadCredentialFile(pos[0], core.CredentialOptions{P12Password: *p12pw, ClientEmail: *clientEmail, ClientID: *clientID})
	if err != nil {
		if f := core.FindingOf(err); f != nil && *asJSON {
			_ = json.NewEncoder(a.stdout).Encode(map[string]any{"file": pos[0], "ok": false, "finding": f})
		}
		return err
	}
	saErr := cred.RequireServiceAccount()
	if *asJSON {
		out := map[string]any{"file": pos[0], "ok": true, "credential": cred, "description": cred.Kind.Describe()}
		if f := core.FindingOf(saErr); f != nil {
			out["note"] = f
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printCredential(a, cred)
	if f := core.FindingOf(saErr); f != nil {
		fmt.Fprintf(a.stdout, "Note: %s %s\n", f.Summary, f.Fix)
	} else {
		fmt.Fprintf(a.stdout, "This key can do domain-wide delegation: authorize client ID %s in %s.\n", cred.ClientID, core.DelegationConsolePath)
	}
	return nil
}
