package proxy

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/mailoauth/mailoauth/core"
)

// session is one client connection: first the proxy's own dialogue, then
// (after the upstream login) the relay.
type session struct {
	srv     *Server
	raw     net.Conn // the TCP connection
	conn    net.Conn // raw, or TLS over it
	br      *bufio.Reader
	proto   Protocol
	tls     bool
	plainOK bool // the listener is on a loopback address
	client  string
	helo    string // the SMTP client's EHLO name
	mailbox string // logged in as, once the login succeeded
	refused int    // logins refused on this connection (maxRefusedLogins)

	mu       sync.Mutex
	up       net.Conn
	isRelay  bool
	isClosed bool
}

var errLineTooLong = errors.New("line too long")

func (s *session) relaying() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.isRelay
}

func (s *session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.isClosed = true
	s.raw.Close()
	if s.up != nil {
		s.up.Close()
	}
}

// goodbye ends a connection after the proxy's last reply (a BYE, a 421, an
// -ERR) so that the client reads that reply: closing a socket whose
// receive buffer still holds the client's next, unread command makes the
// kernel answer with a reset, and a reset can reach the client before it
// has read the reply, which it then never sees. So the proxy shuts down
// its sending side and reads what the client still sends, for a moment,
// before it closes, as web servers' lingering close does.
func (s *session) goodbye() {
	defer s.close()
	if tc, ok := s.conn.(*tls.Conn); ok {
		_ = tc.CloseWrite()
	}
	cw, ok := s.raw.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	_ = s.raw.SetReadDeadline(time.Now().Add(goodbyeLinger))
	buf := make([]byte, 4096)
	for n := 0; n < goodbyeDrain; {
		m, err := s.raw.Read(buf)
		if err != nil {
			return
		}
		n += m
	}
}

// goodbyeLinger and goodbyeDrain bound how long and how much goodbye reads
// of a client that keeps sending after the last reply.
const (
	goodbyeLinger = 2 * time.Second
	goodbyeDrain  = 64 << 10
)

// tooMany is why the connection is closed before a login: the refused
// logins or the bad commands.
func (s *session) tooMany() string {
	if s.refused >= maxRefusedLogins {
		return "too many refused logins"
	}
	return "too many bad commands"
}

// canLogin reports whether a password may be taken on this connection now.
func (s *session) canLogin() bool { return s.tls || s.plainOK }

func (s *session) run() {
	s.br = bufio.NewReaderSize(s.conn, maxLine)
	ctx, cancel := context.WithTimeout(context.Background(), s.srv.cfg.LoginTimeout)
	defer cancel()
	// Nothing before the relay may outlast the login timeout.
	stop := context.AfterFunc(ctx, s.close)
	defer stop()
	switch s.proto {
	case IMAP:
		s.runIMAP(ctx, stop)
	case SMTP:
		s.runSMTP(ctx, stop)
	case POP3:
		s.runPOP3(ctx, stop)
	}
}

func (s *session) refuseFull() {
	defer s.raw.Close()
	_ = s.raw.SetDeadline(time.Now().Add(5 * time.Second))
	switch s.proto {
	case IMAP:
		fmt.Fprintf(s.conn, "* BYE [UNAVAILABLE] mailoauth proxy: too many connections, try again later\r\n")
	case POP3:
		fmt.Fprintf(s.conn, "-ERR [SYS/TEMP] mailoauth proxy: too many connections, try again later\r\n")
	default:
		fmt.Fprintf(s.conn, "421 4.7.0 mailoauth proxy: too many connections, try again later\r\n")
	}
}

