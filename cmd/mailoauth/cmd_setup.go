package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

func runSetup(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("setup", "setup --domain D --sender ADDR (--key FILE [--p12-password P --client-email E --client-id ID] | --client FILE | --client-id ID --client-secret-file F) [--redirect-uri URI] [--endpoints FILE] [--scopes S,...] [--no-verify]")
	domain := fs.String("domain", "", "the Google Workspace domain, e.g. yourcompany.example")
	sender := fs.String("sender", "", "the default sender mailbox in the domain, e.g. administrator@yourcompany.example")
	keyPath := fs.String("key", "", "the service-account key: the JSON Google downloaded, or a legacy .p12")
	clientPath := fs.String("client", "", "an OAuth client JSON, \"web\" or \"installed\" (the consent path: each mailbox then runs `mailoauth authorize`)")
	secretFile := fs.String("client-secret-file", "", "a file holding the OAuth client's secret, with --client-id ID (the consent path without the JSON)")
	redirectURI := fs.String("redirect-uri", "", "the OAuth client's redirect URI to use (default: its first loopback one, else http://127.0.0.1/ on a free port); a host product's callback needs `authorize --paste`")
	p12pw := fs.String("p12-password", core.DefaultP12Password, "password of a .p12 key")
	clientEmail := fs.String("client-email", "", "the service account's e-mail (only for a .p12 key)")
	clientID := fs.String("client-id", "", "the service account's numeric client ID (for a .p12 key), or the OAuth client ID (with --client-secret-file)")
	endpointsPath := fs.String("endpoints", "", "endpoints.json for anything but Gmail (the sandbox, a test server)")
	scopes := fs.String("scopes", core.ScopeMail, "comma-separated scopes to authorize")
	noVerify := fs.Bool("no-verify", false, "save without minting a test token")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *clientPath != "" || *secretFile != "" {
		if *keyPath != "" {
			return usagef("give either --key (service account) or --client / --client-secret-file (OAuth client), not both")
		}
		return setupOAuthClient(ctx, a, oauthSetup{domain: *domain, sender: *sender, clientPath: *clientPath, clientID: *clientID,
			secretFile: *secretFile, redirect: *redirectURI, endpoints: *endpointsPath, scopes: *scopes, noVerify: *noVerify})
	}
	if *domain == "" || *sender == "" || *keyPath == "" {
		return usagef("setup needs --domain, --sender and --key (or --client FILE for an OAuth client), e.g. mailoauth setup --domain yourcompany.example --sender administrator@yourcompany.example --key service-account.json")
	}
	d, err := core.NormalizeDomain(*domain)
	if err != nil {
		return err
	}
	s, err := core.NormalizeMailbox(*sender, d)
	if err != nil {
		return err
	}
	opts := core.CredentialOptions{P12Password: *p12pw, ClientEmail: *clientEmail, ClientID: *clientID}
	cred, raw, err := core.LoadCredentialFile(ctx, *keyPath, opts)
	if err != nil {
		return err
	}
	if err := cred.RequireServiceAccount(); err != nil {
		return err
	}
	if err := core.RequireWorkspaceDomain(d); err != nil {
		return err
	}
	ep := core.GmailEndpoints()
	if *endpointsPath != "" {
		if ep, err = core.LoadEndpoints(ctx, *endpointsPath); err != nil {
			return err
		}
	}
	sc := splitComma(*scopes)
	if len(sc) == 0 {
		return usagef("--scopes is empty; use at least %s", core.ScopeMail)
	}
	p := core.Profile{Domain: d, DefaultSender: s, Credential: raw, Endpoints: ep, Scopes: sc, Updated: time.Now().UTC()}
	if cred.Kind == core.KindServiceAccountP12 {
		p.P12Password, p.P12ClientEmail, p.P12ClientID = *p12pw, cred.ClientEmail, cred.ClientID
	}
	st, err := a.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	if old, err := st.Profile(d); err == nil {
		p.WizardStep = old.WizardStep
	}
	if err := st.SaveProfile(p, actor()); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Saved profile %s (default sender %s) in %s.\n", d, s, st.Path())
	printCredential(a, cred)
	fmt.Fprintf(a.stdout, "\n%s\n  Client ID:    %s\n  OAuth scopes: %s\n%s\n  %s\n", core.DelegationSteps(), cred.ClientID, strings.Join(sc, ","), core.DelegationLinkIntro, core.DelegationLink(cred.ClientID, sc))
	if *noVerify {
		return nil
	}
	tester, err := core.NewTester(&p, st.TokenCache(d))
	if err != nil {
		return err
	}
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res := tester.Check(vctx, s, []core.CheckName{core.CheckToken})
	if !res.OK {
		fmt.Fprintf(a.stdout, "\nVerify: a token for %s could not be minted.\n", s)
		printFinding(a, res.Finding)
		fmt.Fprintln(a.stdout, "The profile is saved; run `mailoauth test` once the fix is in place.")
		return errChecksFailed
	}
	fmt.Fprintf(a.stdout, "\nVerify: a token for %s was minted; delegation works. Next: `mailoauth mailbox import FILE.csv`, then `mailoauth test --all`.\n", s)
	return nil
}

func printCredential(a *app, c *core.Credential) {
	fmt.Fprintf(a.stdout, "Credential: %s\n", c.Kind.Describe())
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(a.stdout, "  %-15s %s\n", k+":", core.SafeText(v)) // the key file's text
		}
	}
	row("Client ID", c.ClientID)
	row("Client e-mail", c.ClientEmail)
	row("Project", c.ProjectID)
	row("Key ID", c.PrivateKeyID)
	row("Fingerprint", c.Fingerprint)
}

func printFinding(a *app, f *core.Finding) {
	if f == nil {
		return
	}
	fmt.Fprintf(a.stdout, "  [%s] %s\n  Fix: %s\n", f.Code, f.Summary, f.Fix)
}
