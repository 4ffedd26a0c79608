package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/watch"
	"github.com/mailoauth/mailoauth/tui/sshserver"
)

func runServe(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("serve", "serve --addr HOST:PORT --authorized-keys FILE [--host-key FILE] [--db PATH] [--idle-timeout 15m] [--max-sessions 10] [--sandbox] [--watch [watch flags]]")
	addr := fs.String("addr", "", "address to listen on, e.g. 127.0.0.1:2222 or :2222 (port 0: chosen by the OS)")
	authKeys := fs.String("authorized-keys", "", "OpenSSH authorized_keys file of the administrators allowed in (re-read when it changes)")
	hostKey := fs.String("host-key", "", "ed25519 host key, generated on first start (default: "+sshserver.HostKeyName+" beside the store)")
	idle := fs.Duration("idle-timeout", sshserver.DefaultIdleTimeout, "close a session after this long without input")
	maxSessions := fs.Int("max-sessions", sshserver.DefaultMaxSessions, "sessions open at once; the next one is refused")
	watchOn := fs.Bool("watch", false, "also run the watcher (`mailoauth watch`) in-process with the watch flags below")
	wf := addWatchFlags(fs)
	useSandbox := fs.Bool("sandbox", false, "serve a wizard prefilled from a built-in Google simulator (demo; a temporary store unless --db is given)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *addr == "" || *authKeys == "" {
		return usagef("serve needs --addr and --authorized-keys, e.g. mailoauth serve --addr 127.0.0.1:2222 --authorized-keys ~/.ssh/authorized_keys")
	}
	if *idle <= 0 {
		return usagef("--idle-timeout %s must be positive, e.g. 15m", *idle)
	}
	if *maxSessions < 1 {
		return usagef("--max-sessions %d must be at least 1", *maxSessions)
	}
	cfg := sshserver.Config{AuthorizedKeys: *authKeys, HostKey: *hostKey, Profile: a.profile, IdleTimeout: *idle, MaxSessions: *maxSessions,
		Logf: func(format string, args ...any) {
			// an SSH user name is the client's choice: no control characters reach the log
			fmt.Fprintf(a.stderr, "%s %s\n", time.Now().Format(time.DateTime), core.SafeText(fmt.Sprintf(format, args...)))
		}}
	if *useSandbox {
		sb, stop, err := a.startDemoSandbox("mailoauth-serve-")
		if err != nil {
			return err
		}
		defer stop()
		cfg.Sandbox = sb
	}
	st, err := a.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	cfg.Store = st
	srv, err := sshserver.New(cfg)
	if err != nil {
		return &usageError{err.Error()}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v; choose a free port with --addr", *addr, err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	fmt.Fprintf(a.stdout, "mailoauth serve: listening on %s (store %s, authorized keys %s)\n", ln.Addr(), st.Path(), *authKeys)
	fmt.Fprintf(a.stdout, "host key %s (ed25519, %s)\n", srv.HostKeyFingerprint(), srv.HostKeyPath())
	fmt.Fprintf(a.stdout, "join with: ssh -p %s %s\n", port, hostForSSH(ln.Addr()))
	var watchDone chan struct{}
	if *watchOn {
		opts, err := wf.options(a)
		if err != nil {
			return err
		}
		w, err := watch.New(st, opts)
		if err != nil {
			return err
		}
		stopMetrics, err := serveMetrics(a, w, wf.metrics)
		if err != nil {
			return err
		}
		defer stopMetrics()
		watchDone = make(chan struct{})
		go func() { defer close(watchDone); runWatcher(ctx, w, opts.Logger) }()
		fmt.Fprintf(a.stdout, "watching every mailbox every %s\n", opts.Interval)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(a.stderr, "mailoauth serve: shutting down; telling the open sessions")
	sctx, cancel := context.WithTimeout(context.Background(), sshserver.DefaultDrainGrace+5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if watchDone != nil {
		<-watchDone // the checks in flight finish
	}
	return err
}

// hostForSSH is the address to type after ssh: a wildcard listener is
// reached on loopback from the server itself.
func hostForSSH(addr net.Addr) string {
	host, _, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return host
}
