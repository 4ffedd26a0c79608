package core

import (
	"context"
	"errors"
	"time"

	"github.com/emersion/go-smtp"
)

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
