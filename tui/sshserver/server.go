// Package sshserver serves the mailoauth wizard over SSH (`mailoauth serve`)
// with charm.land/wish: public keys only, checked against an OpenSSH
// authorized_keys file that is re-read when it changes; one fresh wizard per
// session, all sharing the one open store of the server process; idle
// sessions close, the number of sessions is capped, and shutdown drains
// the sessions politely.
//
// It imports tui, store and core; it must never import cmd/... (the command
// line starts it).
package sshserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	bm "charm.land/wish/v2/bubbletea"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
	"github.com/mailoauth/mailoauth/store"
	"github.com/mailoauth/mailoauth/tui"
)

// Defaults of the flags of `mailoauth serve`.
const (
	DefaultIdleTimeout = 15 * time.Minute
	DefaultMaxSessions = 10
	DefaultDrainGrace  = 5 * time.Second
	// HostKeyName is the host key's file name beside the store by default.
	HostKeyName = "ssh_host_ed25519_key"
)

// Config is what `mailoauth serve` hands the server.
type Config struct {
	// AuthorizedKeys is an OpenSSH authorized_keys file; required.
	AuthorizedKeys string
	// HostKey is the ed25519 host key file, generated (0600) when missing.
	HostKey string
	// Store is the one open store every session shares; required.
	Store *store.Store
	// Sandbox, when set, prefills every session's wizard with its values.
	Sandbox *sandbox.Sandbox
	// Profile preselects a domain in every session, optional.
	Profile string
	// IdleTimeout closes a session after this long without input (default
	// 15 min).
	IdleTimeout time.Duration
	// MaxSessions caps the sessions open at once (default 10).
	MaxSessions int
	// DrainGrace is how long Shutdown lets sessions finish after telling
	// them (default 5 s).
	DrainGrace time.Duration
	// HandshakeTimeout closes a connection that has not logged in within
	// it (default 15 s); MaxPreauthPerSource and MaxPreauth cap the
	// connections not logged in yet from one address and in all (default
	// 8 and 64): more are closed at once and logged.
	HandshakeTimeout                time.Duration
	MaxPreauthPerSource, MaxPreauth int
	// Logf receives one line per connection event; nil discards them.
	Logf func(format string, args ...any)

	// now is the idle timeout's clock, so a test can make a session idle
	// without waiting; nil is time.Now.
	now func() time.Time
	// admitted, when set, runs after a session got its slot and before
	// its wizard starts, so a test can hold a session at that point.
	admitted func()
}

// Server is the SSH-served wizard.
type Server struct {
	cfg         Config
	srv         *ssh.Server
	keys        *authorizedKeys
	fingerprint string

	mu       sync.Mutex
	sessions map[*session]struct{}
	draining bool
	wg       sync.WaitGroup
}

// session is one admitted session's slot: reserved (counted, and in the
// WaitGroup) by limitSessions, its wizard attached by program, released
// exactly once whatever way the session ends.
type session struct {
	program *tea.Program // nil until the wizard is attached; guarded by Server.mu
	done    chan struct{}
}

// New checks the configuration, loads or generates the host key and builds
// the server; it does not listen yet.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("the SSH server needs an open store")
	}
	if cfg.AuthorizedKeys == "" {
		return nil, errors.New("--authorized-keys is required: pass an OpenSSH authorized_keys file listing the administrators' public keys, e.g. --authorized-keys ~/.ssh/authorized_keys")
	}
	core.SetDefaults(&cfg, Config{
		IdleTimeout:         DefaultIdleTimeout,
		MaxSessions:         DefaultMaxSessions,
		DrainGrace:          DefaultDrainGrace,
		HandshakeTimeout:    DefaultHandshakeTimeout,
		MaxPreauthPerSource: DefaultMaxPreauthPerSource,
		MaxPreauth:          DefaultMaxPreauth,
		Logf:                func(string, ...any) {},
	})
	if cfg.HostKey == "" {
		cfg.HostKey = filepath.Join(filepath.Dir(cfg.Store.Path()), HostKeyName)
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	keys, err := loadAuthorizedKeys(cfg.AuthorizedKeys, cfg.Logf)
	if err != nil {
		return nil, err
	}
	pemBytes, fp, err := loadOrCreateHostKey(cfg.HostKey)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, keys: keys, fingerprint: fp, sessions: map[*session]struct{}{}}
	s.srv, err = wish.NewServer(
		wish.WithHostKeyPEM(pemBytes),
		// Public keys only: with no password or keyboard-interactive
		// handler the server offers neither method.
		wish.WithPublicKeyAuth(s.allowKey),
		// A backstop for dead connections; the polite idle timeout is
		// the session's own (no input for IdleTimeout).
		wish.WithIdleTimeout(cfg.IdleTimeout+time.Minute),
		// The last listed runs first: limit, terminal, the wizard, and
		// after the wizard ended, the goodbye line.
		wish.WithMiddleware(
			s.goodbye,
			bm.MiddlewareWithProgramHandler(s.program),
			s.requireTerminal,
			s.limitSessions,
		),
	)
	if err != nil {
		return nil, fmt.Errorf("cannot build the SSH server: %v", err)
	}
	s.srv.HandshakeTimeout = cfg.HandshakeTimeout
	s.srv.ConnCallback = newPreauthLimiter(cfg.MaxPreauthPerSource, cfg.MaxPreauth, cfg.Logf).admit
	s.srv.ConnectionFailedCallback = s.handshakeFailed
	return s, nil
}

