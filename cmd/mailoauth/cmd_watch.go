package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/watch"
	"github.com/mailoauth/mailoauth/store"
)

// watchFlags are the watcher's flags, shared by `watch` and `serve --watch`.
type watchFlags struct {
	interval, renotify, timeout time.Duration
	keyMaxAge                   dayDuration
	checks                      string
	roundtripEvery, concurrency int
	metrics, webhook, email     string
	logFormat                   string
}

// register adds the watcher's flags, --log-format included, to cmd.
func (f *watchFlags) register(cmd *cobra.Command) {
	f.keyMaxAge = dayDuration(core.DefaultKeyMaxAge)
	fs := cmd.Flags()
	fs.DurationVar(&f.interval, "interval", watch.DefaultInterval, "the `DURATION` between round starts; a round's checks are spread evenly over it")
	addChecksFlag(cmd, &f.checks, "token,imap,smtp", "the `CHECKS` of every round")
	fs.IntVar(&f.roundtripEvery, "roundtrip-every", watch.DefaultRoundtripEvery, "add the round trip (send to itself, wait, delete) every `N` rounds, the first included; 0: never")
	fs.IntVar(&f.concurrency, "concurrency", watch.DefaultConcurrency, "check at most `N` mailboxes at once (a round is spread over the interval, so only slow checks overlap)")
	fs.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics and /healthz, an `ADDR` such as 127.0.0.1:9464 (port 0: chosen by the OS, printed on stdout)")
	fs.StringVar(&f.webhook, "alert-webhook", "", "send every alert as a JSON POST to this `URL`")
	fs.StringVar(&f.email, "alert-email", "", "mail every alert to this `ADDR` through the profile's default sender")
	fs.DurationVar(&f.renotify, "renotify", watch.DefaultRenotify, "repeat an alert still in force after this `DURATION`")
	fs.Var(&f.keyMaxAge, "key-max-age", "warn when the service-account key is older than this `AGE` (e.g. 90d, 2160h)")
	addTimeoutFlag(fs, &f.timeout)
	addLogFlags(cmd, &f.logFormat)
}

// options checks the flags and builds the watcher's options.
func (f *watchFlags) options(a *app) (watch.Options, error) {
	checks, err := core.ParseChecks(f.checks)
	if err != nil {
		return watch.Options{}, err
	}
	switch {
	case f.interval < time.Second:
		return watch.Options{}, usagef("--interval %v is too short; use at least 1s (15m is the default)", f.interval)
	case f.concurrency < 1 || f.concurrency > core.MaxConcurrency:
		return watch.Options{}, usagef("--concurrency %d is out of range; use 1 to %d (%d is the default: a round is spread over the interval)", f.concurrency, core.MaxConcurrency, watch.DefaultConcurrency)
	case f.roundtripEvery < 0:
		return watch.Options{}, usagef("--roundtrip-every %d is negative; use 0 (never) or N rounds", f.roundtripEvery)
	case f.renotify < 0 || f.timeout <= 0:
		return watch.Options{}, usagef("--renotify must not be negative and --timeout must be positive")
	}
	if f.webhook != "" {
		if u, err := url.Parse(f.webhook); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return watch.Options{}, usagef("--alert-webhook %q is not an http(s) URL; write it as https://host/path", f.webhook)
		}
	}
	if f.email != "" {
		if _, err := core.NormalizeMailbox(f.email, ""); err != nil {
			return watch.Options{}, usagef("--alert-email %q is not an e-mail address", f.email)
		}
	}
	log, err := newLogger(a.stderr, f.logFormat)
	if err != nil {
		return watch.Options{}, err
	}
	return watch.Options{Interval: f.interval, Checks: checks, RoundtripEvery: f.roundtripEvery, Concurrency: f.concurrency,
		Renotify: f.renotify, KeyMaxAge: time.Duration(f.keyMaxAge), Timeout: f.timeout,
		Webhook: f.webhook, AlertEmail: f.email, Logger: log}, nil
}

// serveMetrics starts /metrics and /healthz on addr and prints the address
// it listens on; the returned stop shuts it down.
func serveMetrics(a *app, w *watch.Watcher, addr string) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := core.ListenFlag("--metrics", addr, "127.0.0.1:9464")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(a.stdout, "metrics on http://%s/metrics (health: /healthz)\n", ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// catchReload catches SIGHUP (`systemctl reload`) from now on. A daemon
// calls it first, before anything slow (opening the store, which may wait
// for its lock, or the profiles' credentials): Go's default for SIGHUP
// kills the process, so one sent while it starts would stop it. A SIGHUP
// that comes before the daemon reads hup waits there and is done once it
// runs. stop restores the default.
func catchReload() (hup <-chan os.Signal, stop func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP)
	return c, func() { signal.Stop(c) }
}

