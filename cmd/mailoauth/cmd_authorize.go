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

type authorizeFlags struct {
	all, noBrowser, paste bool
	wait                  time.Duration
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
