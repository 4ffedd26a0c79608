package proxy

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mailoauth/mailoauth/core"
)

// Protocol is what a listener speaks.
type Protocol string

// The protocols.
const (
	IMAP Protocol = "imap"
	SMTP Protocol = "smtp"
	POP3 Protocol = "pop3"
)

// The default listen addresses of `mailoauth proxy` (STARTTLS; a plain
// login is allowed there, as they are loopback addresses).
const (
	DefaultIMAPAddr = "127.0.0.1:1993"
	DefaultSMTPAddr = "127.0.0.1:1587"
)

// Defaults of Config.
const (
	// DefaultMaxPerMailbox stays under Gmail's 15 simultaneous IMAP
	// connections per account, leaving room for the host product's own.
	DefaultMaxPerMailbox = 10
	DefaultMaxConns      = 500
	DefaultIdleTimeout   = 30 * time.Minute
	DefaultLoginTimeout  = time.Minute
	DefaultUpstream      = 30 * time.Second
	DefaultFailLimit     = 5
	DefaultFailWindow    = time.Minute
	DefaultLockout       = 15 * time.Minute
	// lockedReportEvery is how often an address that is locked out and
	// keeps trying gets a log line and an audit entry: one says how many
	// attempts were refused since the last, so that a client hammering the
	// proxy cannot grow the store and the log with each one.
	lockedReportEvery = time.Minute
	// maxLine bounds every line read before the login (RFC 3501 and RFC
	// 5321 servers allow far less than this; a SASL PLAIN answer fits).
	maxLine = 8192
)

// Account is a mailbox the proxy serves.
type Account struct {
	// Address is the mailbox, normalised.
	Address string
	// PasswordHash is the argon2id hash of its proxy password; empty when
	// none was set (then no login succeeds).
	PasswordHash string
	// Upstream logs in to the mailbox's servers with its OAuth token.
	Upstream *core.Tester
}

// ErrUnknownMailbox is what a Directory returns for an address it does not
// serve.
var ErrUnknownMailbox = errors.New("unknown mailbox")

// Directory finds the mailbox a client logs in as. It is asked at every
// login, so a password rotated meanwhile takes effect at once.
type Directory interface {
	Account(address string) (Account, error)
}

// Login is one login attempt, for the audit log: no secret in it.
type Login struct {
	Protocol Protocol
	Mailbox  string
	Client   string // the client's IP address
	OK       bool
	// Reason of a refusal: "wrong password", "unknown mailbox", "locked
	// out", "connection limit", or the finding code of the upstream's.
	Reason string
}

// Config is the proxy's configuration. Directory and TLS are required.
type Config struct {
	Directory Directory
	// TLS carries the proxy's certificate.
	TLS *tls.Config
	// Log receives one line per login and per problem; nil: discarded.
	Log *slog.Logger
	// Audit receives every login attempt; nil: none.
	Audit func(Login)
	// Limits; zero values take the defaults above.
	MaxPerMailbox int
	MaxConns      int
	IdleTimeout   time.Duration
	// LoginTimeout bounds everything before the login is relayed.
	LoginTimeout time.Duration
	// UpstreamTimeout bounds the connection and login to the real server.
	UpstreamTimeout time.Duration
	// FailLimit wrong passwords from one address within FailWindow lock
	// that address out for Lockout.
	FailLimit  int
	FailWindow time.Duration
	Lockout    time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Server is a running proxy: any number of IMAP, SMTP and POP3 listeners sharing
// the limits.
type Server struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	dir       Directory
	listeners map[net.Listener]bool
	conns     map[*session]bool
	perBox    map[string]int // "imap\x00addr" -> authenticated sessions
	fails     map[string]*failures
	lastPrune time.Time         // of fails (pruneFails)
	verified  map[string][]byte // mailbox -> HMAC of (hash, password) last verified
	closing   bool
	wg        sync.WaitGroup
	settled   *sync.Cond // on mu: a reserved verification settled

	hashSem chan struct{} // bounds concurrent argon2id verifications
	macKey  []byte

	smtpExt smtpExtensions
}

