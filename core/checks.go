package core

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mailoauth/mailoauth/core/mailproto"
)

// Check defaults.
const (
	DefaultCheckTimeout     = 20 * time.Second
	DefaultRoundtripTimeout = RoundtripFactor * DefaultCheckTimeout
	// RoundtripFactor times the check timeout is how long the round trip
	// waits for its message when its own bound is not set.
	RoundtripFactor = 3
	// NoteTokenRefreshed is the note of a check that passed after the cached
	// token was refused and a fresh one minted.
	NoteTokenRefreshed = "the cached token was refused (revoked or expired early); a fresh one was minted and accepted"
	// NoteTokenNotCached begins the note of a check whose minted token
	// works but could not be saved to the store.
	NoteTokenNotCached = "the minted token could not be saved to the store"
)

// tokenNotCachedNote is the note of a minted token the cache could not
// keep: what failed and what to do.
func tokenNotCachedNote(err error) string {
	return fmt.Sprintf("%s (%s): check the free disk space and the permissions of the store file and its directory; until then each run mints the token again", NoteTokenNotCached, SafeText(redact(err.Error())))
}

// Tester runs the live checks of mailboxes. It is safe for concurrent use;
// checks of one mailbox never overlap, so a mailbox never has more than one
// IMAP connection open by this Tester.
type Tester struct {
	// Tokens mints the tokens; its Endpoints are the IMAP and SMTP servers
	// the checks connect to.
	Tokens *TokenProvider
	// Mechanism is "XOAUTH2" (default) or "OAUTHBEARER".
	Mechanism string
	// Timeout bounds each check; default 20 s.
	Timeout time.Duration
	// RoundtripTimeout bounds the wait for the round-trip message to
	// arrive; default RoundtripFactor times Timeout (60 s with the default
	// 20 s). The round-trip check as a whole ends within Timeout (logins
	// and the send) plus this.
	RoundtripTimeout time.Duration
	// Fresh mints a new token for every mailbox instead of using a cached
	// one, so a change in the Admin console shows at once.
	Fresh bool

	lockMu sync.Mutex
	locks  map[string]*mailboxLock
}

type mailboxLock struct {
	ch   chan struct{}
	refs int
}

// NewTester builds a Tester from a stored profile: it parses the credential
// and takes the endpoints and scopes.
//
// An OAuth client profile works too: its refresh tokens come from cache
// when it also implements RefreshTokenStore (the store's does); see
// NewTesterWith.
func NewTester(p *Profile, cache TokenCache) (*Tester, error) {
	return NewTesterWith(p, cache, nil)
}

