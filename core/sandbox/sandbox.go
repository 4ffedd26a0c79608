// Package sandbox is a faithful, in-process simulation of the parts of Google
// that mailoauth talks to: the OAuth token endpoint (JWT bearer grant with
// domain-wide delegation), tokeninfo, Gmail IMAP, SMTP and POP3 with XOAUTH2 /
// OAUTHBEARER, and a small stand-in for the Admin console.
//
// Every test and the demo run against it, so it behaves like Google in every
// way the wizard cares about: it verifies RS256 signatures against the
// service account's registered keys, checks aud, iat/exp and clock skew,
// looks client ID and scopes up in its delegation table, answers with
// Google's own error codes and texts (from package core), and its IMAP and
// SMTP servers accept only its own live tokens for the right user and scope,
// failing exactly as Gmail fails (the base64 JSON challenge, then
// NO [AUTHENTICATIONFAILED] or 535-5.7.8, 555 5.5.2 for an over-long AUTH
// line). Mail sent through its SMTP server to a sandbox mailbox appears in
// that mailbox over IMAP, also to a client waiting in IDLE.
//
// All listeners bind to Options.Addr (127.0.0.1 by default) on ports the OS
// picks unless Options.Ports fixes them; Close shuts everything down and
// waits for its goroutines.
//
// It imports core (Google's error codes and texts live there) and
// core/mailproto (the SASL wire format it reads) and nothing else of the
// project: never store, tui or cmd, nor another subpackage of core.
package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/mailoauth/mailoauth/core"
)

// Options configures a sandbox. The zero value is usable.
type Options struct {
	Addr     string // default "127.0.0.1"
	Domain   string // default "example.test"
	Users    int    // user1@D..userN@D, plus admin@D always; default 3
	Delegate bool   // authorize the generated key's client ID for https://mail.google.com/
	// Dir, if set, receives service-account.json, oauth-client.json, ca.pem
	// and endpoints.json (0600 for the files holding secrets).
	Dir  string
	Logf func(format string, args ...any) // optional
	// AutoConsent makes the consent page approve at once for the user in
	// login_hint (scripts and tests); the consent-screen rules still apply.
	AutoConsent bool
	// Key is the service account's private key. If nil, a 2048-bit key
	// generated once per process is used (key generation is slow, and tests
	// start many sandboxes).
	Key *rsa.PrivateKey
	// RTT is the initial Faults.RTTMS, at most MaxRTT.
	RTT time.Duration
	// Ports fixes listeners' ports, for output that must not change from
	// run to run (the README's screenshots); a port in use fails Start.
	Ports Ports
}

// Ports are the listeners' ports on Options.Addr; 0 (the default) lets the
// OS pick one.
type Ports struct {
	HTTP         int // token, consent, tokeninfo and Admin console
	IMAP         int // implicit TLS, like 993
	IMAPStartTLS int // plain, offering STARTTLS, like 143
	SMTP         int // implicit TLS, like 465
	SMTPStartTLS int // plain, requiring STARTTLS, like 587
	POP3         int // implicit TLS, like 995
}

// MaxRTT is the longest round-trip time the RTT fault takes (`sandbox
// --rtt`, /admin/faults rtt_ms): a minute is already far beyond any real
// Internet path, and a longer one only makes a client look hung.
const MaxRTT = time.Minute

// UserUpdate adds or changes a mailbox; nil fields are left as they are
// (a new user gets IMAP enabled and is not suspended).
type UserUpdate struct {
	Email     string
	IMAP      *bool
	Suspended *bool
}

// Faults are misbehaviours to inject.
type Faults struct {
	LatencyMS int  `json:"latency_ms"` // delay every HTTP response, IMAP and SMTP greeting
	IMAPStall bool `json:"imap_stall"` // accept IMAP connections but never greet
	SMTPDrop  bool `json:"smtp_drop"`  // close SMTP connections right after accept
	// SMTPDiscard accepts every message and delivers none (a routing rule
	// or a filter eating it): the round trip's roundtrip_not_delivered.
	SMTPDiscard bool `json:"smtp_discard,omitempty"`
	// RTTMS is the round-trip time of the Internet between client and
	// Google: every server flight reaches the client this much later.
	RTTMS    int      `json:"rtt_ms,omitempty"`
	Throttle Throttle `json:"throttle,omitempty"` // Google's throttling replies at a rate
}

