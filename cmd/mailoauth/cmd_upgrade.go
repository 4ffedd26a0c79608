package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/proxy"
	"github.com/mailoauth/mailoauth/store"
	"github.com/mailoauth/mailoauth/tui"
)

// resumeCredentials is the wizard's resume point of a profile the legacy
// setup created: its credentials step (Profile.WizardStep is step+1).
const resumeCredentials = 3

type upgradeFlags struct {
	setupFlags
	legacyPath, checks   string
	yes, purge, viaProxy bool
	concurrency          int
	proxyIMAP, proxySMTP string
}

func (o *upgradeFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.legacyPath, "legacy", "", "the legacy (password) configuration `FILE` exported by the host product, JSON")
	f.BoolVarP(&o.yes, "yes", "y", false, "upgrade without the wizard (no terminal needed): needs --key or --client unless the profile already has credentials")
	addCredentialFlags(cmd, &o.setupFlags, "the consent path: each mailbox switches once its owner ran mailoauth authorize and its check passed")
	f.StringVar(&o.redirectURI, "redirect-uri", "", "the OAuth client's redirect `URI` to use (default: its first loopback one); a host product's callback needs authorize --paste")
	f.StringVar(&o.domain, "domain", "", "the `DOMAIN` to upgrade (default: the legacy file's, or the store's only profile)")
	_ = cmd.RegisterFlagCompletionFunc("domain", completeProfiles)
	addChecksFlag(cmd, &o.checks, "", "the OAuth `CHECKS` a mailbox must pass before it switches (default: token,imap,smtp,roundtrip)")
	f.IntVar(&o.concurrency, "concurrency", core.DefaultConcurrency, "check at most `N` mailboxes at once")
	f.BoolVar(&o.purge, "purge-backups", false, "remove the backups beside the store that still hold legacy passwords (asks on a terminal; --yes without one), and nothing else")
	f.BoolVar(&o.viaProxy, "via-proxy", false, "for a product that cannot do OAuth: give each upgraded mailbox a proxy password, check it through mailoauth proxy, and print the proxy's settings instead (with --yes)")
	f.StringVar(&o.proxyIMAP, "proxy-imap", proxy.DefaultIMAPAddr, "with --via-proxy: the `HOST:PORT` where the product will reach mailoauth proxy --imap")
	f.StringVar(&o.proxySMTP, "proxy-smtp", proxy.DefaultSMTPAddr, "with --via-proxy: the `HOST:PORT` where the product will reach mailoauth proxy --smtp")
	_ = cmd.MarkFlagFilename("legacy", "json")
}

