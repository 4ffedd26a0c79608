package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/mailoauth/mailoauth/core/sandbox"
)

func runSandbox(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("sandbox", "sandbox --dir DIR [--addr 127.0.0.1] [--domain example.test] [--users N] [--delegate] [--auto-consent] [--rtt 50ms]")
	dir := fs.String("dir", "", "directory for service-account.json, oauth-client.json, ca.pem and endpoints.json (required)")
	addr := fs.String("addr", "127.0.0.1", "address to listen on; ports are chosen by the OS")
	domain := fs.String("domain", "example.test", "the simulated Workspace domain")
	users := fs.Int("users", 3, "number of users user1..userN (admin@DOMAIN always exists)")
	delegate := fs.Bool("delegate", false, "authorize the generated key's client ID for https://mail.google.com/ from the start")
	autoConsent := fs.Bool("auto-consent", false, "the consent page approves at once for the user in login_hint (scripts and tests)")
	rtt := fs.Duration("rtt", 0, "round-trip time of a simulated Internet: every server reply (HTTP, IMAP, SMTP, TLS flight) reaches the client this much later, e.g. 50ms")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("--dir is required: the sandbox writes its key, CA and endpoints.json there, e.g. --dir /tmp/gsandbox")
	}
	if *users < 0 || *users > 100000 {
		return usagef("--users %d is out of range; use 0 to 100000", *users)
	}
	if *rtt < 0 || *rtt > time.Minute {
		return usagef("--rtt %s is out of range; use 0 to 1m, e.g. --rtt 50ms", *rtt)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %v; choose a writable --dir", *dir, err)
	}
	sb, err := sandbox.Start(sandbox.Options{Addr: *addr, Domain: *domain, Users: *users, Delegate: *delegate, Dir: *dir, AutoConsent: *autoConsent, RTT: *rtt})
	if err != nil {
		return err
	}
	defer sb.Close()
	ep := sb.Endpoints()
	fmt.Fprintf(a.stderr, "sandbox for %s: token %s, IMAP %s, SMTP %s, admin %s; client ID %s (delegation %s)\n",
		sb.Domain(), ep.TokenURL, ep.IMAP, ep.SMTP, ep.AdminURL, sb.ClientID(), map[bool]string{true: "authorized", false: "not yet authorized"}[*delegate])
	fmt.Fprintln(a.stdout, "ready")
	<-ctx.Done()
	return nil
}
