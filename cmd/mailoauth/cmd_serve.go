package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/watch"
	"github.com/mailoauth/mailoauth/tui/sshserver"
)

type serveFlags struct {
	addr, authKeys, hostKey string
	idle                    time.Duration
	maxSessions             int
	useSandbox, watchOn     bool
	watch                   watchFlags
}

func (o *serveFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "", "the `HOST:PORT` to listen on, e.g. 127.0.0.1:2222 or :2222 (port 0: chosen by the OS)")
	f.StringVar(&o.authKeys, "authorized-keys", "", "the OpenSSH authorized_keys `FILE` of the administrators allowed in (re-read when it changes)")
	f.StringVar(&o.hostKey, "host-key", "", "the ed25519 host key `FILE`, generated on first start (default: "+sshserver.HostKeyName+" beside the store)")
	f.DurationVar(&o.idle, "idle-timeout", sshserver.DefaultIdleTimeout, "close a session after this `DURATION` without input")
	f.IntVar(&o.maxSessions, "max-sessions", sshserver.DefaultMaxSessions, "at most `N` sessions open at once; the next one is refused")
	f.BoolVar(&o.watchOn, "watch", false, "also run the watcher (mailoauth watch) in-process with the watch flags")
	o.watch.register(cmd) // --log-format is serve's too
	f.BoolVar(&o.useSandbox, "sandbox", false, "serve a wizard prefilled from a built-in Google simulator (demo; a temporary store unless --db is given)")
	_ = cmd.MarkFlagFilename("authorized-keys")
	_ = cmd.MarkFlagFilename("host-key")
}

func runServe(ctx context.Context, a *app, _ []string, o *serveFlags) error {
	var hup <-chan os.Signal
	if o.watchOn { // the watcher reloads on SIGHUP, also one sent while serve starts
		var stop func()
		hup, stop = catchReload()
		defer stop()
	}
	logger, err := newLogger(a.stderr, o.watch.logFormat)
	if err != nil {
		return err
	}
	if o.addr == "" || o.authKeys == "" {
		return usagef("serve needs --addr and --authorized-keys, e.g. mailoauth serve --addr 127.0.0.1:2222 --authorized-keys ~/.ssh/authorized_keys")
	}
	if o.idle <= 0 {
		return usagef("--idle-timeout %s must be positive, e.g. 15m", o.idle)
	}
	if o.maxSessions < 1 {
		return usagef("--max-sessions %d must be at least 1", o.maxSessions)
	}
	cfg := sshserver.Config{AuthorizedKeys: o.authKeys, HostKey: o.hostKey, Profile: a.profile, IdleTimeout: o.idle, MaxSessions: o.maxSessions,
		Logf: func(format string, args ...any) {
			// an SSH user name is the client's choice: no control characters reach the log
			logger.Info(core.SafeText(fmt.Sprintf(format, args...)))
		}}
	sb, st, closeAll, err := a.openStoreMaybeDemo(o.useSandbox, "mailoauth-serve-")
	if err != nil {
		return err
	}
	defer closeAll()
	cfg.Sandbox, cfg.Store = sb, st
	srv, err := sshserver.New(cfg)
	if err != nil {
		return &usageError{err.Error()}
	}
	ln, err := core.ListenFlag("--addr", o.addr, "127.0.0.1:2222")
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	fmt.Fprintf(a.stdout, "mailoauth serve: listening on %s (store %s, authorized keys %s)\n", ln.Addr(), st.Path(), o.authKeys)
	fmt.Fprintf(a.stdout, "host key %s (ed25519, %s)\n", srv.HostKeyFingerprint(), srv.HostKeyPath())
	fmt.Fprintf(a.stdout, "join with: ssh -p %s %s\n", port, hostForSSH(ln.Addr()))
	var watchDone chan struct{}
	if o.watchOn {
		opts, err := o.watch.options(a)
		if err != nil {
			return err
		}
		w, err := watch.New(st, opts)
		if err != nil {
			return err
		}
		stopMetrics, err := serveMetrics(a, w, o.watch.metrics)
		if err != nil {
			return err
		}
		defer stopMetrics()
		watchDone = make(chan struct{})
		go func() { defer close(watchDone); runWatcher(ctx, w, opts.Logger, hup) }()
		fmt.Fprintf(a.stdout, "watching every mailbox every %s\n", opts.Interval)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down; telling the open sessions")
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
