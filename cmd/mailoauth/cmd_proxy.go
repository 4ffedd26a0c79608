package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/proxy"
	"github.com/mailoauth/mailoauth/store"
)

type proxyFlags struct {
	imapAddr, smtpAddr, imapsAddr, smtpsAddr, pop3Addr, pop3sAddr string
	certFile, keyFile, logFormat, mechanism                       string
	certHosts                                                     []string
	maxPerBox, maxConns                                           int
	idle, lockout, drain                                          time.Duration
}

// newProxyCmd is `mailoauth proxy`: the IMAP/SMTP/POP3 proxy for products that
// only know a password (serve), `proxy password ADDR` and `proxy cert`.
func newProxyCmd(a *app) *cobra.Command {
	cmd := command(a, "proxy", (*proxyFlags).register, runProxy)
	cmd.Args = subcommandArgs // a word after proxy names a subcommand, or is unknown
	pw := command(a, "proxy password", (*proxyPasswordFlags).register, runProxyPassword)
	cert := flaglessCommand(a, "proxy cert", runProxyCert)
	cmd.AddCommand(pw, cert)
	return cmd
}

func (o *proxyFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.imapAddr, "imap", proxy.DefaultIMAPAddr, "the IMAP listener `HOST:PORT` with STARTTLS (a login without it only on a loopback address); empty: none")
	f.StringVar(&o.smtpAddr, "smtp", proxy.DefaultSMTPAddr, "the SMTP submission listener `HOST:PORT` with STARTTLS (a login without it only on a loopback address); empty: none")
	f.StringVar(&o.imapsAddr, "imaps", "", "the IMAP listener `HOST:PORT` with implicit TLS (like port 993), e.g. 0.0.0.0:993; empty: none")
	f.StringVar(&o.smtpsAddr, "smtps", "", "the SMTP submission listener `HOST:PORT` with implicit TLS (like port 465); empty: none")
	f.StringVar(&o.pop3Addr, "pop3", "", "a POP3 listener `HOST:PORT` with STLS (a login without it only on a loopback address), e.g. 127.0.0.1:1110; empty: none")
	f.StringVar(&o.pop3sAddr, "pop3s", "", "a POP3 listener `HOST:PORT` with implicit TLS (like port 995), e.g. 0.0.0.0:995; empty: none")
	f.StringVar(&o.certFile, "cert", "", "the PEM certificate (chain) `FILE` for the listeners; default: one generated and kept in the store")
	f.StringVar(&o.keyFile, "key", "", "the PEM private key `FILE` of --cert")
	f.StringArrayVar(&o.certHosts, "cert-host", nil, "a `HOST` name or address clients use, added to a generated certificate (repeatable; only when it is first made)")
	f.IntVar(&o.maxPerBox, "max-per-mailbox", proxy.DefaultMaxPerMailbox, "at most `N` simultaneous IMAP (and, separately, SMTP and POP3) sessions per mailbox; Gmail allows 15 IMAP connections per account")
	f.IntVar(&o.maxConns, "max-conns", proxy.DefaultMaxConns, "at most `N` connections open at once in total")
	f.DurationVar(&o.idle, "idle-timeout", proxy.DefaultIdleTimeout, "close a session after this `DURATION` with no byte either way")
	f.DurationVar(&o.lockout, "lockout", proxy.DefaultLockout, "how long (a `DURATION`) an address is refused after 5 wrong passwords within a minute")
	f.DurationVar(&o.drain, "drain", 10*time.Second, "on SIGTERM, how long (a `DURATION`) open sessions may finish before they are closed")
	addMechanismFlag(cmd, &o.mechanism, "IMAP, SMTP and POP3")
	addLogFlags(cmd, &o.logFormat)
	_ = cmd.MarkFlagFilename("cert")
	_ = cmd.MarkFlagFilename("key")
}

type proxyPasswordFlags struct{ rotate bool }

func (o *proxyPasswordFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.rotate, "rotate", false, "replace the mailbox's proxy password (the old one stops working at once)")
}

