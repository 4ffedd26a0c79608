package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/consent"
)

// setupFlags are the flags of setup; upgrade takes the credential ones too.
type setupFlags struct {
	domain, sender, keyPath, clientPath, secretFile, redirectURI string
	p12pw, clientEmail, clientID, endpointsPath, scopes          string
	noVerify                                                     bool
}

// addCredentialFlags adds the flags naming a credential (setup, upgrade).
func addCredentialFlags(cmd *cobra.Command, o *setupFlags, clientUse string) {
	f := cmd.Flags()
	f.StringVarP(&o.keyPath, "key", "k", "", "the service-account key `FILE`: the JSON Google downloaded, or a legacy .p12")
	f.StringVar(&o.clientPath, "client", "", "an OAuth client JSON `FILE`, \"web\" or \"installed\" ("+clientUse+")")
	f.StringVar(&o.secretFile, "client-secret-file", "", "a `FILE` holding the OAuth client's secret, with --client-id ID (the consent path without the JSON)")
	f.StringVar(&o.p12pw, "p12-password", core.DefaultP12Password, "the `PASSWORD` of a .p12 key")
	f.StringVar(&o.clientEmail, "client-email", "", "the service account's `EMAIL` (only for a .p12 key)")
	f.StringVar(&o.clientID, "client-id", "", "the service account's numeric client `ID` (for a .p12 key), or the OAuth client ID (with --client-secret-file)")
	f.StringVar(&o.endpointsPath, "endpoints", "", "the endpoints.json `FILE` for anything but Gmail (the sandbox, a test server)")
	for _, name := range []string{"key", "client", "client-secret-file", "endpoints"} {
		_ = cmd.MarkFlagFilename(name)
	}
}

func (o *setupFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.domain, "domain", "", "the Google Workspace `DOMAIN`, e.g. yourcompany.example")
	_ = cmd.RegisterFlagCompletionFunc("domain", completeProfiles)
	f.StringVar(&o.sender, "sender", "", "the default sender mailbox `ADDR` in the domain, e.g. administrator@yourcompany.example")
	addCredentialFlags(cmd, o, "the consent path: each mailbox then runs mailoauth authorize")
	f.StringVar(&o.redirectURI, "redirect-uri", "", "the OAuth client's redirect `URI` to use (default: its first loopback one, else http://127.0.0.1/ on a free port); a host product's callback needs authorize --paste")
	f.StringVar(&o.scopes, "scopes", core.ScopeMail, "the `SCOPES` to authorize, comma-separated")
	f.BoolVar(&o.noVerify, "no-verify", false, "save without minting a test token")
}

