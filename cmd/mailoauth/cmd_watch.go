package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/watch"
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

func addWatchFlags(fs *flag.FlagSet) *watchFlags {
	f := &watchFlags{keyMaxAge: dayDuration(core.DefaultKeyMaxAge)}
	fs.DurationVar(&f.interval, "interval", watch.DefaultInterval, "time between round starts; a round's checks are spread evenly over it")
	fs.StringVar(&f.checks, "checks", "token,imap,smtp", "the checks of every round")
	fs.IntVar(&f.roundtripEvery, "roundtrip-every", watch.DefaultRoundtripEvery, "add the round trip (send to itself, wait, delete) every N rounds, the first included; 0: never")
	fs.IntVar(&f.concurrency, "concurrency", core.DefaultConcurrency, "mailboxes checked at once at most")
	fs.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics and /healthz, e.g. 127.0.0.1:9464 (port 0: chosen by the OS, printed on stdout)")
	fs.StringVar(&f.webhook, "alert-webhook", "", "POST every alert as JSON to this URL")
	fs.StringVar(&f.email, "alert-email", "", "mail every alert to this address through the profile's default sender")
	fs.DurationVar(&f.renotify, "renotify", watch.DefaultRenotify, "repeat an alert still in force after this long")
	fs.Var(&f.keyMaxAge, "key-max-age", "warn when the service-account key is older than this (e.g. 90d, 2160h)")
	fs.DurationVar(&f.timeout, "timeout", core.DefaultCheckTimeout, "timeout of each network check")
	fs.StringVar(&f.logFormat, "log-format", "text", "log lines on stderr as text or json")
	return f
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
	case f.concurrency < 1 || f.concurrency > 64:
		return watch.Options{}, usagef("--concurrency %d is out of range; use 1 to 64 (8 is polite toward Google)", f.concurrency)
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

// newLogger is the log of the long-running commands: text or JSON lines on w.
func newLogger(w io.Writer, format string) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, usagef("--log-format %q is not known; use text or json", format)
}

// serveMetrics starts /metrics and /healthz on addr and prints the address
// it listens on; the returned stop shuts it down.
func serveMetrics(a *app, w *watch.Watcher, addr string) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &core.InputError{Msg: fmt.Sprintf("cannot listen on %s (--metrics): %v; choose a free port", addr, err), Env: true}
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

// runWatcher runs w until ctx ends, re-reading the profiles on SIGHUP.
func runWatcher(ctx context.Context, w *watch.Watcher, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
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
			}
		case <-ctx.Done():
			log.Info("stopping: letting the checks in flight finish")
			<-done
			return
		case <-done:
			return
		}
	}
}

func runWatch(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("watch", "watch [--interval 15m] [--checks token,imap,smtp] [--roundtrip-every 4] [--concurrency 8] [--once] [--metrics ADDR] [--alert-webhook URL] [--alert-email ADDR] [--renotify 24h] [--key-max-age 90d] [--log-format text|json]")
	f := addWatchFlags(fs)
	once := fs.Bool("once", false, "run one round at once and exit 0 when every check passed, 1 otherwise (for cron)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("watch takes no arguments (it watches every mailbox of every profile), got %q", pos[0])
	}
	if a.profile != "" {
		return usagef("watch covers every profile of the store; leave out --profile")
	}
	opts, err := f.options(a)
	if err != nil {
		return err
	}
	st, err := a.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	w, err := watch.New(st, opts)
	if err != nil {
		return err
	}
	stop, err := serveMetrics(a, w, f.metrics)
	if err != nil {
		return err
	}
	defer stop()
	if *once {
		ok := w.Once(ctx)
		h := w.Health()
		for _, p := range h.Failing {
			fmt.Fprintf(a.stdout, "%s %s: failing since %s\n", p.Mailbox, p.Check, p.Since.Local().Format(time.DateTime))
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
	runWatcher(ctx, w, opts.Logger)
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