// readLine reads one line of at most maxLine bytes, without its CRLF.
func (s *session) readLine() (string, error) {
	line, err := s.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errLineTooLong
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

func (s *session) write(format string, args ...any) error {
	_, err := fmt.Fprintf(s.conn, format, args...)
	return err
}

// startTLS switches the connection to TLS after the client's STARTTLS was
// answered. Anything the client sent after STARTTLS before the handshake
// is refused (command injection, CVE-2011-0411).
func (s *session) startTLS(ctx context.Context) error {
	if s.br.Buffered() > 0 {
		return errors.New("the client sent data after STARTTLS before the TLS handshake")
	}
	tc := tls.Server(&readyConn{Conn: s.raw}, s.srv.cfg.TLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	s.conn, s.tls = tc, true
	s.br = bufio.NewReaderSize(tc, maxLine)
	return nil
}

// login checks the client's credentials and logs in upstream. On success
// it returns the upstream connection and the release of the mailbox's
// connection slot; on failure the reply for the client (its reason for the
// log already logged and audited).
func (s *session) login(ctx context.Context, user, password string) (up *upstream, release func(), ref *refusal) {
	defer func() {
		if ref != nil {
			s.refused++
		}
	}()
	acct, err := s.srv.authenticate(s.proto, s.client, user, password)
	l := Login{Protocol: s.proto, Mailbox: acct.Address, Client: s.client}
	var le *loginError
	if errors.As(err, &le) {
		if !le.quiet {
			l.Mailbox, l.Reason = s.srv.loggedName(acct.Address), le.reason
			s.srv.audit(l)
			s.srv.log.Warn("proxy: login refused", "protocol", s.proto, "mailbox", l.Mailbox, "client", s.client, "reason", le.reason)
		}
		if !le.locked.IsZero() {
			return nil, nil, &refusal{kind: refusedLocked, text: fmt.Sprintf("mailoauth: too many wrong passwords from %s, try again after %s", s.client, le.locked.UTC().Format("15:04 UTC"))}
		}
		return nil, nil, &refusal{kind: refusedPassword}
	}
	release, ok := s.srv.claim(s.proto, acct.Address)
	if !ok {
		l.Reason = "connection limit"
		s.srv.audit(l)
		s.srv.log.Warn("proxy: login refused, the mailbox is at its connection limit", "protocol", s.proto, "mailbox", acct.Address, "client", s.client, "max_per_mailbox", s.srv.cfg.MaxPerMailbox)
		return nil, nil, &refusal{kind: refusedLimit, text: fmt.Sprintf("mailoauth: %s already has %d %s connections through the proxy, close one and retry", acct.Address, s.srv.cfg.MaxPerMailbox, strings.ToUpper(string(s.proto)))}
	}
	uctx, cancel := context.WithTimeout(ctx, s.srv.cfg.UpstreamTimeout)
	defer cancel()
	up, err = dialUpstream(uctx, acct, s.proto, s.clientName())
	if errors.Is(err, errNoPOP3Server) {
		release()
		l.Reason = "no POP3 server"
		s.srv.audit(l)
		s.srv.log.Error("proxy: the mailbox's endpoints name no POP3 server", "protocol", s.proto, "mailbox", acct.Address, "client", s.client,
			"fix", `add "pop3": "host:995" to the endpoints file of the mailbox's profile, or fetch its mail by IMAP`)
		return nil, nil, &refusal{kind: refusedConfig, text: "mailoauth: this mailbox has no POP3 server, see the log"}
	}
	if err != nil {
		release()
		// core.Tester.AuthenticateUpstream diagnoses every error it
		// returns; the guard only keeps a future undiagnosed one from
		// panicking.
		f := core.FindingOf(err)
		if f == nil {
			f = core.NewFinding(core.CodeConnectFailed, err.Error(), "run mailoauth test on the mailbox to diagnose it")
		}
		l.Reason = string(f.Code)
		s.srv.audit(l)
		s.srv.log.Error("proxy: the mail server refused the mailbox's login", "protocol", s.proto, "mailbox", acct.Address, "client", s.client,
			"code", string(f.Code), "summary", f.Summary, "fix", f.Fix)
		return nil, nil, &refusal{kind: refusedUpstream, code: f.Code, text: fmt.Sprintf("mailoauth: %s, see the log", f.Code)}
	}
	l.OK = true
	s.mailbox = acct.Address
	s.srv.audit(l)
	s.srv.log.Info("proxy: login", "protocol", s.proto, "mailbox", acct.Address, "client", s.client)
	return up, release, nil
}

// loggedName is the user name a client gave, as the log and the audit
// show it: an e-mail address as it is, anything else (often the password
// typed in the wrong field, or 8 KB of junk) only as its length and a
// fingerprint keyed for this run of the proxy, which tells repeated
// attempts apart without revealing or confirming what was typed.
func (s *Server) loggedName(name string) string {
	if addr, err := (core.MailboxRule{}).Address(name); err == nil && addr == name {
		return name
	}
	mac := hmac.New(sha256.New, s.macKey)
	mac.Write([]byte("user name\x00"))
	mac.Write([]byte(name))
	return fmt.Sprintf("<not a mailbox, %d chars, %x>", utf8.RuneCountInString(name), mac.Sum(nil)[:4])
}

func (s *session) clientName() string {
	if s.proto == SMTP && s.helo != "" {
		return s.helo
	}
	return "localhost"
}

// beginRelay ends the login phase (its timeout included) before the client
// is told it is logged in, so that a shutdown from then on drains the
// session instead of closing it. false: the session is already closed, and
// up and release are let go.
func (s *session) beginRelay(stop func() bool, up *upstream, release func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed || !stop() {
		up.conn.Close()
		release()
		return false
	}
	s.up, s.isRelay = up.conn, true
	return true
}

// relayAfter begins the relay (beginRelay), tells the client it is logged
// in with loggedIn's reply, and relays until the session ends.
func (s *session) relayAfter(stop func() bool, up *upstream, release func(), loggedIn func() error) {
	if !s.beginRelay(stop, up, release) {
		return
	}
	if loggedIn() != nil {
		release()
		s.close()
		return
	}
	s.relay(up, release)
}

// relay copies both ways until either side closes or nothing moved for the
// idle timeout; an SMTP server's replies lose the extensions the client is
// not to see (ehloFilter). release frees the mailbox's connection slot at
// the end.
func (s *session) relay(up *upstream, release func()) {
	defer release()
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	done := make(chan struct{}, 2)
	pump := func(dst, src net.Conn, br *bufio.Reader, filter func(out, p []byte) []byte) {
		_ = copyConn(dst, src, br, &last, filter)
		s.close()
		done <- struct{}{}
	}
	var commands, replies func(out, p []byte) []byte
	if s.proto == SMTP {
		f := &ehloFilter{refused: s.refusedCommand}
		commands, replies = f.commands, f.feed
	}
	client, server := rawRelay(s.conn), rawRelay(up.conn)
	go pump(server, client, s.br, commands)
	go pump(client, server, up.br, replies)
	idle := s.srv.cfg.IdleTimeout
	tick := time.NewTicker(min(idle/4+time.Millisecond, time.Minute))
	defer tick.Stop()
	for {
		select {
		case <-done:
			<-done
			return
		case <-tick.C:
			if time.Since(time.Unix(0, last.Load())) > idle {
				s.srv.log.Info("proxy: idle session closed", "protocol", s.proto, "client", s.client, "idle", idle.String())
				s.close()
			}
		}
	}
}

// relayBuffer is each direction's copy buffer: two full TLS records.
const relayBuffer = 32 * 1024

// copyConn copies src to dst until either fails, starting with what the
// login's reader br still holds, and stores the time of every read in
// last. Each write carries all that src has ready: one Read of a TLS
// connection returns one record, while a server often sends a reply in
// several (an IMAP FETCH response and its tagged OK are two) that arrive
// together; those records are taken without waiting and go out in one
// write, one system call (and on a TLS client leg one record) instead of
// one each. filter, if not nil, appends to its out what of p goes to dst
// (or returns p itself, having only looked at it).
func copyConn(dst, src net.Conn, br *bufio.Reader, last *atomic.Int64, filter func(out, p []byte) []byte) error {
	var out []byte
	send := func(p []byte) error {
		if filter != nil {
			if out = filter(out[:0], p); len(out) == 0 {
				return nil
			}
			p = out
		}
		_, err := dst.Write(p)
		return err
	}
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		if err := send(b); err != nil {
			return err
		}
	}
	tc, _ := src.(*tls.Conn)
	buf := make([]byte, relayBuffer)
	for {
		n, err := src.Read(buf)
		if n > 0 && err == nil && tc != nil {
			n, err = readReady(tc, buf, n)
		}
		if n > 0 {
			last.Store(time.Now().UnixNano())
			if werr := send(buf[:n]); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
	}
}

// readReady fills buf after its first n bytes with the records the TLS
// connection src has already received, without waiting for more: its
// socket's reads are switched to fail at once (see readyConn), so a Read
// returns a record that is buffered and otherwise fails with no system call
// and the connection stays usable.
func readReady(src *tls.Conn, buf []byte, n int) (int, error) {
	rc, ok := src.NetConn().(*readyConn)
	if !ok {
		return n, nil
	}
	rc.noWait = true
	defer func() { rc.noWait = false }()
	for n < len(buf) {
		m, err := src.Read(buf[n:])
		n += m
		if err == errNotReady {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// rawRelay is c with its socket read and written by rawSocket from now on
// where that can be done: a TCP connection, or a TLS one over a readyConn
// (its raw is set). Called before the relay's goroutines start, which
// then only read raw.
func rawRelay(c net.Conn) net.Conn {
	if tc, ok := c.(*tls.Conn); ok {
		if rc, ok := tc.NetConn().(*readyConn); ok {
			rc.raw = newRawSocket(rc.Conn)
		}
		return c
	}
	if raw := newRawSocket(c); raw != nil {
		return &rawTCP{Conn: c, raw: raw}
	}
	return c
}

// rawTCP is a plain TCP connection relayed by rawSocket.
type rawTCP struct {
	net.Conn
	raw io.ReadWriter
}

func (c *rawTCP) Read(b []byte) (int, error)  { return c.raw.Read(b) }
func (c *rawTCP) Write(b []byte) (int, error) { return c.raw.Write(b) }

// readyConn is a TCP connection under a TLS one whose reads can be told to
// fail at once instead of reading the socket, for readReady: cheaper than
// the read deadline in the past it replaces (two SetReadDeadline calls per
// relayed chunk, each taking the poller's lock and moving a timer).
// noWait belongs to the goroutine that reads. raw, once the relay began
// (rawRelay), reads and writes the socket in place of Conn.
type readyConn struct {
	net.Conn
	noWait bool
	raw    io.ReadWriter
}

func (c *readyConn) Read(b []byte) (int, error) {
	if c.noWait {
		return 0, errNotReady
	}
	if c.raw != nil {
		return c.raw.Read(b)
	}
	return c.Conn.Read(b)
}

func (c *readyConn) Write(b []byte) (int, error) {
	if c.raw != nil {
		return c.raw.Write(b)
	}
	return c.Conn.Write(b)
}

// errNotReady is readyConn's read without waiting. A temporary net.Error,
// so that crypto/tls keeps the connection usable after it.
var errNotReady net.Error = notReady{}

type notReady struct{}

func (notReady) Error() string   { return "no data ready" }
func (notReady) Timeout() bool   { return true }
func (notReady) Temporary() bool { return true }
