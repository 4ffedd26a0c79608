package proxy

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// The SMTP extensions the proxy offers before the login are the upstream
// server's: the client's EHLO comes before its AUTH, so before the proxy
// knows the mailbox or has a session upstream. The proxy remembers, per
// upstream SMTP address, the extensions of the last EHLO reply it got
// there: from a probe (greeting, EHLO, STARTTLS if configured, EHLO, QUIT;
// no login) when an SMTP listener starts and at each reload, and again at
// every upstream login. A client's EHLO is answered with the extensions
// every remembered server has (so whichever mailbox logs in, what was
// offered works), waiting for a probe still under way; before any server
// answered, with defaultSMTPExtensions.

// defaultSMTPExtensions are offered while no upstream server has answered
// an EHLO (it could not be reached at start): what Gmail and every
// submission server mailoauth meets offer.
var defaultSMTPExtensions = []string{"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"}

// probeTimeout bounds the EHLO probe of an upstream server.
const probeTimeout = 10 * time.Second

// SMTPLister is what a Directory may implement: the endpoints its
// mailboxes' SMTP sessions go to, which the proxy asks for their
// extensions before the first login.
type SMTPLister interface {
	SMTPEndpoints() []core.Endpoints
}

// droppedExtension reports whether an upstream EHLO keyword is withheld
// from the client: the login ones (the proxy takes the client's own AUTH;
// the session upstream is logged in already), STARTTLS (about the upstream
// leg, not the client's), and XCLIENT / XFORWARD, with which a client the
// server trusts (the proxy) names another client's address: through the
// proxy every client would have that trust.
func droppedExtension(line string) bool {
	kw, _, _ := strings.Cut(line, " ")
	kw = strings.ToUpper(kw)
	switch {
	case kw == "AUTH", strings.HasPrefix(kw, "AUTH="), kw == "STARTTLS", kw == "XCLIENT", kw == "XFORWARD":
		return true
	}
	return false
}

// smtpExtensions holds what the upstream SMTP servers offered.
type smtpExtensions struct {
	mu      sync.Mutex
	known   map[string][]string // upstream address -> its EHLO extensions, minus the dropped ones
	probing chan struct{}       // closed when the probe under way ends; nil: none
	served  bool                // an SMTP listener is served: reloads probe again
	gen     int                 // counts the probes: an older one's answers are stale
	ctx     context.Context     // cancelled by Shutdown
	cancel  context.CancelFunc
}

func (x *smtpExtensions) init() {
	x.known = map[string][]string{}
	x.ctx, x.cancel = context.WithCancel(context.Background())
}

// learnSMTP remembers the EHLO extensions the server at addr answered
// (its reply's lines after the first), logging when they change. gen is
// the probe's that asked, or 0 for a login.
func (s *Server) learnSMTP(gen int, addr string, ehlo []string) {
	var ext []string
	for _, l := range ehlo {
		if l = strings.TrimSpace(l); l != "" && !droppedExtension(l) {
			ext = append(ext, l)
		}
	}
	x := &s.smtpExt
	x.mu.Lock()
	if gen != 0 && gen != x.gen {
		x.mu.Unlock()
		return
	}
	old, had := x.known[addr]
	x.known[addr] = ext
	x.mu.Unlock()
	if !had || !slices.Equal(old, ext) {
		s.log.Info("proxy: the SMTP server's extensions, offered to clients without its AUTH", "server", addr, "extensions", strings.Join(ext, ", "))
	}
}

