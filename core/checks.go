package core

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// Check defaults.
const (
	DefaultCheckTimeout     = 20 * time.Second
	DefaultRoundtripTimeout = RoundtripFactor * DefaultCheckTimeout
	// RoundtripFactor times the check timeout is how long the round trip
	// waits for its message when its own bound is not set.
	RoundtripFactor = 3
	// RoundtripHeader tags the round-trip test message.
	RoundtripHeader = "X-Mailoauth-Test"
	// NoteTokenRefreshed is the note of a check that passed after the cached
	// token was refused and a fresh one minted.
	NoteTokenRefreshed = "the cached token was refused (revoked or expired early); a fresh one was minted and accepted"
)

// Tester runs the live checks of mailboxes. It is safe for concurrent use;
// checks of one mailbox never overlap, so a mailbox never has more than one
// IMAP connection open by this Tester.
type Tester struct {
	Tokens *TokenProvider
	// Endpoints are the IMAP and SMTP servers; the zero value means
	// Tokens.Endpoints.
	Endpoints Endpoints
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
	if t.Endpoints == (Endpoints{}) && t.Tokens != nil {
		return t.Tokens.Endpoints.WithDefaults()
	}
	return t.Endpoints.WithDefaults()
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

func (t *Tester) mechanism() string {
	if strings.EqualFold(t.Mechanism, MechOAUTHBEARER) {
		return MechOAUTHBEARER
	}
	return MechXOAUTH2
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
	s := &session{t: t, mailbox: mailbox, ep: t.endpoints(), keepSMTP: want[CheckRoundtrip]}
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
		limit := t.timeout()
		if name == CheckRoundtrip {
			limit += t.roundtripTimeout()
		}
		cctx, cancel := context.WithTimeout(ctx, limit)
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
				d.Timeout = t.roundtripTimeout()
			}
			res.Finding = diagnoseCheck(err, d)
			res.throttle = throttleOf(err, d)
			break
		}
	}
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
}

func (s *session) diag(check CheckName) DiagContext {
	var d DiagContext
	if s.t.Tokens != nil {
		d = s.t.Tokens.DiagContext(s.mailbox, check)
	} else {
		d = DiagContext{Mailbox: s.mailbox, Domain: domainOf(s.mailbox), Check: check}
	}
	d.Endpoints = s.ep
	d.Timeout = s.t.timeout()
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
	tok, fromCache, err := s.t.Tokens.token(ctx, s.mailbox, !fresh)
	if err != nil {
		return Token{}, err
	}
	s.tok, s.fromCache, s.haveTok = tok, fromCache, true
	return tok, nil
}

// refreshAfterRefusal drops a refused cached token so the next token() mints
// a fresh one; it reports false when that was already done (or the token was
// fresh), i.e. when the refusal must be diagnosed.
func (s *session) refreshAfterRefusal() bool {
	if !s.fromCache || s.refreshed {
		return false
	}
	s.refreshed, s.retried, s.haveTok = true, true, false
	_ = s.t.Tokens.Invalidate(s.mailbox)
	return true
}

func (s *session) accepted() {
	if s.retried && !s.noted {
		s.noted = true
		s.notes = append(s.notes, NoteTokenRefreshed)
	}
}

