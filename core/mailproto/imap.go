package mailproto

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

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// IMAPLoginConn is the connection an imapclient.Client runs on; it adjusts
// two things of the login, and only those.
//
// It sends an empty SASL response as the empty line RFC 3501 (section
// 6.2.2) prescribes. go-imap writes "=" for it, which is only valid for an
// initial response (SASL-IR, RFC 4959): Gmail takes it, but Dovecot
// answers "BAD Invalid base64 data in continued response" to the empty
// XOAUTH2 acknowledgement of its error challenge, hiding its real
// NO [AUTHENTICATIONFAILED]. Only a write that is exactly that line is
// changed, and only during AUTHENTICATE.
//
// And, until the login is over, it hands go-imap Gmail's capabilities
// after login in the form go-imap keeps. Gmail sends them as an untagged "* CAPABILITY ..." before its
// tagged "A2 OK user authenticated (Success)"; go-imap reads them, then
// drops them at the tagged OK (which has no [CAPABILITY] code) and sends a
// CAPABILITY command of its own, a command per mailbox Gmail has already
// answered. An untagged CAPABILITY directly followed by the tagged OK is
// read as the one line "A2 OK [CAPABILITY ...] text", which RFC 3501
// (section 7.1) makes equivalent. Every other line is read as it came.
// Reads are taken a line at a time from the greeting on (the reading
// goroutine may already wait for the AUTHENTICATE's reply when it starts)
// until Authenticate returns; before login a server sends only short lines.
type IMAPLoginConn struct {
	net.Conn
	authenticating atomic.Bool
	loggedIn       atomic.Bool // AUTHENTICATE is over: reads pass through

	// Used by the reading goroutine only. Until login, reads go into buf,
	// one buffer for the connection (a new one for each read and a copy of
	// each line were 18 KB a mailbox); in and out are windows into it
	// unless a line was rewritten.
	buf  []byte
	in   []byte // read, not yet split into lines
	out  []byte // ready for the reader
	caps []byte // a held "* CAPABILITY" line, without CRLF
	rerr error  // the read error to return once in and out are empty
}

// loginReadSize is the first size of IMAPLoginConn's buffer: the lines
// before login (greeting, capabilities, the login's reply) are short, and
// it grows for a line that is not.
const loginReadSize = 1024

// NewIMAPLoginConn returns conn (after its TLS or STARTTLS, so the
// adjustments see the protocol's lines) as the connection to give
// imapclient.New.
func NewIMAPLoginConn(conn net.Conn) *IMAPLoginConn { return &IMAPLoginConn{Conn: conn} }

// Authenticate runs client's AUTHENTICATE with sc (client runs on c);
// from then on reads and writes pass through unchanged.
func (c *IMAPLoginConn) Authenticate(client *imapclient.Client, sc sasl.Client) error {
	c.authenticating.Store(true)
	err := client.Authenticate(sc)
	c.authenticating.Store(false)
	c.loggedIn.Store(true)
	return err
}

// Write implements net.Conn.
func (c *IMAPLoginConn) Write(b []byte) (int, error) {
	if c.authenticating.Load() && string(b) == "=\r\n" {
		if _, err := c.Conn.Write([]byte("\r\n")); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// Read implements net.Conn.
func (c *IMAPLoginConn) Read(b []byte) (int, error) {
	for {
		if len(c.out) > 0 {
			n := copy(b, c.out)
			c.out = c.out[n:]
			return n, nil
		}
		if c.loggedIn.Load() || c.rerr != nil {
			if c.caps != nil { // what was held, as it came
				c.out = append(c.unhold(), c.in...)
				c.in = nil
				continue
			}
			if len(c.in) > 0 { // buf is not read into again
				c.out, c.in = c.in, nil
				continue
			}
			if c.rerr != nil {
				return 0, c.rerr
			}
			return c.Conn.Read(b)
		}
		if i := bytes.Index(c.in, []byte("\r\n")); i >= 0 {
			line := c.in[:i+2]
			c.in = c.in[i+2:]
			c.out = c.foldCaps(line)
			continue
		}
		c.fill()
	}
}

// fill reads into buf after the part of a line already read, which it
// first moves to buf's start (out is empty: nothing else points into buf).
func (c *IMAPLoginConn) fill() {
	if c.buf == nil {
		c.buf = make([]byte, loginReadSize)
	}
	n := copy(c.buf, c.in)
	if n == len(c.buf) { // a line longer than buf
		c.buf = append(c.buf, make([]byte, len(c.buf))...)
	}
	m, err := c.Conn.Read(c.buf[n:])
	c.in, c.rerr = c.buf[:n+m], err
}

// foldCaps returns line (with its CRLF) as go-imap is to read it; the line
// is valid until the next fill, and so is the answer.
func (c *IMAPLoginConn) foldCaps(line []byte) []byte {
	if c.caps != nil {
		tag, rest, _ := strings.Cut(string(line[:len(line)-2]), " ")
		if text, ok := strings.CutPrefix(rest, "OK "); ok && tag != "*" && tag != "+" && !strings.HasPrefix(text, "[") {
			caps := strings.TrimPrefix(string(c.caps), "* CAPABILITY ")
			c.caps = nil
			return []byte(tag + " OK [CAPABILITY " + caps + "] " + text + "\r\n")
		}
		return append(c.unhold(), line...)
	}
	if bytes.HasPrefix(line, []byte("* CAPABILITY ")) {
		c.caps = append([]byte(nil), line[:len(line)-2]...)
		return nil
	}
	return line
}

// unhold returns the held CAPABILITY line, if any, with its CRLF.
func (c *IMAPLoginConn) unhold() []byte {
	if c.caps == nil {
		return nil
	}
	b := append(c.caps, '\r', '\n')
	c.caps = nil
	return b
}

// IMAPStartTLS does the STARTTLS exchange (RFC 3501 section 6.2.1) on a
// freshly dialled conn itself, so that the IMAP client runs on the TLS
// connection and IMAPLoginConn sits above TLS. It returns the TLS
// connection, handshake done, preceded by a stand-in greeting: the client
// asks for CAPABILITY again, as it must after STARTTLS. An error may quote
// the server's line; the caller redacts what it shows.
func IMAPStartTLS(ctx context.Context, conn net.Conn, cfg *tls.Config) (net.Conn, error) {
	br := bufio.NewReaderSize(conn, 4096)
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "* OK") {
		return nil, fmt.Errorf("the server greeted with %q instead of * OK", strings.TrimSpace(line))
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
		return nil, fmt.Errorf("the server refused STARTTLS: %s", strings.TrimSpace(line))
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