// ParseChecks parses a comma-separated check list ("token,imap"); empty
// means all checks. The result is in running order without duplicates.
func ParseChecks(s string) ([]CheckName, error) {
	if strings.TrimSpace(s) == "" {
		return append([]CheckName(nil), AllChecks...), nil
	}
	want := map[CheckName]bool{}
	for _, part := range strings.Split(s, ",") {
		n := CheckName(strings.ToLower(strings.TrimSpace(part)))
		if n == "" {
			continue
		}
		known := false
		for _, c := range AllChecks {
			known = known || c == n
		}
		if !known {
			return nil, Inputf("unknown check %q; the checks are token, imap, smtp and roundtrip", n)
		}
		want[n] = true
	}
	var out []CheckName
	for _, c := range AllChecks {
		if want[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

func (t *Tester) endpoints() Endpoints {
	if t.Tokens == nil {
		return Endpoints{}.WithDefaults()
	}
	return t.Tokens.Endpoints.WithDefaults()
}

func (t *Tester) timeout() time.Duration {
	if t.Timeout > 0 {
		return t.Timeout
	}
	return DefaultCheckTimeout
}

func (t *Tester) roundtripTimeout() time.Duration {
	if t.RoundtripTimeout > 0 {
		return t.RoundtripTimeout
	}
	return RoundtripFactor * t.timeout()
}

// checkLimit is the deadline Check gives the check name: the timeout, and
// for the round trip its wait as well.
func (t *Tester) checkLimit(name CheckName) time.Duration {
	if name == CheckRoundtrip {
		return t.timeout() + t.roundtripTimeout()
	}
	return t.timeout()
}

func (t *Tester) mechanism() string {
	if strings.EqualFold(t.Mechanism, mailproto.OAUTHBEARER) {
		return mailproto.OAUTHBEARER
	}
	return mailproto.XOAUTH2
}

func (t *Tester) lock(ctx context.Context, mailbox string) (func(), error) {
	t.lockMu.Lock()
	if t.locks == nil {
		t.locks = map[string]*mailboxLock{}
	}
	l := t.locks[mailbox]
	if l == nil {
		l = &mailboxLock{ch: make(chan struct{}, 1)}
		t.locks[mailbox] = l
	}
	l.refs++
	t.lockMu.Unlock()
	release := func() {
		t.lockMu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(t.locks, mailbox)
		}
		t.lockMu.Unlock()
	}
	// A context already done must win over a free slot, which select would
	// pick at random.
	if err := ctx.Err(); err != nil {
		release()
		return nil, err
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// Check runs the checks (in running order; nil means all) of one mailbox,
// stopping at the first failure, whose finding explains it.
func (t *Tester) Check(ctx context.Context, mailbox string, checks []CheckName) MailboxResult {
	return t.check(ctx, mailbox, checks, nil)
}

func (t *Tester) check(ctx context.Context, mailbox string, checks []CheckName, onCheck func(CheckResult)) MailboxResult {
	mailbox = strings.ToLower(strings.TrimSpace(mailbox))
	res := MailboxResult{Mailbox: mailbox, CheckedAt: time.Now().UTC()}
	want := map[CheckName]bool{}
	for _, c := range checks {
		want[c] = true
	}
	if len(checks) == 0 {
		for _, c := range AllChecks {
			want[c] = true
		}
	}
	s := &session{t: t, mailbox: mailbox, ep: t.endpoints(), keepSMTP: want[CheckRoundtrip], checkOnly: true, saveLater: true}
	unlock, err := t.lock(ctx, mailbox)
	if err != nil {
		res.Finding = Diagnose(err, s.diag(CheckToken))
		return res
	}
	defer unlock()
	defer s.close()
	for _, name := range AllChecks {
		if !want[name] {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, t.checkLimit(name))
		start := time.Now()
		detail, err := s.run(cctx, name)
		if s.imap != nil {
			s.imap.unbind() // the connection outlives this check's deadline
		}
		cancel()
		cr := CheckResult{Name: name, OK: err == nil, Duration: time.Since(start), Detail: SafeText(detail)} // it may quote a server
		res.Checks = append(res.Checks, cr)
		if onCheck != nil {
			onCheck(cr)
		}
		if err != nil {
			d := s.diag(name)
			if name == CheckRoundtrip && isTimeout(err) {
				d.timeout = t.roundtripTimeout()
			}
			res.Finding = diagnoseCheck(err, d)
			res.throttle = throttleOf(err, d)
			break
		}
	}
	s.savesDone() // the result says the token is cached: it must be
	res.OK = res.Finding == nil
	res.Notes = s.notes
	return res
}

// session is one mailbox's run: its token and its single IMAP connection.
type session struct {
	t       *Tester
	mailbox string
	ep      Endpoints

	tok            Token
	fromCache      bool
	haveTok, noted bool
	refreshed      bool // the cached token was dropped once already (--fresh or a refusal)
	retried        bool // a server refused the cached token and a fresh one was minted

	imap  *imapConn
	notes []string
	// smtp is the SMTP check's authenticated connection, kept for the
	// round trip that follows (a login fewer: four round trips).
	smtp     *smtpConn
	keepSMTP bool
	// checkOnly: the connections carry only the checks' own traffic (not
	// a message of SendMessage's caller), so they offer checkCurves.
	checkOnly bool
	// saveLater: a minted token's save is waited for once the checks are
	// done (savesDone), so it shares its store transaction with other
	// mailboxes' tokens while the IMAP and SMTP checks run; saves holds
	// the waits.
	saveLater bool
	saves     []func() error
}

func (s *session) diag(check CheckName) DiagContext {
	var d DiagContext
	if s.t.Tokens != nil {
		d = s.t.Tokens.DiagContext(s.mailbox, check)
	} else {
		d = DiagContext{Mailbox: s.mailbox, Domain: domainOf(s.mailbox), Check: check}
	}
	d.Endpoints = s.ep
	d.timeout = s.t.timeout()
	return d
}

func (s *session) close() {
	if s.smtp != nil {
		s.smtp.quit()
		s.smtp = nil
	}
	if s.imap != nil {
		s.imap.logout()
		s.imap = nil
	}
}

func (s *session) run(ctx context.Context, name CheckName) (string, error) {
	switch name {
	case CheckToken:
		start := time.Now()
		tok, err := s.token(ctx)
		if err != nil {
			return "", err
		}
		left := time.Until(tok.Expiry).Round(time.Minute)
		if s.fromCache {
			return fmt.Sprintf("cached token, valid for another %d min", int(left.Minutes())), nil
		}
		return fmt.Sprintf("minted in %d ms, valid for %d min", time.Since(start).Milliseconds(), int(left.Minutes())), nil
	case CheckIMAP:
		if err := s.imapLogin(ctx); err != nil {
			return "", err
		}
		return fmt.Sprintf("INBOX has %d messages", s.imap.count), nil
	case CheckSMTP:
		c, err := s.smtpLogin(ctx)
		if err != nil {
			return "", err
		}
		if s.keepSMTP {
			c.stop() // the connection outlives this check's deadline
			s.smtp = c
			return "authenticated, no mail sent", nil
		}
		defer c.close()
		if err := c.c.Quit(); err != nil && ctx.Err() == nil {
			return "", &ServerError{Server: s.ep.SMTP, Err: err}
		}
		return "authenticated, no mail sent", nil
	case CheckRoundtrip:
		return s.roundtrip(ctx)
	}
	return "", fmt.Errorf("unknown check %q", name)
}

func (s *session) token(ctx context.Context) (Token, error) {
	if s.haveTok {
		return s.tok, nil
	}
	if s.t.Tokens == nil {
		return Token{}, errors.New("no token provider is configured")
	}
	// Fresh: proof of the configuration as Google sees it now (a cached
	// token would still pass for up to an hour after the delegation or the
	// consent was removed), so mint whatever the cache holds.
	fresh := s.t.Fresh && !s.refreshed && !retrying(ctx)
	s.refreshed = s.refreshed || fresh
	tok, fromCache, saved, err := s.t.Tokens.token(ctx, s.mailbox, !fresh)
	if err != nil {
		return Token{}, err
	}
	if s.saveLater {
		s.saves = append(s.saves, saved)
	} else {
		s.noteSave(saved())
	}
	s.tok, s.fromCache, s.haveTok = tok, fromCache, true
	return tok, nil
}

// savesDone waits until the tokens the session minted are in the cache,
// noting one that could not be saved.
func (s *session) savesDone() {
	for _, saved := range s.saves {
		s.noteSave(saved())
	}
	s.saves = nil
}

// noteSave notes (once) that a minted token works but could not be saved.
func (s *session) noteSave(err error) {
	if err != nil && !slices.ContainsFunc(s.notes, func(n string) bool { return strings.HasPrefix(n, NoteTokenNotCached) }) {
		s.notes = append(s.notes, tokenNotCachedNote(err))
	}
}

// refreshAfterRefusal drops a refused cached token so the next token() mints
// a fresh one; it reports false when that was already done (or the token was
// fresh), i.e. when the refusal must be diagnosed.
func (s *session) refreshAfterRefusal() bool {
	if !s.fromCache || s.refreshed {
		return false
	}
	s.refreshed, s.retried, s.haveTok = true, true, false
	_ = s.t.Tokens.invalidate(s.mailbox)
	return true
}

func (s *session) accepted() {
	if s.retried && !s.noted {
		s.noted = true
		s.notes = append(s.notes, NoteTokenRefreshed)
	}
}

// refused builds the authError of a token a server refused, asking
// tokeninfo whether the token is revoked or only lacks a scope.
func (s *session) refused(ctx context.Context, check CheckName, server string, sc *mailproto.OAuthClient, err error) error {
	ae := &authError{check: check, server: server, challenge: sc.ErrorChallenge(), tokenExpiry: s.tok.Expiry, err: err}
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if ti, terr := fetchTokenInfo(ictx, s.ep, s.tok.AccessToken); terr == nil {
		ae.info = ti
	}
	return ae
}

// ctxErr makes an error that happened because the context ended into the
// context's error, so it is diagnosed as a timeout or a cancellation.
func ctxErr(ctx context.Context, server string, err error) error {
	if FindingOf(err) != nil {
		return err
	}
	if ctx.Err() != nil {
		return &ServerError{Server: server, Err: ctx.Err()}
	}
	return &ServerError{Server: server, Err: err}
}

// checkCurves are the key exchanges the check connections offer: Go's
// classical ones, in its order, without the post-quantum hybrid
// X25519MLKEM768. Go sends a key share for the first alone (X25519); the
// others stay so that a server without X25519 still connects, after a
// HelloRetryRequest (TestCheckConnectionsWorkWithoutX25519). A check connection carries an access token that expires
// within the hour, the mailbox's address and message count and the fixed
// test message, nothing a recording decrypted years later could use, and
// the hybrid's key share was about 40% of the client's TLS work on each
// (README, Performance). Everything else (SendMessage's mail, the token
// endpoint, the proxy) keeps Go's defaults.
var checkCurves = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}

// tlsConfig is the TLS configuration of the session's connections to addr
// (TLSConfig, with checkCurves for a check), also the one STARTTLS uses.
// Its records are as long as each write: Go's dynamic record sizing, which
// splits a connection's first writes into records of one TCP segment so a
// browser can render early, split the AUTHENTICATE line with its kilobyte
// token into two records and two write calls; a server needs the whole
// line anyway.
func (s *session) tlsConfig(addr string) (*tls.Config, error) {
	cfg, err := s.ep.TLSConfig(addr)
	if err != nil {
		return nil, err
	}
	cfg.DynamicRecordSizingDisabled = true
	if s.checkOnly {
		cfg.CurvePreferences = checkCurves
	}
	return cfg, nil
}

// connect opens a check's connection to addr (ALPN alpn under implicit
// TLS) with the TLS configuration it is checked with; what the server
// sends is bounded by mailproto.LimitReads.
func (s *session) connect(ctx context.Context, addr string, sec Security, alpn string) (net.Conn, *tls.Config, error) {
	cfg, err := s.tlsConfig(addr)
	if err != nil {
		return nil, nil, err
	}
	conn, err := dial(ctx, addr, sec, cfg, alpn)
	if err != nil {
		return nil, nil, ctxErr(ctx, addr, err)
	}
	return mailproto.LimitReads(conn), cfg, nil
}

func dial(ctx context.Context, addr string, sec Security, cfg *tls.Config, alpn string) (net.Conn, error) {
	// No TCP keep-alive probes (four setsockopt calls a connection): a
	// check's timeout ends a connection to a dead server long before
	// probes every 30 s would.
	d := &net.Dialer{KeepAlive: -1}
	if sec == SecurityStartTLS {
		return d.DialContext(ctx, "tcp", addr)
	}
	c := cfg.Clone()
	if alpn != "" {
		c.NextProtos = []string{alpn}
	}
	td := &tls.Dialer{NetDialer: d, Config: c}
	return td.DialContext(ctx, "tcp", addr)
}
