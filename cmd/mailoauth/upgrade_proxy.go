package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/proxy"
	"github.com/mailoauth/mailoauth/store"
)

// upgradeViaProxy moves the upgraded mailboxes of a product that cannot do
// OAuth to mailoauth proxy: each logs in with a new proxy password through a
// proxy started here on loopback (IMAP and SMTP, as the product will), and
// only then are the product's new settings printed (imapAddr and smtpAddr:
// where `mailoauth proxy` will listen for it).
//
// No password a product may use is lost: the check's proxy knows the new
// passwords only in memory, and a mailbox's is saved only after its check
// passed, just before it is shown, and only when the mailbox had none (a
// mailbox with one keeps it). A failed check, or a run killed at any
// point, leaves each mailbox's proxy password as it was.
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
	passwords, hashes := map[string]string{}, map[string]string{}
	for _, r := range upgraded {
		// keyed as the proxy asks for the mailbox: in lower case
		mb := strings.ToLower(r.Mailbox)
		if passwords[mb], hashes[mb], err = proxy.NewPassword(); err != nil {
			return err
		}
	}
	srv := proxy.New(proxy.Config{Directory: trialDirectory{dir, hashes}, TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
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

	var passed []string
	failed := 0
	for _, r := range upgraded {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := proxy.CheckLogin(cctx, addrs[0], addrs[1], cfg, r.Mailbox, passwords[strings.ToLower(r.Mailbox)])
		cancel()
		if err == nil {
			passed = append(passed, r.Mailbox)
			continue
		}
		failed++
		_, has, herr := st.ProxyPasswordHash(domainOfMailbox(r.Mailbox, dir), r.Mailbox)
		if herr != nil {
			return herr
		}
		then := fmt.Sprintf("fix it, then make its password with `mailoauth proxy password %s`", r.Mailbox)
		if has {
			then = fmt.Sprintf("it keeps its existing proxy password (`mailoauth proxy password %s --rotate` replaces it)", r.Mailbox)
		}
		fmt.Fprintf(a.stdout, "proxy     %s: the check through the proxy failed (%v); %s\n", r.Mailbox, err, then)
	}
	if len(passed) > 0 {
		printProxySettings(a, cert, imapAddr, smtpAddr)
	}
	for _, mb := range passed {
		added, err := st.AddProxyPassword(domainOfMailbox(mb, dir), mb, hashes[strings.ToLower(mb)], actor())
		if err != nil {
			return err
		}
		if !added {
			fmt.Fprintf(a.stdout, "proxy     %s  keeps its existing proxy password  (checked through the proxy; `mailoauth proxy password %s --rotate` replaces it)\n", mb, mb)
			continue
		}
		fmt.Fprintf(a.stdout, "proxy     %s  password %s  (checked through the proxy; shown only now)\n", mb, passwords[strings.ToLower(mb)])
	}
	if failed > 0 {
		return errChecksFailed
	}
	return nil
}

// trialDirectory is the directory of upgradeViaProxy's check: the store's
// mailboxes, each with the hash of the new password under test in place of
// its stored one, so nothing is saved before the check passed.
type trialDirectory struct {
	*proxyDirectory
	hashes map[string]string // mailbox (lower case) -> hash of its new password
}

// Account implements proxy.Directory.
func (d trialDirectory) Account(addr string) (proxy.Account, error) {
	acc, err := d.proxyDirectory.Account(addr)
	if err != nil {
		return acc, err
	}
	acc.PasswordHash = d.hashes[addr]
	return acc, nil
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