func runUpgrade(ctx context.Context, a *app, _ []string, o *upgradeFlags) error {
	if o.purge {
		return a.withStore(func(st *store.Store) error { return purgePasswordBackups(a, st, o.yes) })
	}
	client := oauthClientFlags{path: o.clientPath, clientID: o.clientID, secretFile: o.secretFile, redirect: o.redirectURI}
	if client.given() && o.keyPath != "" {
		return usagef("give either --key (service account) or --client / --client-secret-file (OAuth client), not both")
	}
	checks, err := core.ParseChecks(o.checks)
	if err != nil {
		return err
	}
	if err := checkConcurrency(o.concurrency); err != nil {
		return err
	}
	interactive := !o.yes
	if o.viaProxy && interactive {
		return usagef("--via-proxy goes with --yes (in the wizard the summary step offers the proxy settings)")
	}
	if interactive && (!isTerminal(os.Stdin) || !isTerminal(os.Stdout)) {
		return usagef("upgrade opens the wizard and needs a terminal; without one run `mailoauth upgrade --yes --key service-account.json [--legacy FILE] [--endpoints FILE]` (or --client client_secret.json instead of --key)")
	}
	var legacy *core.LegacyConfig
	if o.legacyPath != "" {
		if legacy, err = core.LoadLegacy(ctx, o.legacyPath); err != nil {
			return err
		}
	}
	var cred *core.Credential
	var raw []byte
	if o.keyPath != "" {
		opts := core.CredentialOptions{P12Password: o.p12pw, ClientEmail: o.clientEmail, ClientID: o.clientID}
		if cred, raw, err = core.LoadCredentialFile(ctx, o.keyPath, opts); err != nil {
			return err
		}
		if err := cred.RequireServiceAccount(); err != nil {
			return err
		}
	}
	var ep *core.Endpoints
	if o.endpointsPath != "" {
		e, err := core.LoadEndpoints(ctx, o.endpointsPath)
		if err != nil {
			return err
		}
		ep = &e
	}
	if client.given() {
		// validated before the store is touched; a client entered by hand
		// is written out below with the profile's endpoints
		clientEP := core.GmailEndpoints()
		if ep != nil {
			clientEP = *ep
		}
		if cred, raw, err = loadOAuthClient(ctx, client, clientEP); err != nil {
			return err
		}
	}

	// The store first (a schema migration backs it up on its own); a
	// timestamped copy is taken below, only when something will change and
	// only of a store that existed before this run (a new one holds nothing).
	_, statErr := os.Stat(a.storePath())
	newStore := errors.Is(statErr, os.ErrNotExist)
	st, err := a.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	backedUp, wizardOpen, backupLine := false, false, ""
	backup := func() error {
		if backedUp || newStore {
			return nil
		}
		b, err := st.TakeBackup()
		if err != nil {
			return err
		}
		backedUp = true
		line := fmt.Sprintf("Backed up the store to %s (schema now %d).", b, st.SchemaVersion())
		if wizardOpen { // the wizard's screen is not the place; said after it
			backupLine = line
		} else {
			fmt.Fprintln(a.stdout, line)
		}
		return nil
	}
	who := actor()
	if interactive {
		who = store.LocalActor("wizard")
	}

	domain, err := upgradeDomain(a, st, legacy, o.domain)
	if err != nil {
		return err
	}
	var intro []string // the wizard's first screen
	var risks []*core.Finding
	if legacy != nil {
		existing, err := st.Profile(domain)
		var have []core.Mailbox
		pending := map[string]bool{}
		switch {
		case err == nil:
			if have, err = st.Mailboxes(domain); err != nil {
				return err
			}
			ps, err := st.PendingUpgrades(domain)
			if err != nil {
				return err
			}
			for _, m := range ps {
				pending[m] = true
			}
		case errors.Is(err, store.ErrNotFound):
		default:
			return err
		}
		var ex *core.Profile
		if err == nil {
			ex = &existing
		}
		plan := core.PlanUpgrade(legacy, ex, have, pending)
		if plan.Profile != nil {
			plan.Profile.WizardStep = resumeCredentials
		}
		if plan.Profile != nil || len(plan.Add) > 0 || len(plan.Passwords) > 0 {
			if err := backup(); err != nil {
				return err
			}
		}
		if err := st.ImportLegacy(plan, who); err != nil {
			return err
		}
		line := fmt.Sprintf("Legacy setup %s: %d mailbox(es); %d new in the store, %d waiting for OAuth (passwords sealed), %d already on OAuth.",
			o.legacyPath, len(legacy.Mailboxes), len(plan.Add), len(plan.Passwords), len(plan.OnOAuth))
		fmt.Fprintln(a.stdout, line)
		intro, risks = append(intro, line), plan.Risks
		for _, r := range plan.Risks {
			fmt.Fprintln(a.stdout, "Risk:")
			printFinding(a, r)
		}
	}

	p, rev, err := st.ProfileWithRevision(domain)
	if err != nil {
		return err
	}
	if cred != nil || ep != nil {
		before := p
		if ep != nil {
			p.Endpoints = *ep
		}
		if cred != nil {
			if client.secretFile != "" {
				raw = core.OAuthClientFileJSON(cred, p.Endpoints)
			}
			p.Credential, p.P12Password, p.P12ClientEmail, p.P12ClientID = raw, "", "", ""
			if cred.Kind == core.KindServiceAccountP12 {
				p.P12Password, p.P12ClientEmail, p.P12ClientID = o.p12pw, cred.ClientEmail, cred.ClientID
			}
			if client.redirect != "" {
				p.RedirectURI = client.redirect
			}
			printCredential(a, cred)
		}
		if !reflect.DeepEqual(before, p) { // the same key and endpoints again change nothing
			if err := backup(); err != nil {
				return err
			}
			if err := st.SaveProfileIfUnchanged(p, rev, who); err != nil {
				return err
			}
		}
		if cred != nil && cred.Kind == core.KindOAuthClient {
			printConsentChecklist(a, &p, cred)
		}
	}

	if interactive {
		wizardOpen = true
		err := tui.Run(ctx, tui.Config{Store: st, Actor: who, Profile: domain, Upgrade: true, UpgradeSummary: intro, UpgradeRisks: risks, BeforeSwitch: backup})
		wizardOpen = false
		if backupLine != "" {
			fmt.Fprintln(a.stdout, backupLine)
		}
		if err != nil {
			return err
		}
		left, err := st.PendingUpgrades(domain)
		if err != nil {
			return err
		}
		if len(left) > 0 {
			fmt.Fprintf(a.stdout, "%d mailbox(es) of %s still sign in with a password; run `mailoauth upgrade` again once their checks pass.\n", len(left), domain)
			if err := reportPasswordBackups(a, st); err != nil {
				return err
			}
			return errChecksFailed
		}
		fmt.Fprintf(a.stdout, "Every mailbox of %s is on OAuth.\n", domain)
		return reportPasswordBackups(a, st)
	}

	if len(p.Credential) == 0 {
		return usagef("the profile %s has no credentials yet; pass the service-account key with --key FILE or the OAuth client with --client FILE (and --endpoints FILE for anything but Gmail)", domain)
	}
	pending, err := core.PendingMailboxes(st, domain)
	if err != nil {
		return err
	}
	// The same run as `mailoauth test` and the wizard's: it checks, switches
	// the mailboxes that passed (backing the store up first) and saves the
	// results with what the switch did.
	progress := newProgressLine(a, len(pending), isTerminal(os.Stderr))
	beforeSwitch := func() error {
		progress.done() // the checks are over: the backup's line stands alone
		return backup()
	}
	run, err := core.Run(ctx, core.RunRequest{Profile: p, Mailboxes: pending, Checks: checks,
		Tokens: st.TokenCache(domain), Concurrency: o.concurrency, OnEvent: progress.onEvent(), Results: st,
		OnResult: func(core.MailboxResult) {}, // run.Upgrade has them; Run need not keep a copy
		Upgrade:  &core.RunUpgrade{Store: st, Actor: who, BeforeSwitch: beforeSwitch}})
	if err != nil {
		return err // no check ran
	}
	progress.done()
	if run.UpgradeErr != nil {
		return run.UpgradeErr
	}
	if run.SaveErr != nil {
		return run.SaveErr
	}
	rep := run.Upgrade
	for _, r := range rep.Upgraded {
		fmt.Fprintf(a.stdout, "upgraded  %s (password erased from the store)\n", r.Mailbox)
	}
	stopped := 0 // by an interrupt: still pending, but not for a finding
	for _, r := range rep.Pending {
		if r.Cancelled() {
			stopped++
			continue
		}
		fmt.Fprintf(a.stdout, "pending   %s (keeps its password)\n", r.Mailbox)
		printFinding(a, r.Finding)
	}
	fmt.Fprintf(a.stdout, "%d upgraded to OAuth, %d pending%s.\n", len(rep.Upgraded), len(rep.Pending)-stopped, notRun(stopped))
	var proxyErr error
	if o.viaProxy {
		proxyErr = upgradeViaProxy(ctx, a, st, rep.Upgraded, o.proxyIMAP, o.proxySMTP)
	}
	if !backedUp && !newStore {
		fmt.Fprintln(a.stdout, "Nothing changed, so no backup was made.")
	}
	if err := reportPasswordBackups(a, st); err != nil {
		return err
	}
	if !rep.Done() {
		if n := needConsent(rep.Pending); n > 0 {
			fmt.Fprintf(a.stdout, "%d pending mailbox(es) wait for their owner's consent: run `mailoauth authorize ADDR` for each (or `mailoauth authorize --all` for every mailbox still lacking it); each keeps its password until then.\n", n)
		}
		if len(rep.Pending) > stopped {
			fmt.Fprintln(a.stdout, "Fix the findings above, then run `mailoauth upgrade --yes` again: it picks up only the pending mailboxes.")
		}
		if stopped > 0 {
			return context.Canceled // main: interrupted, run it again to finish (exit 130)
		}
		return errChecksFailed
	}
	return proxyErr
}

// upgradeDomain picks the profile to upgrade: --domain, the legacy file's
// domain, --profile, or the store's only profile.
func upgradeDomain(a *app, st *store.Store, legacy *core.LegacyConfig, flag string) (string, error) {
	if flag == "" {
		flag = a.profile
	}
	if flag != "" {
		d, err := core.NormalizeDomain(flag)
		if err != nil {
			return "", err
		}
		if legacy != nil && legacy.Domain != d {
			return "", usagef("the legacy configuration is for %s but --domain is %s; drop --domain or pass the legacy file of %s", legacy.Domain, d, d)
		}
		return d, nil
	}
	if legacy != nil {
		return legacy.Domain, nil
	}
	p, err := a.currentProfile(st)
	if err != nil {
		return "", err
	}
	return p.Domain, nil
}

// needConsent counts the pending mailboxes whose owner has not consented
// (OAuth client path): one line then names the command that walks them all.
func needConsent(pending []core.MailboxResult) int {
	n := 0
	for _, r := range pending {
		if r.Finding != nil && r.Finding.Code == core.CodeConsentRequired {
			n++
		}
	}
	return n
}
