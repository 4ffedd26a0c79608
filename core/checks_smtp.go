package core

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mailoauth/mailoauth/core/mailproto"
)

type smtpConn struct {
	conn net.Conn
	c    *smtp.Client
	stop func() bool
}

func (c *smtpConn) close() {
	c.stop()
	c.c.Close()
}

// localName is the EHLO name: this host's name, looked up once per process
// (a uname call per SMTP connection otherwise).
var localName = sync.OnceValue(func() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \r\n") {
		return "localhost"
	}
	return h
})

func (s *session) dialSMTP(ctx context.Context) (*smtpConn, error) {
	addr := s.ep.SMTP
	conn, cfg, err := s.connect(ctx, addr, s.ep.SMTPSecurity, "") // under STARTTLS, go-smtp's TLS runs above its read limit
	if err != nil {
		return nil, err
	}
	sc := &smtpConn{conn: conn}
	sc.stop = context.AfterFunc(ctx, func() { conn.Close() })
	if s.ep.SMTPSecurity == SecurityStartTLS {
		sc.c, err = smtp.NewClientStartTLS(conn, cfg)
	} else {
		sc.c = smtp.NewClient(conn)
		err = sc.c.Hello(localName())
	}
	if err != nil {
		sc.stop()
		conn.Close()
		return nil, ctxErr(ctx, addr, err)
	}
	sc.c.CommandTimeout = s.t.timeout()
	return sc, nil
}

// smtpLogin connects and authenticates to SMTP, retrying once with a fresh
// token when a cached one is refused.
func (s *session) smtpLogin(ctx context.Context) (*smtpConn, error) {
	addr := s.ep.SMTP
	for {
		tok, err := s.token(ctx)
		if err != nil {
			return nil, err
		}
		c, err := s.dialSMTP(ctx)
		if err != nil {
			return nil, err
		}
		sc := mailproto.NewOAuthClient(s.t.mechanism(), s.mailbox, tok.AccessToken)
		err = c.c.Auth(mailproto.SMTPAuthClient(sc))
		if err == nil {
			s.accepted()
			return c, nil
		}
		c.close()
		if ctx.Err() != nil {
			return nil, ctxErr(ctx, addr, err)
		}
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 535 {
			return nil, ctxErr(ctx, addr, err)
		}
		if s.refreshAfterRefusal() {
			continue
		}
		return nil, s.refused(ctx, CheckSMTP, addr, sc, err)
	}
}

// sendRoundtrip sends the round-trip message on the SMTP check's
// connection when there is one (saving the TLS handshake, greeting, EHLO
// and AUTH), else on a new one; a kept connection the server has dropped
// meanwhile is replaced once. The caller quits and closes the connection.
func (s *session) sendRoundtrip(ctx context.Context, id string, now time.Time) (*smtpConn, error) {
	if c := s.smtp; c != nil {
		s.smtp = nil
		c.stop = context.AfterFunc(ctx, func() { c.conn.Close() })
		err := s.send(c, id, now)
		if err == nil {
			return c, nil
		}
		c.close()
		var se *smtp.SMTPError
		if ctx.Err() != nil || errors.As(err, &se) {
			return nil, ctxErr(ctx, s.ep.SMTP, err) // the server's answer, not a dropped connection
		}
	}
	c, err := s.smtpLogin(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.send(c, id, now); err != nil {
		c.close()
		return nil, ctxErr(ctx, s.ep.SMTP, err)
	}
	return c, nil
}

// quit says goodbye within a short bound and closes.
func (c *smtpConn) quit() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.stop = context.AfterFunc(ctx, func() { c.conn.Close() })
	_ = c.c.Quit()
	c.close()
}

func (s *session) send(c *smtpConn, id string, now time.Time) error {
	if err := c.c.Mail(s.mailbox, nil); err != nil {
		return err
	}
	if err := c.c.Rcpt(s.mailbox, nil); err != nil {
		return err
	}
	w, err := c.c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(roundtripMessage(s.mailbox, id, now)); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