// refused builds the AuthError of a token a server refused, asking
// tokeninfo whether the token is revoked or only lacks a scope.
func (s *session) refused(ctx context.Context, check CheckName, server string, sc *OAuthSASLClient, err error) error {
	ae := &AuthError{Check: check, Server: server, Challenge: sc.ErrorChallenge(), TokenExpiry: s.tok.Expiry, Err: err}
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if ti, terr := FetchTokenInfo(ictx, s.ep, s.tok.AccessToken); terr == nil {
		ae.TokenInfo = ti
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

func dial(ctx context.Context, addr string, sec Security, cfg *tls.Config, alpn string) (net.Conn, error) {
	d := &net.Dialer{KeepAlive: 30 * time.Second}
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
	cfg, err := s.ep.TLSConfig(addr)
	if err != nil {
		return nil, err
	}
	conn, err := dial(ctx, addr, s.ep.IMAPSecurity, cfg, "imap")
	if err != nil {
		return nil, ctxErr(ctx, addr, err)
	}
	conn = limitReads(conn)
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

// saslLineConn sends an empty SASL response as the empty line RFC 3501
// (section 6.2.2) prescribes. go-imap writes "=" for it, which is only
// valid for an initial response (SASL-IR, RFC 4959): Gmail takes it, but
// Dovecot answers "BAD Invalid base64 data in continued response" to the
// empty XOAUTH2 acknowledgement of its error challenge, hiding its real
// NO [AUTHENTICATIONFAILED]. Only during AUTHENTICATE, and only a write
// that is exactly that line, is changed.
type saslLineConn struct {
	net.Conn
	authenticating atomic.Bool
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

type smtpConn struct {
	conn net.Conn
	c    *smtp.Client
	stop func() bool
}

func (c *smtpConn) close() {
	c.stop()
	c.c.Close()
}

func localName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \r\n") {
		return "localhost"
	}
	return h
}

func (s *session) dialSMTP(ctx context.Context) (*smtpConn, error) {
	addr := s.ep.SMTP
	cfg, err := s.ep.TLSConfig(addr)
	if err != nil {
		return nil, err
	}
	conn, err := dial(ctx, addr, s.ep.SMTPSecurity, cfg, "")
	if err != nil {
		return nil, ctxErr(ctx, addr, err)
	}
	conn = limitReads(conn) // under STARTTLS, go-smtp's TLS runs above it
	sc := &smtpConn{conn: conn}
	sc.stop = context.AfterFunc(ctx, func() { conn.Close() })
	if s.ep.SMTPSecurity == SecurityStartTLS {
		sc.c, err = smtp.NewClientStartTLS(conn, cfg)
	} else {
		sc.c = smtp.NewClient(conn)
		err = sc.c.Hello(localName())
	}
	if err != nil {
		sc.stop()
		conn.Close()
		return nil, ctxErr(ctx, addr, err)
	}
	sc.c.CommandTimeout = s.t.timeout()
	return sc, nil
}

// smtpLogin connects and authenticates to SMTP, retrying once with a fresh
// token when a cached one is refused.
func (s *session) smtpLogin(ctx context.Context) (*smtpConn, error) {
	addr := s.ep.SMTP
	for {
		tok, err := s.token(ctx)
		if err != nil {
			return nil, err
		}
		c, err := s.dialSMTP(ctx)
		if err != nil {
			return nil, err
		}
		sc := NewOAuthSASLClient(s.t.mechanism(), s.mailbox, tok.AccessToken)
		err = c.c.Auth(SMTPSASLClient(sc))
		if err == nil {
			s.accepted()
			return c, nil
		}
		c.close()
		if ctx.Err() != nil {
			return nil, ctxErr(ctx, addr, err)
		}
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 535 {
			return nil, ctxErr(ctx, addr, err)
		}
		if s.refreshAfterRefusal() {
			continue
		}
		return nil, s.refused(ctx, CheckSMTP, addr, sc, err)
	}
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RoundtripMessage is the test message the round-trip check sends.
func RoundtripMessage(mailbox, id string, now time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\n", mailbox)
	fmt.Fprintf(&b, "To: <%s>\r\n", mailbox)
	fmt.Fprintf(&b, "Subject: mailoauth round-trip test %s\r\n", id)
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@mailoauth.invalid>\r\n", id)
	fmt.Fprintf(&b, "%s: %s\r\n", RoundtripHeader, id)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString("This message was sent by mailoauth to test that this mailbox can send and receive with OAuth 2.0.\r\n")
	b.WriteString("It is deleted automatically once it arrives; if you see it, the test did not finish.\r\n")
	return []byte(b.String())
}

func (s *session) roundtrip(ctx context.Context) (string, error) {
	if s.imap == nil || !s.imap.alive() {
		if err := s.imapLogin(ctx); err != nil {
			return "", err
		}
	}
	ic := s.imap
	ic.bind(ctx)
	id := randomID()

	start := time.Now()
	c, err := s.sendRoundtrip(ctx, id, start)
	if err != nil {
		return "", err
	}
	_ = c.c.Quit()
	c.close()

	wctx, cancel := context.WithTimeout(ctx, s.t.roundtripTimeout())
	defer cancel()
	uids, err := ic.waitFor(wctx, id)
	if err != nil {
		if ctx.Err() == nil && wctx.Err() != nil {
			return "", s.notDelivered()
		}
		return "", ctxErr(ctx, s.ep.IMAP, err)
	}
	latency := time.Since(start)
	if err := ic.delete(uids); err != nil {
		s.notes = append(s.notes, fmt.Sprintf("the round-trip test message (subject \"mailoauth round-trip test %s\") could not be deleted: %v", id, SafeText(redact(err.Error()))))
	}
	return fmt.Sprintf("delivered in %d ms", latency.Milliseconds()), nil
}

func (s *session) notDelivered() error {
	return &FindingError{Finding: NewFinding(CodeRoundtripNotDelivered,
		fmt.Sprintf("The test message %s sent to itself through %s did not arrive in its INBOX on %s within %s.", s.mailbox, s.ep.SMTP, s.ep.IMAP, s.t.roundtripTimeout()),
		fmt.Sprintf("Check %s's Gmail filters and spam folder and the domain's routing rules in admin.google.com > Apps > Google Workspace > Gmail > Routing, then retry.", s.mailbox))}
}

func (s *session) send(c *smtpConn, id string, now time.Time) error {
	if err := c.c.Mail(s.mailbox, nil); err != nil {
		return err
	}
	if err := c.c.Rcpt(s.mailbox, nil); err != nil {
		return err
	}
	w, err := c.c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(RoundtripMessage(s.mailbox, id, now)); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// waitFor waits until the message tagged id is in the selected mailbox,
// with IDLE when the server has it, else by polling every 500 ms.
func (ic *imapConn) waitFor(ctx context.Context, id string) ([]imap.UID, error) {
	// The tag header, or the Message-ID, which every server indexes.
	criteria := &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{
		{Header: []imap.SearchCriteriaHeaderField{{Key: RoundtripHeader, Value: id}}},
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
