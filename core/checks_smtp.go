package core

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"

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
