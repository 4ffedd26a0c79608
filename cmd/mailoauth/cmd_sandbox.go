package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core/sandbox"
)

type sandboxFlags struct {
	dir, addr, domain     string
	users                 int
	delegate, autoConsent bool
	rtt                   time.Duration
}

func (o *sandboxFlags) register(cmd *cobra.Command) {
	// the sandbox uses no store and no profile: its help hides --db and --profile
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		for _, name := range []string{"db", "profile"} {
			_ = c.Root().PersistentFlags().MarkHidden(name)
		}
		c.Parent().HelpFunc()(c, args)
	})
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "the `DIR` to write service-account.json, oauth-client.json, ca.pem and endpoints.json into (required)")
	f.StringVar(&o.addr, "addr", "127.0.0.1", "the `HOST` address to listen on; ports are chosen by the OS")
	f.StringVar(&o.domain, "domain", "example.test", "the simulated Workspace `DOMAIN`")
	f.IntVar(&o.users, "users", 3, "make `N` users user1..userN (admin@DOMAIN always exists)")
	f.BoolVar(&o.delegate, "delegate", false, "authorize the generated key's client ID for https://mail.google.com/ from the start")
	f.BoolVar(&o.autoConsent, "auto-consent", false, "the consent page approves at once for the user in login_hint (scripts and tests)")
	f.DurationVar(&o.rtt, "rtt", 0, "the round-trip `DURATION` of a simulated Internet: every server reply (HTTP, IMAP, SMTP, TLS flight) reaches the client this much later, a connection's first one twice as late (TCP's connect), e.g. 50ms")
	_ = cmd.MarkFlagDirname("dir")
}

func runSandbox(ctx context.Context, a *app, _ []string, o *sandboxFlags) error {
	if o.dir == "" {
		return usagef("--dir is required: the sandbox writes its key, CA and endpoints.json there, e.g. --dir /tmp/gsandbox")
	}
	if o.users < 0 || o.users > 100000 {
		return usagef("--users %d is out of range; use 0 to 100000", o.users)
	}
	if o.rtt < 0 || o.rtt > sandbox.MaxRTT {
		return usagef("--rtt %s is out of range; use 0 to 1m, e.g. --rtt 50ms", o.rtt)
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %v; choose a writable --dir", o.dir, err)
	}
	sb, err := sandbox.Start(sandbox.Options{Addr: o.addr, Domain: o.domain, Users: o.users, Delegate: o.delegate, Dir: o.dir, AutoConsent: o.autoConsent, RTT: o.rtt})
	if err != nil {
		return err
	}
	defer sb.Close()
	ep := sb.Endpoints()
	fmt.Fprintf(a.stderr, "sandbox for %s: token %s, IMAP %s, SMTP %s, admin %s; client ID %s (delegation %s)\n",
		sb.Domain(), ep.TokenURL, ep.IMAP, ep.SMTP, ep.AdminURL, sb.ClientID(), map[bool]string{true: "authorized", false: "not yet authorized"}[o.delegate])
	fmt.Fprintln(a.stdout, "ready")
	<-ctx.Done()
	return nil
}
