package sandbox

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/mailproto"
)

// imapScopes are the scopes Gmail IMAP accepts: only full mail access.
var imapScopes = []string{core.ScopeMail}

// smtpScopes are the scopes Gmail SMTP accepts.
var smtpScopes = []string{
	core.ScopeMail,
	core.ScopeGmailSend,
	"https://www.googleapis.com/auth/gmail.compose",
	core.ScopeGmailModify,
}

// gmailChallenge is Gmail's base64-decoded error challenge.
func gmailChallenge() []byte {
	b, _ := json.Marshal(core.GmailSASLError)
	return b
}

var errIMAPInvalidCredentials = &imap.Error{
	Type: imap.StatusResponseTypeNo,
	Code: imap.ResponseCodeAuthenticationFailed,
	Text: core.IMAPInvalidCredentials,
}

func imapAlert(text string) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlert, Text: text}
}

// oauthSASLServer is the server side of XOAUTH2 / OAUTHBEARER as Gmail runs
// it: a refused token gets the JSON challenge, and the final failure only
// after the client's answer to it.
type oauthSASLServer struct {
	mech    string
	started bool
	refused bool
	fail    error                          // final error after the challenge
	verify  func(user, token string) error // nil: accepted; errRefused: challenge; other: immediate error
}

var errRefused = errors.New("token refused")

func (a *oauthSASLServer) Next(resp []byte) ([]byte, bool, error) {
	if a.refused {
		return nil, false, a.fail
	}
	if !a.started && resp == nil {
		a.started = true
		return nil, false, nil // empty challenge: send your response
	}
	a.started = true
	u, tok, ok := mailproto.ParseOAuthResponse(a.mech, resp)
	var err error
	if !ok {
		err = errRefused
	} else {
		err = a.verify(u, tok)
	}
	if errors.Is(err, errRefused) {
		a.refused = true
		return gmailChallenge(), false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return nil, true, nil
}

type imapSession struct {
	*imapmemserver.UserSession // nil until authenticated
	sb                         *Sandbox
	user                       *user // counted in user.conns once authenticated
	conn                       *gimapConn
	closed                     bool
}

var _ imapserver.SessionSASL = (*imapSession)(nil)

func (sess *imapSession) Close() error {
	if sess.closed {
		return nil
	}
	sess.closed = true
	if sess.UserSession != nil {
		sess.UserSession.Close()
	}
	if sess.user != nil {
		sess.sb.mu.Lock()
		sess.user.conns--
		sess.sb.mu.Unlock()
	}
	sess.sb.mu.Lock()
	sess.sb.imapLive--
	sess.sb.mu.Unlock()
	return nil
}

// Login is refused as Gmail refuses passwords for OAuth-only accounts.
func (sess *imapSession) Login(username, password string) error {
	return errIMAPInvalidCredentials
}

func (sess *imapSession) AuthenticateMechanisms() []string {
	return []string{mailproto.XOAUTH2, mailproto.OAUTHBEARER}
}

func (sess *imapSession) Authenticate(mech string) (sasl.Server, error) {
	switch mech {
	case mailproto.XOAUTH2, mailproto.OAUTHBEARER:
	case "PLAIN", "LOGIN":
		return nil, errIMAPInvalidCredentials
	default:
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Unsupported authentication mechanism. (Failure)"}
	}
	verify := func(user, tok string) error {
		err := sess.verify(user, tok)
		if err == nil {
			sess.sb.loginAccepted(mech)
		}
		return err
	}
	return &oauthSASLServer{mech: mech, fail: errIMAPInvalidCredentials, verify: verify}, nil
}

func (sess *imapSession) verify(saslUser, tok string) error {
	sb := sess.sb
	sb.mu.Lock()
	terr := sb.throttleIMAPLocked()
	sb.mu.Unlock()
	if terr != nil {
		return terr
	}
	u, ok := sb.checkToken(saslUser, tok, imapScopes)
	if !ok {
		return errRefused
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	switch {
	case !sb.domainIMAP && sb.inDomain(u.email):
		return imapAlert(core.IMAPDomainDisabled)
	case !u.imap:
		return imapAlert(core.IMAPUserDisabled)
	case u.conns >= core.MaxIMAPConnectionsPerAccount:
		return imapAlert(core.IMAPTooManyConnections)
	}
	u.conns++
	sess.user = u
	if sess.conn != nil {
		sess.conn.loggedIn(u.email)
	}
	sess.UserSession = imapmemserver.NewUserSession(u.mem)
	return nil
}

type imapLogger struct{ sb *Sandbox }

func (l imapLogger) Printf(format string, args ...any) { l.sb.logf("sandbox imap: "+format, args...) }

func (s *Sandbox) startIMAP() {
	opts := imapserver.Options{
		NewSession: s.newIMAPSession,
		Caps: imap.CapSet{
			imap.CapIMAP4rev1: {},
			imap.CapNamespace: {},
			imap.CapUIDPlus:   {},
			imap.CapMove:      {},
			imap.CapIdle:      {}, // Gmail offers IDLE; the round trip waits with it
		},
		Logger: imapLogger{s},
	}
	// The implicit-TLS port (Gmail's 993): TLS is done by the listener,
	// under the gimapConn that writes Gmail's greeting, so go-imap sees no
	// *tls.Conn and must be told that authenticating is safe; without a
	// TLSConfig it offers no STARTTLS there, as Gmail does not.
	tlsOpts := opts
	tlsOpts.InsecureAuth = true
	s.imapSrv = imapserver.New(&tlsOpts)
	tlsLn := &gimapListener{Listener: tls.NewListener(s.imapLn, s.tlsConfig), afterLogin: true}
	// The plain port offers STARTTLS, done by go-imap.
	plainOpts := opts
	plainOpts.TLSConfig = s.tlsConfig
	s.imapPlainSrv = imapserver.New(&plainOpts)
	plainLn := &gimapListener{Listener: s.imapPlainLn}
	s.imapServing.Add(2)
	go func() { defer s.imapServing.Done(); _ = s.imapSrv.Serve(tlsLn) }()
	go func() { defer s.imapServing.Done(); _ = s.imapPlainSrv.Serve(plainLn) }()
}

func (s *Sandbox) newIMAPSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	if f.IMAPStall {
		// Hold the connection without a greeting until the client gives up
		// or the sandbox closes.
		nc := c.NetConn()
		_ = nc.SetReadDeadline(time.Now().Add(10 * time.Minute))
		buf := make([]byte, 512)
		for {
			if _, err := nc.Read(buf); err != nil {
				break
			}
		}
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: "stalled"}
	}
	if !s.sleep(time.Duration(f.LatencyMS) * time.Millisecond) {
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: "server shutting down"}
	}
	s.mu.Lock()
	s.imapLive++
	s.mu.Unlock()
	gc, _ := c.NetConn().(*gimapConn)
	return &imapSession{sb: s, conn: gc}, nil, nil
}
