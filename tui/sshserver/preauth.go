package sshserver

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"charm.land/ssh"
)

// Connections that have not logged in yet cost the server memory and a
// goroutine each and prove nothing: they get HandshakeTimeout to log in
// and open a session, and only so many may wait at once, from one address
// and in all. The rest are closed at once, with a log line.
const (
	DefaultHandshakeTimeout    = 15 * time.Second
	DefaultMaxPreauthPerSource = 8
	DefaultMaxPreauth          = 64
)

// preauthLimiter counts the connections not yet in a session, per source
// address and in all.
type preauthLimiter struct {
	mu               sync.Mutex
	perSource        map[string]int
	total            int
	maxPerSource, mx int
	logf             func(format string, args ...any)
}

func newPreauthLimiter(perSource, total int, logf func(string, ...any)) *preauthLimiter {
	return &preauthLimiter{perSource: map[string]int{}, maxPerSource: perSource, mx: total, logf: logf}
}

type preauthKey struct{}

// preauthSlot is one waiting connection's place; released once, when its
// first session starts or when it closes, whichever comes first.
type preauthSlot struct {
	l      *preauthLimiter
	source string
	once   sync.Once
}

func (s *preauthSlot) release() {
	s.once.Do(func() {
		s.l.mu.Lock()
		defer s.l.mu.Unlock()
		if s.l.perSource[s.source]--; s.l.perSource[s.source] <= 0 {
			delete(s.l.perSource, s.source)
		}
		s.l.total--
	})
}

// preauthConn releases its slot when the connection closes.
type preauthConn struct {
	net.Conn
	slot *preauthSlot
}

func (c *preauthConn) Close() error {
	c.slot.release()
	return c.Conn.Close()
}

// admit is the server's ConnCallback: a connection over either limit is
// refused (nil closes it) and logged; the others take a slot.
func (l *preauthLimiter) admit(ctx ssh.Context, conn net.Conn) net.Conn {
	source := conn.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(source); err == nil {
		source = host
	}
	l.mu.Lock()
	n, total := l.perSource[source], l.total
	if n >= l.maxPerSource || total >= l.mx {
		l.mu.Unlock()
		l.logf("refused a connection from %s: %d connection(s) from it and %d in all are not logged in yet (limits %d and %d)", source, n, total, l.maxPerSource, l.mx)
		return nil
	}
	l.perSource[source]++
	l.total++
	l.mu.Unlock()
	slot := &preauthSlot{l: l, source: source}
	ctx.SetValue(preauthKey{}, slot)
	return &preauthConn{Conn: conn, slot: slot}
}

// loggedIn releases the connection's slot: its session started.
func loggedIn(ctx ssh.Context) {
	if slot, ok := ctx.Value(preauthKey{}).(*preauthSlot); ok {
		slot.release()
	}
}

// handshakeFailed logs a connection closed because it did not log in
// within the handshake timeout.
func (s *Server) handshakeFailed(conn net.Conn, err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		s.cfg.Logf("closed a connection from %s that did not log in within %s", conn.RemoteAddr(), s.cfg.HandshakeTimeout)
	}
}
