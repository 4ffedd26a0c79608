package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/mailoauth/mailoauth/core"
)

// CertificateAdvice is what a product does with the proxy's certificate,
// which is its own and self-signed.
const CertificateAdvice = "self-signed: pin its fingerprint (printed when the proxy starts), or trust `mailoauth proxy cert`"

// HostSettings are the settings a product enters to use the proxy's
// STARTTLS listeners at imapAddr and smtpAddr (host:port as the product
// reaches them) with a mailbox's proxy password.
func HostSettings(imapAddr, smtpAddr string) core.HostConfig {
	server := func(hp string) core.HostServer {
		host, port, err := net.SplitHostPort(hp)
		if err != nil {
			host = hp
		}
		n, _ := strconv.Atoi(port)
		return core.HostServer{Host: host, Port: n, Security: "STARTTLS"}
	}
	return core.HostConfig{IMAP: server(imapAddr), SMTP: server(smtpAddr),
		Auth: "normal password (the mailbox's proxy password)", Mechanism: "PLAIN", Username: core.HostUsernameText}
}

// CheckLogin logs in through a proxy's STARTTLS listeners as a product
// would: IMAP LOGIN and SELECT INBOX, then SMTP AUTH PLAIN. cfg trusts the
// proxy's certificate. The error carries the proxy's reply (with the
// finding's code when the mail server refused the mailbox).
func CheckLogin(ctx context.Context, imapAddr, smtpAddr string, cfg *tls.Config, mailbox, password string) error {
	d := &net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", imapAddr)
	if err != nil {
		return fmt.Errorf("IMAP through the proxy: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := imapclient.NewStartTLS(conn, &imapclient.Options{TLSConfig: cfg})
	if err != nil {
		conn.Close()
		return fmt.Errorf("IMAP through the proxy: %w", err)
	}
	defer c.Close()
	if err := c.Login(mailbox, password).Wait(); err != nil {
		return fmt.Errorf("IMAP through the proxy: %w", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		return fmt.Errorf("IMAP through the proxy: SELECT INBOX: %w", err)
	}
	_ = c.Logout().Wait()

	sconn, err := d.DialContext(ctx, "tcp", smtpAddr)
	if err != nil {
		return fmt.Errorf("SMTP through the proxy: %w", err)
	}
	sstop := context.AfterFunc(ctx, func() { sconn.Close() })
	defer sstop()
	sc, err := smtp.NewClientStartTLS(sconn, cfg)
	if err != nil {
		sconn.Close()
		return fmt.Errorf("SMTP through the proxy: %w", err)
	}
	defer sc.Close()
	if err := sc.Auth(sasl.NewPlainClient("", mailbox, password)); err != nil {
		return fmt.Errorf("SMTP through the proxy: %w", err)
	}
	if err := sc.Quit(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("SMTP through the proxy: %w", err)
	}
	return nil
}