func runSetup(ctx context.Context, a *app, _ []string, o *setupFlags) error {
	if o.clientPath != "" || o.secretFile != "" {
		if o.keyPath != "" {
			return usagef("give either --key (service account) or --client / --client-secret-file (OAuth client), not both")
		}
		return setupOAuthClient(ctx, a, oauthSetup{domain: o.domain, sender: o.sender, clientPath: o.clientPath, clientID: o.clientID,
			secretFile: o.secretFile, redirect: o.redirectURI, endpoints: o.endpointsPath, scopes: o.scopes, noVerify: o.noVerify})
	}
	if o.domain == "" || o.sender == "" || o.keyPath == "" {
		return usagef("setup needs --domain, --sender and --key (or --client FILE for an OAuth client), e.g. mailoauth setup --domain yourcompany.example --sender administrator@yourcompany.example --key service-account.json")
	}
	d, err := core.NormalizeDomain(o.domain)
	if err != nil {
		return err
	}
	s, err := core.NormalizeMailbox(o.sender, d)
	if err != nil {
		return err
	}
	opts := core.CredentialOptions{P12Password: o.p12pw, ClientEmail: o.clientEmail, ClientID: o.clientID}
	cred, raw, err := core.LoadCredentialFile(ctx, o.keyPath, opts)
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
	if o.endpointsPath != "" {
		if ep, err = core.LoadEndpoints(ctx, o.endpointsPath); err != nil {
			return err
		}
	}
	sc := splitComma(o.scopes)
	if len(sc) == 0 {
		return usagef("--scopes is empty; use at least %s", core.ScopeMail)
	}
	p := core.Profile{Domain: d, DefaultSender: s, Credential: raw, Endpoints: ep, Scopes: sc, Updated: time.Now().UTC()}
	if cred.Kind == core.KindServiceAccountP12 {
		p.P12Password, p.P12ClientEmail, p.P12ClientID = o.p12pw, cred.ClientEmail, cred.ClientID
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
	if o.noVerify {
		return nil
	}
	tester, err := core.NewTester(&p, st.TokenCache(d))
	if err != nil {
		return err
	}
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res := tester.Check(vctx, s, []core.CheckName{core.CheckToken})
	// Kept as the sender's token check, as `test` would keep it: profile ls
	// and the wizard's profile step read the verification from it.
	if err := st.SaveResult(d, res); err != nil {
		return err
	}
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

// oauthClientFlags is an OAuth client as `setup` and `upgrade` take it: the
// JSON Google downloaded (--client FILE), or its client ID and a file holding
// its secret (--client-id ID --client-secret-file FILE), and optionally the
// redirect URI to use (--redirect-uri).
type oauthClientFlags struct {
	path, clientID, secretFile, redirect string
}

// given reports whether the flags name an OAuth client at all.
func (o oauthClientFlags) given() bool { return o.path != "" || o.secretFile != "" }

// loadOAuthClient reads and validates the OAuth client of `setup` and
// `upgrade`: one code path, so both accept and refuse the same files with the
// same sentences. raw is what a profile stores: the file as downloaded, or
// for a client entered by hand the JSON Google would have downloaded, naming
// ep's consent and token URLs.
func loadOAuthClient(ctx context.Context, o oauthClientFlags, ep core.Endpoints) (*core.Credential, []byte, error) {
	if o.path != "" && o.secretFile != "" {
		return nil, nil, usagef("give either --client FILE (the downloaded client JSON) or --client-id ID with --client-secret-file FILE, not both")
	}
	var cred *core.Credential
	var raw []byte
	var err error
	switch {
	case o.path != "":
		if cred, raw, err = core.LoadCredentialFile(ctx, o.path, core.CredentialOptions{}); err != nil {
			return nil, nil, err
		}
		if err := cred.RequireOAuthClient(); err != nil {
			return nil, nil, err
		}
	case o.secretFile != "":
		if o.clientID == "" {
			return nil, nil, usagef("--client-secret-file needs --client-id, the Client ID ending in %s", core.OAuthClientIDSuffix)
		}
		secret, err := core.ReadUserFile(ctx, o.secretFile, core.SecretFile)
		if err != nil {
			return nil, nil, err
		}
		if cred, err = core.NewOAuthClientCredential(o.clientID, string(secret), nil); err != nil {
			return nil, nil, err
		}
		raw = core.OAuthClientFileJSON(cred, ep)
	default:
		return nil, nil, usagef("name the OAuth client with --client FILE (the JSON downloaded from the Google console) or --client-id ID --client-secret-file FILE")
	}
	if o.redirect != "" {
		if err := (&core.Credential{Kind: core.KindOAuthClient, ClientID: cred.ClientID, ClientSecret: "x", RedirectURIs: []string{o.redirect}}).RequireOAuthClient(); err != nil {
			return nil, nil, err
		}
	}
	return cred, raw, nil
}

// printConsentChecklist prints what to set on the consent screen for the
// profile's OAuth client (setup and upgrade).
func printConsentChecklist(a *app, p *core.Profile, cred *core.Credential) {
	fmt.Fprintf(a.stdout, "\nConsent screen checklist (%s):\n", core.APIsConsolePath)
	for _, line := range core.ConsentChecklist(p, cred) {
		fmt.Fprintf(a.stdout, "  - %s: %s\n", line.Item, line.Value)
	}
}

// oauthSetup is `setup` for the OAuth client (consent) path.
type oauthSetup struct {
	domain, sender, clientPath, clientID, secretFile, redirect, endpoints, scopes string
	noVerify                                                                      bool
}

func setupOAuthClient(ctx context.Context, a *app, o oauthSetup) error {
	if o.domain == "" || o.sender == "" {
		return usagef("setup needs --domain and --sender, e.g. mailoauth setup --domain yourcompany.example --sender administrator@yourcompany.example --client client_secret.json")
	}
	d, err := core.NormalizeDomain(o.domain)
	if err != nil {
		return err
	}
	// The sender is a mailbox of this OAuth client profile: any domain.
	s, err := core.MailboxRule{Domain: d, Kind: core.KindOAuthClient}.Address(o.sender)
	if err != nil {
		return err
	}
	ep := core.GmailEndpoints()
	if o.endpoints != "" {
		if ep, err = core.LoadEndpoints(ctx, o.endpoints); err != nil {
			return err
		}
	}
	cred, raw, err := loadOAuthClient(ctx, oauthClientFlags{path: o.clientPath, clientID: o.clientID, secretFile: o.secretFile, redirect: o.redirect}, ep)
	if err != nil {
		return err
	}
	sc := splitComma(o.scopes)
	if len(sc) == 0 {
		return usagef("--scopes is empty; use at least %s", core.ScopeMail)
	}
	p := core.Profile{Domain: d, DefaultSender: s, Credential: raw, Endpoints: ep, Scopes: sc, RedirectURI: o.redirect, Updated: time.Now().UTC()}
	st, err := a.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	if old, err := st.Profile(d); err == nil {
		p.WizardStep, p.ConsentUserType, p.ConsentPublishing = old.WizardStep, old.ConsentUserType, old.ConsentPublishing
	}
	if err := st.SaveProfile(p, actor()); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Saved profile %s (default sender %s) in %s.\n", d, s, st.Path())
	printCredential(a, cred)
	redirect := core.ConsentRedirectURI(&p, cred, false)
	if !core.IsLoopbackURI(redirect) {
		redirect = core.ConsentRedirectURI(&p, cred, true)
	}
	printConsentChecklist(a, &p, cred)
	if o.noVerify {
		return nil
	}
	authz, err := consent.New(&p, st.TokenCache(d), nil)
	if err != nil {
		return err
	}
	c, err := authz.NewConsent(s, redirect)
	if err == nil {
		err = c.Preflight(ctx) // bounded by core at 15 s
	}
	if err != nil {
		if f := core.FindingOf(err); f != nil {
			fmt.Fprintf(a.stdout, "\nVerify: Google's consent page for %s shows an error.\n", s)
			printFinding(a, f)
			fmt.Fprintln(a.stdout, "The profile is saved; run `mailoauth authorize "+s+"` once the fix is in place.")
			return errChecksFailed
		}
		return err
	}
	fmt.Fprintf(a.stdout, "\nVerify: Google's consent page accepts client %s and redirect URI %s.\nNext: each mailbox gives consent once: `mailoauth authorize %s` (or `mailoauth authorize --all` after `mailbox import`).\n", cred.ClientID, redirect, s)
	return nil
}