// HostKeyFingerprint is the SHA256 fingerprint of the host key, as ssh
// shows it on first connection.
func (s *Server) HostKeyFingerprint() string { return s.fingerprint }

// HostKeyPath is the host key file in use.
func (s *Server) HostKeyPath() string { return s.cfg.HostKey }

// Serve accepts connections on ln until Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	err := s.srv.Serve(ln)
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops at once, dropping every session.
func (s *Server) Close() error { return s.srv.Close() }

// Shutdown stops accepting connections, tells every session the server is
// going down, gives them DrainGrace to finish, then closes them (each with
// a one-line explanation) and waits for them until ctx ends; it returns an
// error when ctx ended first and sessions were dropped.
func (s *Server) Shutdown(ctx context.Context) error {
	// From here no session gets a slot and no slot gets a wizard, so the
	// WaitGroup only goes down and every wizard that runs is in live.
	type liveSession struct {
		*session
		program *tea.Program
	}
	s.mu.Lock()
	s.draining = true
	live := make([]liveSession, 0, len(s.sessions))
	for ss := range s.sessions {
		live = append(live, liveSession{ss, ss.program})
	}
	s.mu.Unlock()

	shut := make(chan error, 1)
	go func() { shut <- s.srv.Shutdown(ctx) }() // closes the listeners now, waits for the connections
	grace := s.cfg.DrainGrace
	for _, ss := range live {
		if ss.program != nil {
			ss.program.Send(noticeMsg(fmt.Sprintf("The server is shutting down in %s: the steps you finished are saved.", grace.Round(time.Second))))
		}
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	for _, ss := range live {
		select {
		case <-ss.done:
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		break
	}
	for _, ss := range live {
		if ss.program != nil {
			ss.program.Send(closeMsg("the server is shutting down; the steps you finished are saved, reconnect when it is back"))
		}
	}
	waited := make(chan struct{})
	go func() { s.wg.Wait(); close(waited) }()
	var dropped error
	select {
	case <-waited:
	case <-ctx.Done():
		s.mu.Lock()
		n := len(s.sessions)
		s.mu.Unlock()
		if n > 0 {
			dropped = fmt.Errorf("%d SSH session(s) had not closed when the shutdown deadline passed and were dropped", n)
		}
	}
	// The sessions are over; connections that stay open hold nothing.
	err := s.srv.Close()
	<-shut
	if errors.Is(err, ssh.ErrServerClosed) {
		err = nil
	}
	return errors.Join(dropped, err)
}

// Actor is how a session's changes are named in the audit log.
func Actor(user string, key ssh.PublicKey) string {
	fp := "no key"
	if key != nil {
		fp = gossh.FingerprintSHA256(key)
	}
	return fmt.Sprintf("ssh %s (%s)", core.SafeText(user), fp) // the client chooses the user name
}

// allowKey checks the key and the client's address against the
// authorized_keys file as it is now.
func (s *Server) allowKey(ctx ssh.Context, key ssh.PublicKey) bool {
	ok, refusal, err := s.keys.allowed(key, ctx.RemoteAddr())
	if err != nil {
		s.cfg.Logf("%v", err)
	}
	if !ok && refusal != "" {
		s.cfg.Logf("refused key %s for %s from %s: %s", gossh.FingerprintSHA256(key), ctx.User(), ctx.RemoteAddr(), refusal)
	}
	return ok
}

// limitSessions refuses a session beyond MaxSessions or while draining,
// with one line. Otherwise it reserves the session's slot in the same
// critical section as the count, so simultaneous logins cannot exceed the
// limit and Shutdown, which sets draining under the same lock, sees every
// slot before it waits; the slot is released when the session ends.
func (s *Server) limitSessions(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		loggedIn(sess.Context())
		ss, n, draining := s.reserve()
		switch {
		case draining:
			wish.Println(sess, shuttingDown)
			_ = sess.Exit(1)
			return
		case ss == nil:
			s.cfg.Logf("refused a session of %s: %d sessions open (--max-sessions)", sess.User(), n)
			wish.Println(sess, fmt.Sprintf("mailoauth: the server already has %d sessions open (its --max-sessions limit); try again when one closes.", s.cfg.MaxSessions))
			_ = sess.Exit(1)
			return
		}
		defer s.release(ss)
		sess.Context().SetValue(slotKey{}, ss)
		if s.cfg.admitted != nil {
			s.cfg.admitted()
		}
		next(sess)
	}
}

const shuttingDown = "mailoauth: the server is shutting down; connect again when it is back."

// reserve takes a slot unless the server is draining or full; n is the
// number of sessions open.
func (s *Server) reserve() (ss *session, n int, draining bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = len(s.sessions)
	if s.draining {
		return nil, n, true
	}
	if n >= s.cfg.MaxSessions {
		return nil, n, false
	}
	ss = &session{done: make(chan struct{})}
	s.sessions[ss] = struct{}{}
	s.wg.Add(1)
	return ss, n + 1, false
}

type slotKey struct{}

// requireTerminal explains in one line why a session without a PTY (ssh
// -T, or a command) gets nothing.
func (s *Server) requireTerminal(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if _, _, ok := sess.Pty(); !ok {
			wish.Println(sess, "mailoauth: the wizard needs a terminal; connect with plain `ssh` (no -T, no command), or use `mailoauth` on the server for scripts.")
			_ = sess.Exit(1)
			return
		}
		next(sess)
	}
}