// ClientState is the console state of an OAuth client (by numeric client ID).
type ClientState struct {
	ClientID      string `json:"client_id"`
	Disabled      bool   `json:"disabled"`
	PolicyBlocked bool   `json:"policy_blocked"`
}

type user struct {
	email     string
	imap      bool
	suspended bool
	mem       *imapmemserver.User
	conns     int // authenticated IMAP connections
}

type saKey struct {
	clientEmail string
	clientID    string
	pub         *rsa.PublicKey
	deleted     bool
}

type token struct {
	email    string
	scopes   []string
	clientID string
	expiry   time.Time
	revoked  bool
}

// Sandbox is a running simulation of Google. Its methods are safe for
// concurrent use.
type Sandbox struct {
	opts   Options
	domain string
	logf   func(string, ...any)

	done      chan struct{}
	logMu     sync.RWMutex
	logClosed bool
	closeOnce sync.Once
	wg        sync.WaitGroup // our own goroutines and connections
	// imapServing counts the go-imap servers' Serve calls. imapserver's
	// Close waits on a WaitGroup that Serve adds to only once it runs, so
	// a Close racing a Serve that has not started yet is a data race
	// (and may miss it); Close therefore ends every Serve by closing its
	// listener and waits here before it calls the servers' Close.
	imapServing sync.WaitGroup

	// immutable after Start
	caPEM       []byte
	tlsConfig   *tls.Config
	key         *rsa.PrivateKey
	keyID       string
	clientID    string
	clientEmail string
	projectID   string
	saJSON      []byte
	oauthJSON   []byte
	endpoints   core.Endpoints
	oauth       *oauthApp // guarded by mu

	httpLn, imapLn, imapPlainLn, smtpLn, smtpPlainLn, popLn net.Listener
	httpSrv                                                 *http.Server
	imapSrv, imapPlainSrv                                   *imapserver.Server
	// the POP3 server's view of the mailboxes (pop3box.go)
	storeSrv    *imapserver.Server
	storeLn     *pipeListener
	storeSecret string

	mu         sync.Mutex
	users      map[string]*user
	delegation map[string][]string
	clients    map[string]ClientState
	keys       map[string]*saKey // by key ID
	tokens     map[string]*token
	minted     int
	logins     map[string]int // accepted IMAP and SMTP logins by SASL mechanism
	skew       time.Duration
	faults     Faults
	domainIMAP bool
	smtpConns  map[net.Conn]struct{}
	imapLive   int // IMAP sessions not yet closed
	throttle   throttleState
	flights    atomic.Int64 // server flights delayed by the RTT fault
}

var (
	sharedKeyMu sync.Mutex
	sharedKey   *rsa.PrivateKey
)

func processKey() (*rsa.PrivateKey, error) {
	sharedKeyMu.Lock()
	defer sharedKeyMu.Unlock()
	if sharedKey == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		sharedKey = k
	}
	return sharedKey, nil
}