// probeSMTP asks the SMTP servers of the directory (if it lists them) for
// their extensions, in the background; servers no longer listed are
// forgotten.
// first is true when an SMTP listener starts: only the first one probes,
// and a reload (first false) probes only once one is served. Both are
// decided under the lock that publishes the probe, so a client accepted
// by a second listener meanwhile waits for it rather than being offered
// the default extensions.
// Clients' EHLO waits for the probe only while some listed server has not
// answered yet: a reload that lists the same servers refreshes their
// answers behind the clients' backs, so an unreachable server does not
// stall every EHLO for the probe's timeout.
func (s *Server) probeSMTP(first bool) {
	x := &s.smtpExt
	done := make(chan struct{})
	x.mu.Lock()
	// The directory is read under the probe's lock, so that whichever of
	// a listener's start and a reload comes last probes the directory
	// in force: a reload racing the first listener's start is not lost.
	s.mu.Lock()
	dir := s.dir
	s.mu.Unlock()
	l, lists := dir.(SMTPLister)
	if first == x.served || !lists {
		// a second listener, or a reload before any is served; or nothing to ask
		x.served = x.served || first
		x.mu.Unlock()
		return
	}
	eps := map[string]core.Endpoints{}
	for _, ep := range l.SMTPEndpoints() {
		if ep.SMTP != "" {
			eps[ep.SMTP] = ep
		}
	}
	x.served = true
	for addr := range x.known {
		if _, ok := eps[addr]; !ok {
			delete(x.known, addr)
		}
	}
	x.probing = nil
	for addr := range eps {
		if _, ok := x.known[addr]; !ok {
			x.probing = done
			break
		}
	}
	x.gen++
	ctx, gen := x.ctx, x.gen
	x.mu.Unlock()
	go func() {
		var wg sync.WaitGroup
		for addr, ep := range eps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.probeOne(ctx, gen, addr, ep)
			}()
		}
		wg.Wait()
		x.mu.Lock()
		if x.probing == done {
			x.probing = nil
		}
		x.mu.Unlock()
		close(done)
	}()
}

func (s *Server) probeOne(ctx context.Context, gen int, addr string, ep core.Endpoints) {
	ctx, cancel := context.WithTimeout(ctx, min(probeTimeout, s.cfg.UpstreamTimeout))
	defer cancel()
	u, err := connect(ctx, ep, addr, ep.SMTPSecurity, SMTP, hostname())
	if err != nil {
		if ctx.Err() != context.Canceled { // not shutting down
			s.log.Warn("proxy: cannot ask the SMTP server for its extensions; until a login reaches it, clients are offered those of the servers that answered, or the default ones",
				"server", addr, "error", err.Error(), "default", strings.Join(defaultSMTPExtensions, ", "))
		}
		return
	}
	stop := context.AfterFunc(ctx, func() { u.conn.Close() })
	_, _, _ = u.smtpCommand("QUIT")
	stop()
	u.conn.Close()
	s.learnSMTP(gen, addr, u.ehlo)
}

// offeredSMTP is what the proxy offers before the login: the extensions
// every remembered server has (the smallest SIZE), after the probe under
// way if any (at most until ctx ends); the default when none answered.
func (s *Server) offeredSMTP(ctx context.Context) []string {
	x := &s.smtpExt
	x.mu.Lock()
	wait := x.probing
	x.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.known) == 0 {
		return defaultSMTPExtensions
	}
	addrs := make([]string, 0, len(x.known))
	for a := range x.known {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	var out []string
next:
	for _, line := range x.known[addrs[0]] {
		keep := line
		for _, a := range addrs[1:] {
			i := slices.IndexFunc(x.known[a], func(o string) bool { return strings.EqualFold(extKeyword(o), extKeyword(line)) })
			switch {
			case i < 0:
				continue next
			case strings.EqualFold(extKeyword(line), "SIZE"):
				keep = smallerSize(keep, x.known[a][i])
			case !strings.EqualFold(x.known[a][i], keep):
				continue next
			}
		}
		out = append(out, keep)
	}
	return out
}

func extKeyword(line string) string {
	kw, _, _ := strings.Cut(line, " ")
	return kw
}

// smallerSize is the SIZE line with the lower limit; "SIZE" or "SIZE 0"
// declares none (RFC 1870).
func smallerSize(a, b string) string {
	limit := func(l string) int64 {
		_, v, _ := strings.Cut(l, " ")
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 {
			return -1
		}
		return n
	}
	na, nb := limit(a), limit(b)
	if na < 0 || (nb >= 0 && nb < na) {
		return b
	}
	return a
}