// New returns a Server; Serve adds listeners to it.
func New(cfg Config) *Server {
	core.SetDefaults(&cfg, Config{
		MaxPerMailbox:   DefaultMaxPerMailbox,
		MaxConns:        DefaultMaxConns,
		IdleTimeout:     DefaultIdleTimeout,
		LoginTimeout:    DefaultLoginTimeout,
		UpstreamTimeout: DefaultUpstream,
		FailLimit:       DefaultFailLimit,
		FailWindow:      DefaultFailWindow,
		Lockout:         DefaultLockout,
		Now:             time.Now,
	})
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s := &Server{cfg: cfg, log: log, dir: cfg.Directory,
		listeners: map[net.Listener]bool{}, conns: map[*session]bool{}, perBox: map[string]int{},
		fails: map[string]*failures{}, verified: map[string][]byte{},
		hashSem: make(chan struct{}, 2), macKey: key}
	s.settled = sync.NewCond(&s.mu)
	s.smtpExt.init()
	return s
}

// SetDirectory replaces the directory (a reload); sessions already relayed
// keep their upstream. With an SMTP listener served, the SMTP servers of a
// Directory that is an SMTPLister are asked for their extensions again.
func (s *Server) SetDirectory(d Directory) {
	s.mu.Lock()
	s.dir = d
	s.verified = map[string][]byte{}
	s.mu.Unlock()
	s.probeSMTP(false)
}

// Serve accepts connections on ln until Shutdown. sec is SecurityTLS
// (implicit TLS from the first byte) or SecurityStartTLS (plain, with
// STARTTLS offered; a login before it is accepted only when ln listens on
// a loopback address).
func (s *Server) Serve(ln net.Listener, proto Protocol, sec core.Security) error {
	plainOK := false
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && ta.IP.IsLoopback() {
		plainOK = true
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners[ln] = true
	s.mu.Unlock()
	if proto == SMTP {
		s.probeSMTP(true)
	}
	var retry time.Duration // after a temporary Accept error
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			switch {
			case closing:
				return nil
			case temporary(err):
				// e.g. out of file descriptors (EMFILE, ENFILE) for a
				// while: wait for sessions to end, backing off as
				// net/http does, rather than stop serving
				retry = min(max(2*retry, 5*time.Millisecond), time.Second)
				s.log.Warn("proxy: cannot accept a connection, retrying", "protocol", proto, "error", err.Error(), "in", retry.String())
				time.Sleep(retry)
				continue
			}
			s.mu.Lock()
			delete(s.listeners, ln)
			s.mu.Unlock()
			return err
		}
		retry = 0
		sess := &session{srv: s, raw: c, proto: proto, plainOK: plainOK, client: hostOf(c.RemoteAddr())}
		if sec == core.SecurityTLS {
			sess.tls = true
			c = tls.Server(&readyConn{Conn: c}, s.cfg.TLS)
		}
		sess.conn = c
		s.mu.Lock()
		full := len(s.conns) >= s.cfg.MaxConns
		closing := s.closing
		if !full && !closing {
			s.conns[sess] = true
			s.wg.Add(1)
		}
		s.mu.Unlock()
		if closing {
			c.Close()
			continue
		}
		if full {
			s.log.Warn("proxy: connection refused, the proxy is at its limit", "protocol", proto, "client", sess.client, "max_conns", s.cfg.MaxConns)
			go sess.refuseFull()
			continue
		}
		go func() {
			defer s.wg.Done()
			defer s.drop(sess)
			sess.run()
		}()
	}
}

// temporary reports whether an Accept error may pass: a timeout, or an
// error that says it is temporary (a syscall.Errno such as EMFILE, ENFILE
// or ECONNABORTED does).
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.As(err, &t) && t.Temporary()
}

func (s *Server) drop(sess *session) {
	s.mu.Lock()
	delete(s.conns, sess)
	s.mu.Unlock()
	sess.close()
}