func runProxy(ctx context.Context, a *app, _ []string, o *proxyFlags) error {
	// Before anything slow (the store, the certificate, the profiles'
	// credentials): a reload during the start is done once serving.
	hup, stopHUP := catchReload()
	defer stopHUP()
	certHosts, maxPerBox, maxConns, idle, lockout, drain := o.certHosts, &o.maxPerBox, &o.maxConns, &o.idle, &o.lockout, &o.drain
	if a.profile != "" { // it would be ignored: every profile is served
		return usagef("proxy serves the mailboxes of every profile of the store; leave out --profile")
	}
	if o.imapAddr == "" && o.smtpAddr == "" && o.imapsAddr == "" && o.smtpsAddr == "" && o.pop3Addr == "" && o.pop3sAddr == "" {
		return usagef("proxy needs at least one listener: --imap, --smtp, --imaps, --smtps, --pop3 or --pop3s HOST:PORT")
	}
	if (o.certFile == "") != (o.keyFile == "") {
		return usagef("--cert and --key go together: pass both PEM files, or neither to use the store's certificate")
	}
	if *maxPerBox < 1 || *maxConns < 1 || *idle <= 0 || *lockout <= 0 || *drain < 0 {
		return usagef("--max-per-mailbox and --max-conns must be at least 1, --idle-timeout and --lockout positive")
	}
	mech, err := parseMechanism(o.mechanism)
	if err != nil {
		return err
	}
	log, err := newLogger(a.stderr, o.logFormat)
	if err != nil {
		return err
	}

	st, err := a.openExisting()
	if err != nil {
		return err
	}
	defer st.Close()
	cert, err := proxyCertificate(st, o.certFile, o.keyFile, certHosts)
	if err != nil {
		return err
	}
	dir, err := loadProxyDirectory(st)
	if err != nil {
		return err
	}
	dir.useMechanism(mech)
	stopPruning := pruneProxyLogins(st, log)
	defer stopPruning()
	srv := proxy.New(proxy.Config{
		Directory: dir, TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		Log: log, MaxPerMailbox: *maxPerBox, MaxConns: *maxConns, IdleTimeout: *idle, Lockout: *lockout,
		Audit: func(l proxy.Login) {
			if err := st.AuditProxyLogin(store.ProxyLogin{Mailbox: l.Mailbox, Client: l.Client, Protocol: string(l.Protocol), OK: l.OK, Reason: l.Reason}); err != nil {
				log.Error("proxy: cannot write the audit entry", "error", err.Error())
			}
		},
	})
	listeners := []struct {
		flag, addr, example string
		proto               proxy.Protocol
		sec                 core.Security
	}{{"--imap", o.imapAddr, proxy.DefaultIMAPAddr, proxy.IMAP, core.SecurityStartTLS}, {"--imaps", o.imapsAddr, "0.0.0.0:993", proxy.IMAP, core.SecurityTLS},
		{"--smtp", o.smtpAddr, proxy.DefaultSMTPAddr, proxy.SMTP, core.SecurityStartTLS}, {"--smtps", o.smtpsAddr, "0.0.0.0:465", proxy.SMTP, core.SecurityTLS},
		{"--pop3", o.pop3Addr, "127.0.0.1:1110", proxy.POP3, core.SecurityStartTLS}, {"--pop3s", o.pop3sAddr, "0.0.0.0:995", proxy.POP3, core.SecurityTLS}}
	errs := make(chan error, len(listeners))
	for _, l := range listeners {
		if l.addr == "" {
			continue
		}
		ln, err := core.ListenFlag(l.flag, l.addr, l.example)
		if err != nil {
			shutdownProxy(srv, *drain)
			return err
		}
		fmt.Fprintf(a.stdout, "%s on %s (%s)\n", proxyListenerName(l.proto, l.sec), ln.Addr(), proxySecurityWords(l.proto, ln.Addr(), l.sec))
		go func() { errs <- srv.Serve(ln, l.proto, l.sec) }()
	}
	fmt.Fprintf(a.stdout, "certificate SHA-256 fingerprint %s\n", proxy.Fingerprint(cert))
	fmt.Fprintf(a.stdout, "serving %s; log in with the mailbox address and its proxy password (mailoauth proxy password ADDR)\n", dir.describe())

	for {
		select {
		case err := <-errs:
			if err != nil {
				shutdownProxy(srv, *drain)
				return err
			}
		case <-hup:
			d, err := loadProxyDirectory(st)
			if err != nil {
				log.Error("proxy: reload failed, keeping the previous profiles", "error", err.Error())
				continue
			}
			d.useMechanism(mech)
			srv.SetDirectory(d)
			log.Info("proxy: reloaded profiles and mailboxes", "serving", d.describe())
		case <-ctx.Done():
			log.Info("proxy: shutting down, letting open sessions finish", "drain", drain.String(), "sessions", srv.Sessions())
			if !shutdownProxy(srv, *drain) {
				log.Info("proxy: closed the sessions still open after the drain")
			}
			return nil
		}
	}
}

