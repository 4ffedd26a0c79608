package core

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// imapConn is an IMAP connection whose socket is closed when the context
// of the current phase ends, so nothing blocks past its deadline.
type imapConn struct {
	conn   net.Conn // the socket (closing it ends everything)
	sasl   *saslLineConn
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
		if transport, err = imapStartTLS(ctx, conn, cfg); err != nil {
			ic.close()
			return nil, ctxErr(ctx, addr, err)
		}
	}
	if transport != conn {
		transport = limitReads(transport) // the plain text under STARTTLS's TLS
	}
	ic.sasl = &saslLineConn{Conn: transport}
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
	ic.c = imapclient.New(ic.sasl, opts)
	if err = ic.c.WaitGreeting(); err != nil {
		ic.close()
		return nil, ctxErr(ctx, addr, err)
	}
	return ic, nil
}

// saslLineConn adjusts two things of the login, and only those.
//
// It sends an empty SASL response as the empty line RFC 3501 (section
// 6.2.2) prescribes. go-imap writes "=" for it, which is only valid for an
// initial response (SASL-IR, RFC 4959): Gmail takes it, but Dovecot
// answers "BAD Invalid base64 data in continued response" to the empty
// XOAUTH2 acknowledgement of its error challenge, hiding its real
// NO [AUTHENTICATIONFAILED]. Only a write that is exactly that line is
// changed, and only during AUTHENTICATE.
//
// And, until the login is over, it hands go-imap Gmail's capabilities after login in the form go-imap
// keeps. Gmail sends them as an untagged "* CAPABILITY ..." before its
// tagged "A2 OK user authenticated (Success)"; go-imap reads them, then
// drops them at the tagged OK (which has no [CAPABILITY] code) and sends a
// CAPABILITY command of its own, a command per mailbox Gmail has already
// answered. An untagged CAPABILITY directly followed by the tagged OK is
// read as the one line "A2 OK [CAPABILITY ...] text", which RFC 3501
// (section 7.1) makes equivalent. Every other line is read as it came.
// Reads are taken a line at a time from the greeting on (the reading
// goroutine may already wait for the AUTHENTICATE's reply when it starts)
// until loggedIn is set; before login a server sends only short lines.
type saslLineConn struct {
	net.Conn
	authenticating atomic.Bool
	loggedIn       atomic.Bool // AUTHENTICATE is over: reads pass through

	// Used by the reading goroutine only.
	in   []byte // read, not yet split into lines
	out  []byte // ready for the reader
	caps []byte // a held "* CAPABILITY" line, without CRLF
	rerr error  // the read error to return once in and out are empty
}

func (c *saslLineConn) Write(b []byte) (int, error) {
	if c.authenticating.Load() && string(b) == "=\r\n" {
		if _, err := c.Conn.Write([]byte("\r\n")); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

func (c *saslLineConn) Read(b []byte) (int, error) {
	for {
		if len(c.out) > 0 {
			n := copy(b, c.out)
			c.out = c.out[n:]
			return n, nil
		}
		if c.loggedIn.Load() || c.rerr != nil {
			if c.caps != nil || len(c.in) > 0 { // what was held, as it came
				c.out = append(c.unhold(), c.in...)
				c.in = nil
				continue
			}
			if c.rerr != nil {
				return 0, c.rerr
			}
			return c.Conn.Read(b)
		}
		if i := bytes.Index(c.in, []byte("\r\n")); i >= 0 {
			line := c.in[:i]
			c.in = c.in[i+2:]
			c.out = c.foldCaps(line)
			continue
		}
		buf := make([]byte, 4096)
		n, err := c.Conn.Read(buf)
		c.in = append(c.in, buf[:n]...)
		c.rerr = err
	}
}

// foldCaps returns line (without CRLF) as go-imap is to read it, with CRLF.
func (c *saslLineConn) foldCaps(line []byte) []byte {
	if c.caps != nil {
		tag, rest, _ := strings.Cut(string(line), " ")
		if text, ok := strings.CutPrefix(rest, "OK "); ok && tag != "*" && tag != "+" && !strings.HasPrefix(text, "[") {
			caps := strings.TrimPrefix(string(c.caps), "* CAPABILITY ")
			c.caps = nil
			return []byte(tag + " OK [CAPABILITY " + caps + "] " + text + "\r\n")
		}
		return append(c.unhold(), append(line, '\r', '\n')...)
	}
	if bytes.HasPrefix(line, []byte("* CAPABILITY ")) {
		c.caps = append([]byte(nil), line...)
		return nil
	}
	return append(append([]byte(nil), line...), '\r', '\n')
}

// unhold returns the held CAPABILITY line, if any, with its CRLF.
func (c *saslLineConn) unhold() []byte {
	if c.caps == nil {
		return nil
	}
	b := append(c.caps, '\r', '\n')
	c.caps = nil
	return b
}

// imapStartTLS does the STARTTLS exchange (RFC 3501 section 6.2.1) itself,
// so that the IMAP client runs on the TLS connection and saslLineConn sits
// above TLS. It returns the TLS connection, handshake done, preceded by a
// stand-in greeting: the client asks for CAPABILITY again, as it must
// after STARTTLS.
func imapStartTLS(ctx context.Context, conn net.Conn, cfg *tls.Config) (net.Conn, error) {
	br := bufio.NewReaderSize(conn, 4096)
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "* OK") {
		return nil, fmt.Errorf("the server greeted with %q instead of * OK", redact(strings.TrimSpace(line)))
	}
	if _, err := io.WriteString(conn, "S1 STARTTLS\r\n"); err != nil {
		return nil, err
	}
	for {
		if line, err = br.ReadString('\n'); err != nil {
			return nil, err
		}
		if strings.HasPrefix(line, "S1 ") {
			break
		}
	}
	if !strings.HasPrefix(line, "S1 OK") {
		return nil, fmt.Errorf("the server refused STARTTLS: %s", redact(strings.TrimSpace(line)))
	}
	// Nothing may come between the OK and the handshake (CVE-2011-0411
	// style injection); a server that sends more is not trusted.
	if br.Buffered() > 0 {
		return nil, errors.New("the server sent data after STARTTLS before the TLS handshake")
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return &greetingConn{Conn: tc, r: io.MultiReader(strings.NewReader("* OK TLS is on\r\n"), tc)}, nil
}

// greetingConn reads from r (a stand-in greeting, then the connection).
type greetingConn struct {
	net.Conn
	r io.Reader
}

func (c *greetingConn) Read(b []byte) (int, error) { return c.r.Read(b) }

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
		sc := NewOAuthSASLClient(s.t.mechanism(), s.mailbox, tok.AccessToken)
		ic.sasl.authenticating.Store(true)
		err = ic.c.Authenticate(sc)
		ic.sasl.authenticating.Store(false)
		ic.sasl.loggedIn.Store(true)
		if err != nil {
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