// Shutdown stops accepting, closes the sessions still logging in, and waits
// for relayed sessions to end until ctx is done; then it closes them.
func (s *Server) Shutdown(ctx context.Context) error {
	s.smtpExt.cancel()
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	for sess := range s.conns {
		if !sess.relaying() {
			sess.close()
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for sess := range s.conns {
		sess.close()
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}

// Sessions is how many connections are open.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// errLogin is a refusal of the client's own credentials.
type loginError struct {
	reason string // for the audit and the log
	locked time.Time
	quiet  bool // neither logged nor audited (lockedReportEvery)
}

func (e *loginError) Error() string { return e.reason }

// authenticate checks the address and proxy password; it returns the
// account or a *loginError.
func (s *Server) authenticate(proto Protocol, client, address, password string) (Account, error) {
	address = strings.ToLower(strings.TrimSpace(address))
	if le := s.lockedOut(client); le != nil {
		return Account{Address: address}, le
	}
	s.mu.Lock()
	dir := s.dir
	s.mu.Unlock()
	acct, err := Account{}, ErrUnknownMailbox
	// No longer name is a mailbox. The byte guard (4 bytes a character at
	// most) spares counting the characters of 8 KB of junk.
	if len(address) <= 4*core.MaxAddressLen && utf8.RuneCountInString(address) <= core.MaxAddressLen {
		acct, err = dir.Account(address)
	}
	var reason string
	switch {
	case err != nil:
		if !errors.Is(err, ErrUnknownMailbox) {
			s.log.Error("proxy: cannot look the mailbox up", "mailbox", s.loggedName(address), "error", err.Error())
		}
		acct, reason = Account{Address: address}, "unknown mailbox"
	case acct.PasswordHash == "":
		reason = "no proxy password set"
	}
	mac := s.passwordMAC(acct.PasswordHash, password)
	if reason == "" && s.verifiedBefore(acct.Address, mac) {
		return acct, nil
	}
	if le := s.reserve(client); le != nil {
		return Account{Address: address}, le
	}
	if reason != "" {
		// as slow as a wrong password, so that timing tells nothing
		s.verify(address, dummyHash, password, nil)
	} else if !s.verify(acct.Address, acct.PasswordHash, password, mac) {
		reason = "wrong password"
	}
	if s.settle(client, reason != "") {
		s.log.Warn("proxy: client address locked out after repeated wrong passwords", "client", client,
			"failures", s.cfg.FailLimit, "window", s.cfg.FailWindow.String(), "for", s.cfg.Lockout.String())
	}
	if reason == "" {
		return acct, nil
	}
	return acct, &loginError{reason: reason}
}

// passwordMAC is the keyed MAC of a password and the hash it is checked
// against, for verifiedBefore.
func (s *Server) passwordMAC(hash, password string) []byte {
	mac := hmac.New(sha256.New, s.macKey)
	mac.Write([]byte(hash))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	return mac.Sum(nil)
}

// verifiedBefore reports whether the mailbox's password was verified
// before with this MAC: a product that reconnects every minute costs one
// hash, not one per connection.
func (s *Server) verifiedBefore(mailbox string, mac []byte) bool {
	s.mu.Lock()
	prev := s.verified[mailbox]
	s.mu.Unlock()
	return prev != nil && hmac.Equal(prev, mac)
}

// verify checks the password with argon2id, at most two at a time, and
// remembers mac for verifiedBefore when it is right.
func (s *Server) verify(mailbox, hash, password string, mac []byte) bool {
	s.hashSem <- struct{}{}
	ok := VerifyPassword(hash, password)
	<-s.hashSem
	if ok && mac != nil {
		s.mu.Lock()
		s.verified[mailbox] = mac
		s.mu.Unlock()
	}
	return ok
}

// claim takes a slot of the mailbox's connection limit; release gives it back.
func (s *Server) claim(proto Protocol, mailbox string) (release func(), ok bool) {
	key := string(proto) + "\x00" + mailbox
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perBox[key] >= s.cfg.MaxPerMailbox {
		return nil, false
	}
	s.perBox[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.perBox[key]--; s.perBox[key] <= 0 {
				delete(s.perBox, key)
			}
			s.mu.Unlock()
		})
	}, true
}

func (s *Server) audit(l Login) {
	if s.cfg.Audit != nil {
		s.cfg.Audit(l)
	}
}