// proxyPruneEvery is how often the proxy prunes its login entries from the
// audit log (store.PruneProxyLogins); it also does at start.
const proxyPruneEvery = time.Hour

// pruneProxyLogins keeps the audit log's proxy logins within their bounds,
// now and every proxyPruneEvery, in the background; stop ends that and
// waits for a prune under way, so the store can be closed after it.
func pruneProxyLogins(st *store.Store, log *slog.Logger) (stop func()) {
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		tick := time.NewTicker(proxyPruneEvery)
		defer tick.Stop()
		for {
			n, err := st.PruneProxyLogins(time.Now())
			if err != nil {
				log.Error("proxy: cannot prune old logins from the audit log", "error", err.Error())
			} else if n > 0 {
				log.Info("proxy: pruned old logins from the audit log", "deleted", n,
					"kept", fmt.Sprintf("the last %d days, at most %d entries", int(store.ProxyLoginMaxAge.Hours()/24), store.ProxyLoginMaxEntries))
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-ended }
}

// shutdownProxy stops the proxy, giving its sessions drain to finish (an
// IDLE session may never end by itself); false: some had to be closed.
func shutdownProxy(srv *proxy.Server, drain time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	return srv.Shutdown(ctx) == nil
}

// proxyUpgradeCommand is the command a client sends to switch a plain
// connection to TLS: POP3 names it STLS (RFC 2595), IMAP and SMTP STARTTLS.
func proxyUpgradeCommand(p proxy.Protocol) string {
	if p == proxy.POP3 {
		return "STLS"
	}
	return "STARTTLS"
}

func proxyListenerName(p proxy.Protocol, sec core.Security) string {
	name := map[proxy.Protocol]string{proxy.IMAP: "IMAP", proxy.SMTP: "SMTP submission", proxy.POP3: "POP3"}[p]
	if sec == core.SecurityTLS {
		return name + " (implicit TLS)"
	}
	return name + " (" + proxyUpgradeCommand(p) + ")"
}

func proxySecurityWords(p proxy.Protocol, addr net.Addr, sec core.Security) string {
	if sec == core.SecurityTLS {
		return "TLS from the first byte"
	}
	upgrade := proxyUpgradeCommand(p)
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsLoopback() {
		return upgrade + " offered; plain login allowed, this is a loopback address"
	}
	return upgrade + " required before the login"
}

// proxyCertificate loads --cert/--key, or the store's certificate, making
// and keeping one on first use.
func proxyCertificate(st *store.Store, certFile, keyFile string, hosts []string) (tls.Certificate, error) {
	if certFile != "" {
		// bounded: regular files of at most 1 MiB (core.ReadUserFile)
		c, err := core.ReadUserFile(context.Background(), certFile, core.UserFile{What: "proxy certificate", Max: 1 << 20, Fix: "check --cert"})
		if err != nil {
			return tls.Certificate{}, err
		}
		k, err := core.ReadUserFile(context.Background(), keyFile, core.UserFile{What: "proxy certificate's key", Max: 1 << 20, Fix: "check --key"})
		if err != nil {
			return tls.Certificate{}, err
		}
		return proxy.LoadCertificate(c, k, certFile)
	}
	c, k, ok, err := st.ProxyCertificate()
	if err != nil {
		return tls.Certificate{}, err
	}
	if !ok {
		if c, k, err = proxy.GenerateCertificate(hosts...); err != nil {
			return tls.Certificate{}, err
		}
		if err := st.SaveProxyCertificate(c, k, actor()); err != nil {
			return tls.Certificate{}, err
		}
	}
	return proxy.LoadCertificate(c, k, "in store "+st.Path())
}

// proxyDirectory is the store's mailboxes for the proxy: each profile's
// token engine, built once per (re)load; the password hash is read at each
// login, so a rotated password takes effect at once.
type proxyDirectory struct {
	st       *store.Store
	domains  map[string]string // mailbox -> profile domain
	testers  map[string]*core.Tester
	profiles int
}

func loadProxyDirectory(st *store.Store) (*proxyDirectory, error) {
	ps, err := st.ListProfiles()
	if err != nil {
		return nil, err
	}
	d := &proxyDirectory{st: st, domains: map[string]string{}, testers: map[string]*core.Tester{}, profiles: len(ps)}
	for i := range ps {
		p := ps[i]
		t, err := core.NewTesterWith(&p, st.TokenCache(p.Domain), nil)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", p.Domain, err)
		}
		d.testers[p.Domain] = t
		boxes, err := st.Mailboxes(p.Domain)
		if err != nil {
			return nil, err
		}
		for _, m := range boxes {
			d.domains[m.Email] = p.Domain
		}
	}
	return d, nil
}