// runWatcher runs w until ctx ends, re-reading the profiles on each signal
// on hup (catchReload).
func runWatcher(ctx context.Context, w *watch.Watcher, log *slog.Logger, hup <-chan os.Signal) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	for {
		select {
		case <-hup:
			if err := w.Reload(); err != nil {
				log.Error("reload failed; keeping the previous profiles", "err", err.Error())
				continue
			}
			log.Info("reloaded the profiles")
		case <-ctx.Done():
			log.Info("stopping: letting the checks in flight finish")
			<-done
			return
		case <-done:
			return
		}
	}
}

// watchCmdFlags are the flags of `watch`: the watcher's and --once.
type watchCmdFlags struct {
	watchFlags
	once bool
}

func (o *watchCmdFlags) register(cmd *cobra.Command) {
	o.watchFlags.register(cmd)
	cmd.Flags().BoolVar(&o.once, "once", false, "run one round at once and exit 0 when every check passed, 1 otherwise (for cron)")
}

func runWatch(ctx context.Context, a *app, _ []string, o *watchCmdFlags) error {
	f, once := &o.watchFlags, o.once
	var hup <-chan os.Signal
	if !once { // a cron run keeps Go's default: a hangup ends it
		var stop func()
		hup, stop = catchReload()
		defer stop()
	}
	if a.profile != "" {
		return usagef("watch covers every profile of the store; leave out --profile")
	}
	opts, err := f.options(a)
	if err != nil {
		return err
	}
	return a.withStore(func(st *store.Store) error { return watchStore(ctx, a, st, f, opts, hup) })
}

// watchStore runs the watcher on st: one round without hup (--once), else
// until ctx ends, reloading on hup.
func watchStore(ctx context.Context, a *app, st *store.Store, f *watchFlags, opts watch.Options, hup <-chan os.Signal) error {
	once := hup == nil
	if ps, err := st.ListProfiles(); err != nil {
		return err
	} else if len(ps) == 0 {
		_, empty := st.ResolveProfile("") // the store's sentence for a store without a domain
		if once {
			return empty
		}
		opts.Logger.Warn("nothing to watch yet: "+storeWording(empty.Error(), empty)+", then reload the watcher (SIGHUP)", "store", st.Path())
	}
	w, err := watch.New(st, opts)
	if err != nil {
		return err
	}
	stop, err := serveMetrics(a, w, f.metrics)
	if err != nil {
		return err
	}
	defer stop()
	if once {
		ok := w.Once(ctx)
		h := w.Health()
		for _, p := range h.Failing {
			fmt.Fprintf(a.stdout, "%s %s: failing since %s\n", orProfile(p), p.Check, p.Since.Local().Format(time.DateTime))
			printFinding(a, &core.Finding{Code: p.Code, Summary: p.Summary, Fix: p.Fix})
		}
		for _, p := range h.Warnings {
			fmt.Fprintf(a.stdout, "%s %s: warning\n", orProfile(p), p.Check)
			printFinding(a, &core.Finding{Code: p.Code, Summary: p.Summary, Fix: p.Fix})
		}
		fmt.Fprintf(a.stdout, "%d mailboxes checked, %d failing checks, %d warnings\n", h.Mailboxes, len(h.Failing), len(h.Warnings))
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !ok {
			return errChecksFailed
		}
		return nil
	}
	opts.Logger.Info("watching", "store", st.Path(), "interval", opts.Interval.String(), "checks", f.checks)
	runWatcher(ctx, w, opts.Logger, hup)
	return nil
}

func orProfile(p watch.Problem) string {
	if p.Mailbox != "" {
		return p.Mailbox
	}
	return p.Profile
}

// dayDuration is a duration flag that also takes days ("90d").
type dayDuration time.Duration

func (d *dayDuration) String() string {
	if *d%dayDuration(24*time.Hour) == 0 {
		return strconv.Itoa(int(time.Duration(*d)/(24*time.Hour))) + "d"
	}
	return time.Duration(*d).String()
}

func (d *dayDuration) Type() string { return "duration" }

func (d *dayDuration) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return errors.New("use a number of days such as 90d, or a duration such as 2160h")
		}
		*d = dayDuration(time.Duration(days) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return errors.New("use a number of days such as 90d, or a duration such as 2160h")
	}
	*d = dayDuration(v)
	return nil
}
