package core

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailoauth/mailoauth/core/mailproto"
)

// imapConn is an IMAP connection whose socket is closed when the context
// of the current phase ends, so nothing blocks past its deadline.
type imapConn struct {
	conn   net.Conn // the socket (closing it ends everything)
	login  *mailproto.IMAPLoginConn
	c      *imapclient.Client
	stop   func() bool
	dead   atomic.Bool
	notify chan struct{}
	count  uint32
}

func (ic *imapConn) bind(ctx context.Context) {
	if ic.stop != nil {
		ic.stop()
	}
	ic.stop = context.AfterFunc(ctx, func() {
		ic.dead.Store(true)
		ic.conn.Close()
	})
}

// alive reports whether neither side has closed the connection.
func (ic *imapConn) alive() bool {
	if ic.dead.Load() {
		return false
	}
	select {
	case <-ic.c.Closed():
		return false
	default:
		return true
	}
}

func (ic *imapConn) unbind() {
	if ic.stop != nil {
		ic.stop()
		ic.stop = nil
	}
}

func (ic *imapConn) close() {
	if ic.stop != nil {
		ic.stop()
	}
	ic.dead.Store(true)
	if ic.c != nil {
		ic.c.Close()
	} else {
		ic.conn.Close()
	}
}

func (ic *imapConn) logout() {
	if !ic.dead.Load() && ic.c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ic.bind(ctx)
		_ = ic.c.Logout().Wait()
		cancel()
	}
	ic.close()
}

func (s *session) dialIMAP(ctx context.Context) (*imapConn, error) {
	addr := s.ep.IMAP
	conn, cfg, err := s.connect(ctx, addr, s.ep.IMAPSecurity, "imap")
	if err != nil {
		return nil, err
	}
	ic := &imapConn{conn: conn, notify: make(chan struct{}, 1)}
	ic.bind(ctx)
	var transport net.Conn = conn
	if s.ep.IMAPSecurity == SecurityStartTLS {
		if transport, err = mailproto.IMAPStartTLS(ctx, conn, cfg); err != nil {
			ic.close()
			return nil, ctxErr(ctx, addr, err)
		}
	}
	if transport != conn {
		transport = mailproto.LimitReads(transport) // the plain text under STARTTLS's TLS
	}
	ic.login = mailproto.NewIMAPLoginConn(transport)
	opts := &imapclient.Options{
		TLSConfig: cfg,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case ic.notify <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	ic.c = imapclient.New(ic.login, opts)
	if err = ic.c.WaitGreeting(); err != nil {
		ic.close()
		return nil, ctxErr(ctx, addr, err)
	}
	return ic, nil
}

// imapLogin opens the session's IMAP connection, authenticates and selects
// INBOX, retrying once with a fresh token when a cached one is refused.
func (s *session) imapLogin(ctx context.Context) error {
	if s.imap != nil {
		s.close()
	}
	addr := s.ep.IMAP
	for {
		tok, err := s.token(ctx)
		if err != nil {
			return err
		}
		ic, err := s.dialIMAP(ctx)
		if err != nil {
			return err
		}
		sc := mailproto.NewOAuthClient(s.t.mechanism(), s.mailbox, tok.AccessToken)
		if err = ic.login.Authenticate(ic.c, sc); err != nil {
			ic.close()
			if ctx.Err() != nil {
				return ctxErr(ctx, addr, err)
			}
			// Only a refusal of the token is retried with a fresh one:
			// not Gmail's account alerts, nor a server that could not
			// check the token at all (Dovecot's [UNAVAILABLE]).
			var ie *imap.Error
			if !errors.As(err, &ie) || imapNonAuth(ie.Text, s.diag(CheckIMAP), addr) != nil || imapUnavailable(ie) || isThrottle(err) {
				return ctxErr(ctx, addr, err)
			}
			if s.refreshAfterRefusal() {
				continue
			}
			return s.refused(ctx, CheckIMAP, addr, sc, err)
		}
		s.accepted()
		data, err := ic.c.Select("INBOX", nil).Wait()
		if err != nil {
			ic.close()
			return ctxErr(ctx, addr, err)
		}
		ic.count = data.NumMessages
		s.imap = ic
		return nil
	}
}

// waitFor waits until the message tagged id is in the selected mailbox,
// with IDLE when the server has it, else by polling every 500 ms.
func (ic *imapConn) waitFor(ctx context.Context, id string) ([]imap.UID, error) {
	// The tag header, or the Message-ID, which every server indexes.
	criteria := &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{
		{Header: []imap.SearchCriteriaHeaderField{{Key: roundtripHeader, Value: id}}},
		{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "<" + id + "@mailoauth.invalid>"}}},
	}}}
	useIdle := ic.c.Caps().Has(imap.CapIdle)
	for {
		data, err := ic.c.UIDSearch(criteria, nil).Wait()
		if err != nil {
			return nil, err
		}
		if uids := data.AllUIDs(); len(uids) > 0 {
			return uids, nil
		}
		if useIdle {
			idle, err := ic.c.Idle()
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				useIdle = false
				continue
			}
			select {
			case <-ic.notify:
			case <-time.After(2 * time.Second):
			case <-ctx.Done():
			}
			cerr := idle.Close()
			if cerr == nil {
				cerr = idle.Wait()
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if cerr != nil {
				return nil, cerr
			}
			continue
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (ic *imapConn) delete(uids []imap.UID) error {
	set := imap.UIDSetNum(uids...)
	store := ic.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil)
	if ic.c.Caps().Has(imap.CapUIDPlus) {
		// Pipelined: one round trip. UID EXPUNGE removes only messages of
		// the set already flagged \Deleted, so it is harmless if STORE fails.
		expunge := ic.c.UIDExpunge(set)
		if err := store.Close(); err != nil {
			_ = expunge.Close()
			return err
		}
		return expunge.Close()
	}
	if err := store.Close(); err != nil {
		return err
	}
	// A plain EXPUNGE would also remove whatever else the user marked
	// deleted; without UIDPLUS the test message stays flagged instead.
	return nil
}
