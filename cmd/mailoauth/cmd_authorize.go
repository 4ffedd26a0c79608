package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/consent"
)

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
	fmt.Fprintf(a.stdout, "\nConsent screen checklist (console.cloud.google.com > APIs & Services):\n")
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
		err = c.Preflight(ctx) // bounded by core.ConsentPreflightTimeout
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

type authorizeFlags struct {
	all, noBrowser, paste bool
	wait                  time.Duration
}

func newAuthorizeCmd(a *app) *cobra.Command {
	return command(a, "authorize", &cobra.Command{
		ValidArgsFunction: a.completeMailboxes,
	}, (*authorizeFlags).register, runAuthorize)
}

func (o *authorizeFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "every mailbox (and the default sender) that has not given consent yet")
	f.BoolVar(&o.noBrowser, "no-browser", false, "do not try to open a browser; only print the URL")
	f.BoolVar(&o.paste, "paste", false, "paste the address the browser ends on (or the code) instead of listening on 127.0.0.1: for SSH sessions and host-product callbacks")
	f.DurationVar(&o.wait, "wait", core.DefaultConsentWait, "how long to wait for each consent, a `DURATION`")
}

func runAuthorize(ctx context.Context, a *app, pos []string, o *authorizeFlags) error {
	if len(pos) == 0 && !o.all {
		return usagef("name a mailbox or use --all: mailoauth authorize user1@yourcompany.example")
	}
	st, p, err := a.openProfile(pos...)
	if err != nil {
		return err
	}
	defer st.Close()
	authz, err := consent.New(&p, st.TokenCache(p.Domain), nil)
	if err != nil {
		return err
	}
	targets, err := addresses(&p, pos)
	if err != nil {
		return err
	}
	if o.all {
		boxes, err := st.Mailboxes(p.Domain)
		if err != nil {
			return err
		}
		cands := []string{p.DefaultSender}
		for _, m := range boxes {
			cands = append(cands, m.Email)
		}
		for _, m := range dedupe(cands) {
			if !authz.State(m).Consented {
				targets = append(targets, m)
			}
		}
		if len(targets) == 0 {
			fmt.Fprintln(a.stdout, "Every mailbox has given consent; nothing to do.")
			return nil
		}
	}
	targets = dedupe(targets)
	lines := make(chan string)
	if o.paste {
		go func() {
			sc := bufio.NewScanner(a.stdin)
			sc.Buffer(make([]byte, 64<<10), 64<<10)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
	}
	opts := consent.Options{
		Paste: o.paste,
		Wait:  o.wait,
		ShowURL: func(mailbox, u string) {
			fmt.Fprintf(a.stderr, "\nConsent for %s: open this URL in a browser, sign in as %s and choose Allow:\n\n  %s\n\n", mailbox, mailbox, u)
			if o.paste {
				fmt.Fprintln(a.stderr, "Then paste the address the browser ends on (or just the code) and press Enter:")
			} else {
				fmt.Fprintln(a.stderr, "Waiting for Google's answer on this machine's 127.0.0.1 (Ctrl-C to stop; use --paste when the browser runs elsewhere)...")
			}
		},
		ReadPaste: func(ctx context.Context) (string, error) {
			select {
			case l, ok := <-lines:
				if !ok {
					return "", core.Inputf("standard input ended before the redirected address was pasted")
				}
				return l, nil
			case <-ctx.Done():
				return "", ctx.Err()
			}
		},
	}
	if !o.noBrowser && !o.paste {
		opts.OpenBrowser = consent.OpenBrowser
	}
	failed := 0
	for _, m := range targets {
		g, err := authz.Authorize(ctx, m, opts)
		if err != nil {
			f := core.FindingOf(err)
			if ctx.Err() != nil || (f == nil && len(targets) == 1) {
				return err
			}
			failed++
			fmt.Fprintf(a.stdout, "%s: consent not stored.\n", m)
			if f != nil {
				printFinding(a, f)
			} else {
				fmt.Fprintf(a.stdout, "  %v\n", err)
			}
			continue
		}
		fmt.Fprintf(a.stdout, "%s: consent stored. Access token valid for %d s; refresh token received (%s); scopes %s.\n",
			m, int(g.ExpiresIn.Seconds()), g.RefreshFingerprint, strings.Join(g.Scopes, " "))
	}
	if failed > 0 {
		if len(targets) > 1 {
			fmt.Fprintf(a.stdout, "%d of %d mailboxes still lack consent.\n", failed, len(targets))
		}
		return errChecksFailed
	}
	return nil
}