// program builds a fresh wizard for the session and attaches it to the
// session's slot, so Shutdown can tell it; once draining it refuses (nil:
// the middleware then runs no wizard). The middleware runs the wizard and
// goodbye says why it ended.
func (s *Server) program(sess ssh.Session) *tea.Program {
	ss, _ := sess.Context().Value(slotKey{}).(*session)
	if ss == nil { // every session passes limitSessions; never without a slot
		_ = sess.Exit(1)
		return nil
	}
	pty, _, _ := sess.Pty()
	actor := Actor(sess.User(), sess.PublicKey())
	inner := tui.New(tui.Config{Store: s.cfg.Store, Actor: actor, Sandbox: s.cfg.Sandbox, Profile: s.cfg.Profile, Remote: true})
	m := &sessionModel{inner: inner, idle: s.cfg.IdleTimeout, now: s.cfg.now, lastInput: s.cfg.now()}
	opts := append(bm.MakeOptions(sess), tea.WithWindowSize(pty.Window.Width, pty.Window.Height))
	p := tea.NewProgram(m, opts...)
	s.mu.Lock()
	draining := s.draining
	if !draining {
		ss.program = p
	}
	s.mu.Unlock()
	if draining {
		tui.Close(inner)
		wish.Println(sess, shuttingDown)
		_ = sess.Exit(1)
		return nil
	}
	s.cfg.Logf("session of %s from %s", actor, sess.RemoteAddr())
	sess.Context().SetValue(sessionKey{}, &live{model: m, session: ss, actor: actor})
	return p
}

type sessionKey struct{}

// live is what the goodbye handler needs of a session's wizard.
type live struct {
	model   *sessionModel
	session *session
	actor   string
}

// release frees a slot; a second call for the same slot does nothing, so
// goodbye can free it as soon as the wizard ended and limitSessions on
// every way out.
func (s *Server) release(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[ss]; !ok {
		return
	}
	delete(s.sessions, ss)
	close(ss.done)
	s.wg.Done()
}

// goodbye runs after the wizard ended: it stops what the wizard still runs,
// prints why the session closes when the server closed it (idle,
// shutdown), and releases the session's slot.
func (s *Server) goodbye(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		l, _ := sess.Context().Value(sessionKey{}).(*live)
		if l != nil {
			tui.Close(l.model.inner)
			if reason := l.model.reason(); reason != "" {
				wish.Println(sess, "mailoauth: session closed: "+reason+".")
				s.cfg.Logf("session of %s closed: %s", l.actor, reason)
			} else {
				s.cfg.Logf("session of %s ended", l.actor)
			}
			s.release(l.session)
		}
		next(sess)
	}
}

// hostKeyFile is the SSH host key file: an ed25519 key is a few hundred bytes.
var hostKeyFile = core.UserFile{What: "host key", Max: 64 << 10, Fix: "run mailoauth as its owner or pass another --host-key"}

// loadOrCreateHostKey reads the ed25519 host key, generating it (0600) on
// first start, and returns its PEM and fingerprint.
func loadOrCreateHostKey(path string) (pemBytes []byte, fingerprint string, err error) {
	data, err := core.ReadUserFile(context.Background(), path, hostKeyFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data, err = writeHostKey(path)
		if err != nil {
			return nil, "", err
		}
	case err != nil:
		return nil, "", err
	default:
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			return nil, "", fmt.Errorf("host key %s is readable by others (mode %v); run chmod 600 %s", path, fi.Mode().Perm(), path)
		}
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, "", fmt.Errorf("host key %s is not an unencrypted OpenSSH private key (%v); remove it to have a new one generated, or pass another --host-key", path, err)
	}
	return data, gossh.FingerprintSHA256(signer.PublicKey()), nil
}

func writeHostKey(path string) ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("cannot generate a host key: %v", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "mailoauth host key")
	if err != nil {
		return nil, fmt.Errorf("cannot encode the host key: %v", err)
	}
	data := pem.EncodeToMemory(block)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the directory of host key %s: %v; create it or pass another --host-key", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot create host key %s: %v; check the directory's permissions or pass another --host-key", path, err)
	}
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("cannot write host key %s: %v; check the disk", path, err)
	}
	return data, nil
}
