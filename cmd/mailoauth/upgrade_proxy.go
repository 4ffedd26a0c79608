package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/proxy"
	"github.com/mailoauth/mailoauth/store"
)

// upgradeViaProxy moves the upgraded mailboxes of a product that cannot do
// OAuth to mailoauth proxy: each gets a new proxy password, logs in through
// a proxy started here on loopback (IMAP and SMTP, as the product will),
// and only then are the product's new settings printed (imapAddr and
// smtpAddr: where `mailoauth proxy` will listen for it).
func upgradeViaProxy(ctx context.Context, a *app, st *store.Store, upgraded []core.MailboxResult, imapAddr, smtpAddr string) error {
	if len(upgraded) == 0 {
		return nil
	}
	cert, err := proxyCertificate(st, "", "", nil)
	if err != nil {
		return err
	}
	dir, err := loadProxyDirectory(st)
	if err != nil {
		return err
	}
	srv := proxy.New(proxy.Config{Directory: dir, TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		Log: slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Audit: func(l proxy.Login) {
			_ = st.AuditProxyLogin(store.ProxyLogin{Mailbox: l.Mailbox, Client: l.Client, Protocol: string(l.Protocol), OK: l.OK, Reason: l.Reason})
		}})
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	var addrs [2]string
	for i, p := range []proxy.Protocol{proxy.IMAP, proxy.SMTP} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("cannot start the proxy for its check: %v", err)
		}
		addrs[i] = ln.Addr().String()
		go func() { _ = srv.Serve(ln, p, core.SecurityStartTLS) }()
	}
	pool := x509.NewCertPool()
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return err
	}
	pool.AddCert(leaf)
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}

	failed, settingsShown := 0, false
	for _, r := range upgraded {
		pw, hash, err := proxy.NewPassword()
		if err != nil {
			return err
		}
		if err := st.SetProxyPassword(domainOfMailbox(r.Mailbox, dir), r.Mailbox, hash, actor()); err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		err = proxy.CheckLogin(cctx, addrs[0], addrs[1], cfg, r.Mailbox, pw)
		cancel()
		if err != nil {
			failed++
			fmt.Fprintf(a.stdout, "proxy     %s: the check through the proxy failed (%v); fix it, then make a new password with `mailoauth proxy password %s --rotate`\n", r.Mailbox, err, r.Mailbox)
			continue
		}
		if !settingsShown {
			// only once a mailbox's check through the proxy passed
			printProxySettings(a, cert, imapAddr, smtpAddr)
			settingsShown = true
		}
		fmt.Fprintf(a.stdout, "proxy     %s  password %s  (checked through the proxy; shown only now)\n", r.Mailbox, pw)
	}
	if failed > 0 {
		return errChecksFailed
	}
	return nil
}

// printProxySettings prints the product's new settings: where it reaches
// mailoauth proxy, how it logs in, and the certificate to pin or trust.
func printProxySettings(a *app, cert tls.Certificate, imapAddr, smtpAddr string) {
	h := proxy.HostSettings(imapAddr, smtpAddr)
	fmt.Fprintf(a.stdout, "\nThe product's new settings (mailoauth proxy; run it as a service with cmd/mailoauth/packaging/mailoauth-proxy.service):\n")
	fmt.Fprintf(a.stdout, "  IMAP server     %s\n  SMTP server     %s\n  authentication  %s\n  user name       %s\n  certificate     SHA-256 %s (%s)\n",
		h.IMAP, h.SMTP, h.Auth, h.Username, proxy.Fingerprint(cert), proxy.CertificateAdvice)
}

// domainOfMailbox is the profile domain the directory found the mailbox in.
func domainOfMailbox(mailbox string, d *proxyDirectory) string { return d.domains[mailbox] }