// Start starts a sandbox with its own CA, service account and users.
func Start(opts Options) (s *Sandbox, err error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1"
	}
	if opts.Domain == "" {
		opts.Domain = "example.test"
	}
	if opts.Users <= 0 {
		opts.Users = 3
	}
	s = &Sandbox{
		opts:       opts,
		domain:     strings.ToLower(opts.Domain),
		logf:       opts.Logf,
		done:       make(chan struct{}),
		users:      map[string]*user{},
		delegation: map[string][]string{},
		clients:    map[string]ClientState{},
		keys:       map[string]*saKey{},
		tokens:     map[string]*token{},
		logins:     map[string]int{},
		domainIMAP: true,
		smtpConns:  map[net.Conn]struct{}{},
		faults:     Faults{RTTMS: int(opts.RTT / time.Millisecond)},
	}
	userLogf := opts.Logf
	if userLogf == nil {
		userLogf = func(string, ...any) {}
	}
	// Connection goroutines the servers do not wait for may still log after
	// Close; drop those lines (a test's t.Logf must not be called after the
	// test ends).
	s.logf = func(format string, args ...any) {
		s.logMu.RLock()
		defer s.logMu.RUnlock()
		if !s.logClosed {
			userLogf(format, args...)
		}
	}
	// every failing return sets s to nil: close what started through a copy
	started := s
	defer func() {
		if err != nil {
			started.Close()
		}
	}()

	if err := s.makeTLS(); err != nil {
		return nil, fmt.Errorf("sandbox: TLS setup: %w", err)
	}
	s.key = opts.Key
	if s.key == nil {
		if s.key, err = processKey(); err != nil {
			return nil, fmt.Errorf("sandbox: generating key: %w", err)
		}
	}
	s.keyID = randHex(20)
	s.clientID = "1" + randDigits(20)
	s.projectID = "mailoauth-sandbox-" + randDigits(6)
	s.clientEmail = "mailoauth@" + s.projectID + ".iam.gserviceaccount.com"
	s.keys[s.keyID] = &saKey{clientEmail: s.clientEmail, clientID: s.clientID, pub: &s.key.PublicKey}

	for i := 1; i <= opts.Users; i++ {
		s.addUserLocked(fmt.Sprintf("user%d@%s", i, s.domain))
	}
	s.addUserLocked("admin@" + s.domain)
	if opts.Delegate {
		s.delegation[s.clientID] = []string{core.ScopeMail}
	}

	for _, l := range []struct {
		ln   *net.Listener
		port int
	}{
		{&s.httpLn, opts.Ports.HTTP}, {&s.imapLn, opts.Ports.IMAP}, {&s.imapPlainLn, opts.Ports.IMAPStartTLS},
		{&s.smtpLn, opts.Ports.SMTP}, {&s.smtpPlainLn, opts.Ports.SMTPStartTLS}, {&s.popLn, opts.Ports.POP3},
	} {
		addr := net.JoinHostPort(opts.Addr, strconv.Itoa(l.port))
		if *l.ln, err = net.Listen("tcp", addr); err != nil && l.port != 0 {
			return nil, fmt.Errorf("sandbox: cannot listen on the fixed port %s (%w); stop what listens there or choose another port", addr, err)
		} else if err != nil {
			return nil, fmt.Errorf("sandbox: listen on %s: %w", opts.Addr, err)
		}
		*l.ln = s.rttListen(*l.ln)
	}
	base := "http://" + s.httpLn.Addr().String()
	s.endpoints = core.Endpoints{
		IMAP:         s.imapLn.Addr().String(),
		IMAPSecurity: core.SecurityTLS,
		SMTP:         s.smtpLn.Addr().String(),
		SMTPSecurity: core.SecurityTLS,
		POP3:         s.popLn.Addr().String(),
		TokenURL:     base + "/token",
		AuthURL:      base + "/o/oauth2/auth",
		TokeninfoURL: base + "/tokeninfo",
		AdminURL:     base + "/admin",
	}
	if err := s.makeCredentialFiles(); err != nil {
		return nil, err
	}
	if opts.Dir != "" {
		if err := s.writeDir(opts.Dir); err != nil {
			return nil, err
		}
	}

	s.startHTTP()
	s.startIMAP()
	s.startSMTP()
	s.startStore()
	s.startPOP3()
	s.logf("sandbox: Google for %s at %s (token), %s (imap), %s (smtp)", s.domain, s.endpoints.TokenURL, s.endpoints.IMAP, s.endpoints.SMTP)
	return s, nil
}

