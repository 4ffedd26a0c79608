package mailproto

import (
	"bytes"
	"fmt"
	"net"
	"sync"
)

// What a mail server may send mailoauth on one connection. Gmail's lines
// are a few hundred bytes and a check reads a few kilobytes; a server that
// sends an endless line, or endless lines, must not grow mailoauth's
// memory until the check's timeout: the connection is cut instead and the
// check fails with the reason.
const (
	// MaxServerLine is the longest line read from an IMAP or SMTP server
	// (RFC 2683 asks clients to take 8000 octets; this is eight times it).
	MaxServerLine = 64 << 10
	// MaxServerBytes is the most read from one IMAP or SMTP connection.
	MaxServerBytes = 16 << 20
)

// LimitReads returns c cutting itself, with the reason as the read error,
// when the peer sends a line longer than MaxServerLine or more than
// MaxServerBytes in all.
func LimitReads(c net.Conn) net.Conn { return &limitConn{Conn: c} }

// limitConn is LimitReads' connection. Reads are serial (one reader per
// connection); the mutex only keeps the race detector and a concurrent
// Close honest.
type limitConn struct {
	net.Conn
	mu    sync.Mutex
	line  int
	total int
	err   error
}

func (c *limitConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, rerr := c.Conn.Read(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += n
	if i := bytes.LastIndexByte(b[:n], '\n'); i >= 0 {
		c.line = n - i - 1
	} else {
		c.line += n
	}
	switch {
	case c.line > MaxServerLine:
		c.err = fmt.Errorf("the server sent a line longer than %d KB without an end, which no IMAP or SMTP server does; the connection was cut", MaxServerLine>>10)
	case c.total > MaxServerBytes:
		c.err = fmt.Errorf("the server sent more than %d MB on one connection, far more than a check reads; the connection was cut", MaxServerBytes>>20)
	}
	if c.err != nil {
		c.Conn.Close()
		return 0, c.err
	}
	return n, rerr
}
