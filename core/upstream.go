package core

import (
	"context"
	"errors"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"

	"github.com/mailoauth/mailoauth/core/mailproto"
)

// ServerEndpoints are the IMAP and SMTP servers the Tester logs in to, with
// Gmail's defaults filled in.
func (t *Tester) ServerEndpoints() Endpoints { return t.endpoints() }

// AuthenticateUpstream logs the mailbox in to a server (check is CheckIMAP
// or CheckSMTP, server its host:port) for a relay such as mailoauth proxy:
// it takes the mailbox's token from the same engine as the checks (cached,
// minted, refreshed), calls login with it, and when a cached token is
// refused retries once with a freshly minted one. Any failure is a
// *FindingError carrying the same diagnosis a check would give.
//
// login does one protocol's SASL exchange with the server using the client
// sc (a fresh token each call). On a refusal it returns the server's reply
// as *imap.Error or *smtp.SMTPError, so that the refusal is diagnosed like
// a check's. protocol names another protocol whose refusals login makes
// check's (DiagContext.Protocol: "POP3" as IMAP), so that the findings name
// it; empty: check's own.
func (t *Tester) AuthenticateUpstream(ctx context.Context, mailbox string, check CheckName, protocol, server string, login func(ctx context.Context, sc *mailproto.OAuthClient) error) error {
	mailbox = strings.ToLower(strings.TrimSpace(mailbox))
	s := &session{t: t, mailbox: mailbox, ep: t.endpoints()}
	diag := func() DiagContext {
		d := s.diag(check)
		d.Protocol = protocol
		return d
	}
	fail := func(err error) error {
		if FindingOf(err) != nil {
			return err
		}
		return &FindingError{Finding: Diagnose(err, diag()), Err: err}
	}
	for {
		tok, err := s.token(ctx)
		if err != nil {
			return fail(err)
		}
		sc := mailproto.NewOAuthClient(t.mechanism(), mailbox, tok.AccessToken)
		err = login(ctx, sc)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !tokenRefusal(err, diag(), server) {
			return fail(ctxErr(ctx, server, err))
		}
		if s.refreshAfterRefusal() {
			continue
		}
		return fail(s.refused(ctx, check, server, sc, err))
	}
}

// tokenRefusal reports whether err is a server refusing the token itself:
// not Gmail's account alerts (IMAP disabled, too many connections), nor a
// server that could not check the token at all (Dovecot's [UNAVAILABLE]).
func tokenRefusal(err error, d DiagContext, server string) bool {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie.Type == imap.StatusResponseTypeNo && imapNonAuth(ie.Text, d, server) == nil && !imapUnavailable(ie)
	}
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == 535
}