// useMechanism makes the proxy log in upstream by mech (XOAUTH2 or
// OAUTHBEARER).
func (d *proxyDirectory) useMechanism(mech string) {
	for _, t := range d.testers {
		t.Mechanism = mech
	}
}

// Account implements proxy.Directory.
func (d *proxyDirectory) Account(addr string) (proxy.Account, error) {
	domain, ok := d.domains[addr]
	if !ok {
		return proxy.Account{}, proxy.ErrUnknownMailbox
	}
	hash, _, err := d.st.ProxyPasswordHash(domain, addr)
	if err != nil {
		return proxy.Account{}, err
	}
	return proxy.Account{Address: addr, PasswordHash: hash, Upstream: d.testers[domain]}, nil
}

// SMTPEndpoints implements proxy.SMTPLister: the proxy asks these servers
// for their extensions when it starts and at each reload.
func (d *proxyDirectory) SMTPEndpoints() []core.Endpoints {
	eps := make([]core.Endpoints, 0, len(d.testers))
	for _, t := range d.testers {
		eps = append(eps, t.ServerEndpoints())
	}
	return eps
}

func (d *proxyDirectory) describe() string {
	return fmt.Sprintf("%d mailbox(es) of %d profile(s)", len(d.domains), d.profiles)
}

// runProxyPassword makes a mailbox's proxy password and shows it once.
func runProxyPassword(_ context.Context, a *app, pos []string, o *proxyPasswordFlags) error {
	st, p, email, err := a.openMailbox(pos[0])
	if err != nil {
		return err
	}
	defer st.Close()
	exists := func() error {
		return usagef("%s already has a proxy password (it was shown once, only its hash is kept); make a new one with `mailoauth proxy password %s --rotate`", email, email)
	}
	if _, ok, err := st.ProxyPasswordHash(p.Domain, email); err != nil {
		return err
	} else if ok && !o.rotate {
		return exists()
	}
	pw, hash, err := proxy.NewPassword()
	if err != nil {
		return err
	}
	if o.rotate {
		err = st.SetProxyPassword(p.Domain, email, hash, actor())
	} else if added, aerr := st.AddProxyPassword(p.Domain, email, hash, actor()); aerr != nil {
		err = aerr
	} else if !added {
		// another mailoauth gave it one while the hash was being made:
		// never replace a password someone may have entered already
		return exists()
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, pw)
	fmt.Fprintf(a.stderr, "This is the proxy password of %s, shown only now (mailoauth keeps its argon2id hash): enter it with the user name %s in the product's mail settings.\n", email, email)
	return nil
}

// runProxyCert prints the proxy's certificate (PEM) for clients to trust.
func runProxyCert(_ context.Context, a *app, _ []string) error {
	return a.withStore(func(st *store.Store) error {
		if _, err := proxyCertificate(st, "", "", nil); err != nil {
			return err
		}
		c, _, _, err := st.ProxyCertificate()
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(c)
		return err
	})
}