// Close stops every listener, closes every connection and waits for the
// sandbox's goroutines to finish.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.logMu.Lock()
		s.logClosed = true
		s.logMu.Unlock()
		if s.httpSrv != nil {
			s.httpSrv.Close()
		}
		for _, ln := range []net.Listener{s.httpLn, s.imapLn, s.imapPlainLn, s.smtpLn, s.smtpPlainLn, s.popLn} {
			if ln != nil {
				ln.Close()
			}
		}
		if s.storeLn != nil {
			s.storeLn.Close()
		}
		s.imapServing.Wait()
		if s.storeSrv != nil {
			s.storeSrv.Close()
		}
		if s.imapPlainSrv != nil {
			s.imapPlainSrv.Close()
		}
		if s.imapSrv != nil {
			s.imapSrv.Close()
		}
		s.mu.Lock()
		for c := range s.smtpConns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		// imapserver does not wait for its connection goroutines; wait
		// until every session has been closed.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			s.mu.Lock()
			n := s.imapLive
			s.mu.Unlock()
			if n == 0 {
				break
			}
		}
	})
	return nil
}

// sleep waits d or until the sandbox closes; it reports whether it is still open.
func (s *Sandbox) sleep(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-s.done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

func (s *Sandbox) latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Duration(s.faults.LatencyMS) * time.Millisecond
}

// Endpoints returns the sandbox's servers; CAFile is set only when Options.Dir
// was given (otherwise trust CAPEM()).
func (s *Sandbox) Endpoints() core.Endpoints { return s.endpoints }

// SMTPStartTLSAddr is a second SMTP listener that needs STARTTLS (like 587).
func (s *Sandbox) SMTPStartTLSAddr() string { return s.smtpPlainLn.Addr().String() }

// IMAPStartTLSAddr is a plain IMAP listener that offers STARTTLS.
func (s *Sandbox) IMAPStartTLSAddr() string { return s.imapPlainLn.Addr().String() }

// CAPEM is the PEM of the CA that signed the sandbox's server certificate.
func (s *Sandbox) CAPEM() []byte { return append([]byte(nil), s.caPEM...) }

// ServiceAccountJSON is the generated key file, shaped exactly as Google
// downloads it, with token_uri pointing at the sandbox.
func (s *Sandbox) ServiceAccountJSON() []byte { return append([]byte(nil), s.saJSON...) }

// OAuthClientJSON is the generated OAuth client file ("web" client).
func (s *Sandbox) OAuthClientJSON() []byte { return append([]byte(nil), s.oauthJSON...) }

// ClientID is the 21-digit numeric client ID of the generated service account.
func (s *Sandbox) ClientID() string { return s.clientID }

// ClientEmail is the generated service account's e-mail address.
func (s *Sandbox) ClientEmail() string { return s.clientEmail }

// KeyID is the private_key_id of the generated key.
func (s *Sandbox) KeyID() string { return s.keyID }

// Domain is the sandbox's Workspace domain.
func (s *Sandbox) Domain() string { return s.domain }

// Users lists every mailbox, sorted.
func (s *Sandbox) Users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, u := range s.users {
		out = append(out, u.email)
	}
	sort.Strings(out)
	return out
}

// Now is the sandbox clock: the host clock plus the configured skew.
func (s *Sandbox) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Sandbox) nowLocked() time.Time { return time.Now().Add(s.skew) }

func (s *Sandbox) addUserLocked(email string) *user {
	email = strings.ToLower(email)
	mem := imapmemserver.NewUser(email, "")
	_ = mem.Create("INBOX", nil)
	u := &user{email: email, imap: true, mem: mem}
	s.users[email] = u
	return u
}

// checkToken looks an access token up for a SASL login: it must be live, be
// for the SASL user and carry one of the accepted scopes.
func (s *Sandbox) checkToken(saslUser, accessToken string, accepted []string) (*user, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[accessToken]
	if t == nil || t.revoked || !s.nowLocked().Before(t.expiry) {
		return nil, false
	}
	if !strings.EqualFold(t.email, strings.TrimSpace(saslUser)) {
		return nil, false
	}
	u := s.users[t.email]
	if u == nil || u.suspended {
		return nil, false
	}
	for _, have := range t.scopes {
		for _, want := range accepted {
			if have == want {
				return u, true
			}
		}
	}
	return nil, false
}

var errClosed = errors.New("sandbox closed")
