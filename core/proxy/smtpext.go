package proxy

import (
	"bytes"
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

// probeSMTP asks the SMTP servers of dir (if it lists them) for their
// extensions, in the background; servers no longer listed are forgotten.
// first is true when an SMTP listener starts: only the first one probes,
// and a reload (first false) probes only once one is served. Both are
// decided under the lock that publishes the probe, so a client accepted
// by a second listener meanwhile waits for it rather than being offered
// the default extensions.
// Clients' EHLO waits for the probe only while some listed server has not
// answered yet: a reload that lists the same servers refreshes their
// answers behind the clients' backs, so an unreachable server does not
// stall every EHLO for the probe's timeout.
func (s *Server) probeSMTP(dir Directory, first bool) {
	x := &s.smtpExt
	l, lists := dir.(SMTPLister)
	eps := map[string]core.Endpoints{}
	if lists {
		for _, ep := range l.SMTPEndpoints() {
			if ep.SMTP != "" {
				eps[ep.SMTP] = ep
			}
		}
	}
	done := make(chan struct{})
	x.mu.Lock()
	if first == x.served || !lists {
		// a second listener, or a reload before any is served; or nothing to ask
		x.served = x.served || first
		x.mu.Unlock()
		return
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

// ehloFilter stands between the client and the SMTP server after the
// login. It takes the upstream's extensions that droppedExtension names
// out of the server's replies to the EHLO commands the client sends,
// fixing the last line's separator when the dropped line was the last.
// Only those replies: another multi-line 250 reply (EXPN's list, say, with
// a member "Auth Team <auth@example.com>") passes whole. And it keeps the
// commands of the extensions withheld for the proxy's sake (XCLIENT and
// XFORWARD, see droppedExtension) from the server: such a command goes
// upstream as a NOOP, whose reply the client gets as the proxy's refusal
// (blockedReply), so that every command still has its reply, in order.
//
// Which reply answers an EHLO (or a blocked command) follows from
// counting: SMTP answers every command with one reply, in order, pipelined
// or not. commands counts the client's commands as they go upstream and
// notes the numbers of its EHLOs and blocked commands; feed counts the
// server's replies. Message content is not commands: after DATA it runs
// from the server's 354 (which the client waits for) to the lone "." line,
// which gets one reply; a BDAT chunk is the number of bytes its command
// names. The server sends nothing but replies, so every line is one; a
// reply line is held until the next one shows whether it is the last.
type ehloFilter struct {
	mu       sync.Mutex
	sent     int              // commands the client sent (a message's end counts as one)
	answered int              // replies the server sent
	ehlos    []int            // the numbers of the EHLO commands not yet answered
	blocked  []blockedCommand // those not yet answered
	dataAt   int              // the number of the DATA command not yet answered; 0: none
	content  bool             // DATA got its 354: the client sends the message

	// refused, if not nil, is told of each blocked command (its verb).
	refused func(verb string)

	// the client's side: only commands touches these
	cmd      []byte // the first bytes of the client's line so far
	cmdLen   int    // its length so far
	skip     int64  // the bytes of a BDAT chunk still to come
	withheld []byte // the start of a line that may be a blocked command
	dropVerb string // the line under way is this blocked command
	out      []byte // what commands passes when it is not the client's bytes

	// the server's side: only feed touches these
	partial   []byte // a line not yet ended
	held      []byte // the last kept line of an EHLO reply
	inReply   bool   // within a multi-line reply, after its first line
	filtering bool   // the reply under way answers an EHLO
	replacing string // the reply under way answers this blocked command
}

// blockedCommand is a command the client sent that went upstream as a NOOP.
type blockedCommand struct {
	n    int    // its number among the client's commands
	verb string // XCLIENT or XFORWARD
}

// blockedCommands are the commands of the extensions droppedExtension
// withholds for the proxy's sake, which the client must not send through.
var blockedCommands = []string{"XCLIENT", "XFORWARD"}

// blockedReply is the client's reply to a blocked command (with its verb).
func blockedReply(verb string) string {
	return "502 5.5.1 mailoauth proxy does not pass " + verb + " on to the mail server\r\n"
}

// maxHeld bounds a line held back; a longer one is passed on as it is.
const maxHeld = 64 * 1024

// lineKept is how much of a client's line commands keeps: enough for
// "BDAT" and a chunk size, or a message's "." line.
const lineKept = 64

// blockedVerb tells from the start of a command line whether it is a
// blocked command (its verb, upper case), or known false when it cannot
// be one; neither while the start is too short to tell.
func blockedVerb(start []byte) (verb string, known bool) {
	word := start
	end := bytes.IndexAny(start, " \r\n")
	if end >= 0 {
		word = start[:end]
	}
	for _, b := range blockedCommands {
		switch {
		case end >= 0 && strings.EqualFold(string(word), b):
			return b, true
		case end < 0 && len(word) <= len(b) && strings.EqualFold(string(word), b[:len(word)]):
			return "", false
		}
	}
	return "", true
}

// commands is the filter of the client's bytes: it counts the commands
// among them and passes them whole, except a blocked command, which it
// replaces with a NOOP. The start of a line that may still turn out to be
// one is held back until it shows.
func (f *ehloFilter) commands(_, p []byte) []byte {
	all := p
	// out is built only once something differs from the client's bytes:
	// all[from:] is passed but not yet copied to it.
	out, changed, from := f.out[:0], false, 0
	cut := func(i, j int) { // leave all[i:j] out
		out, changed, from = append(out, all[from:i]...), true, j
	}
	f.mu.Lock()
	content := f.content
	f.mu.Unlock()
	for len(p) > 0 {
		at := len(all) - len(p)
		if f.skip > 0 {
			n := int(min(f.skip, int64(len(p))))
			f.skip -= int64(n)
			p = p[n:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		part := p
		if i >= 0 {
			part = p[:i+1]
		}
		p = p[len(part):]
		lineStart := f.cmdLen == 0
		if keep := min(len(part), lineKept-len(f.cmd)); keep > 0 {
			f.cmd = append(f.cmd, part[:keep]...)
		}
		f.cmdLen += len(part)
		if !content && f.dropVerb == "" && (lineStart || len(f.withheld) > 0) {
			verb, known := blockedVerb(f.cmd)
			switch {
			case !known:
				cut(at, at+len(part))
				f.withheld = append(f.withheld, part...)
			case verb != "":
				cut(at, at+len(part))
				f.withheld, f.dropVerb = f.withheld[:0], verb
				if f.refused != nil {
					f.refused(verb)
				}
			case len(f.withheld) > 0:
				cut(at, at)
				out = append(out, f.withheld...)
				f.withheld = f.withheld[:0]
			}
		} else if f.dropVerb != "" {
			cut(at, at+len(part))
		}
		if i < 0 {
			break
		}
		line, whole := f.cmd, f.cmdLen <= lineKept
		f.cmd, f.cmdLen = f.cmd[:0], 0
		if content {
			if whole && (bytes.Equal(line, []byte(".\r\n")) || bytes.Equal(line, []byte(".\n"))) {
				content = false
				f.mu.Lock()
				f.content = false
				f.sent++
				f.mu.Unlock()
			}
			continue
		}
		if f.dropVerb != "" {
			out = append(out, "NOOP\r\n"...)
			f.mu.Lock()
			f.sent++
			f.blocked = append(f.blocked, blockedCommand{f.sent, f.dropVerb})
			f.mu.Unlock()
			f.dropVerb = ""
			continue
		}
		verb, arg, _ := strings.Cut(strings.TrimRight(string(line), "\r\n"), " ")
		f.mu.Lock()
		f.sent++
		switch strings.ToUpper(verb) {
		case "EHLO":
			f.ehlos = append(f.ehlos, f.sent)
		case "DATA":
			f.dataAt = f.sent
		case "BDAT":
			size, _, _ := strings.Cut(strings.TrimSpace(arg), " ")
			if n, err := strconv.ParseInt(size, 10, 64); err == nil && n > 0 {
				f.skip = n
			}
		}
		f.mu.Unlock()
	}
	if !changed {
		return all
	}
	f.out = append(out, all[from:]...)
	return f.out
}

// feed appends to out what of p goes to the client.
func (f *ehloFilter) feed(out, p []byte) []byte {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			f.partial = append(f.partial, p...)
			if len(f.partial) > maxHeld {
				out = append(out, f.partial...)
				f.partial = f.partial[:0]
			}
			return out
		}
		line := p[:i+1]
		p = p[i+1:]
		if len(f.partial) > 0 {
			f.partial = append(f.partial, line...)
			line = f.partial
		}
		out = f.line(out, line)
		f.partial = f.partial[:0]
	}
	return out
}

func (f *ehloFilter) line(out, line []byte) []byte {
	more := len(line) > 3 && line[3] == '-'
	first := !f.inReply
	f.inReply = more
	f.mu.Lock()
	if first {
		f.filtering = more && bytes.HasPrefix(line, []byte("250")) && len(f.ehlos) > 0 && f.ehlos[0] == f.answered+1
		f.replacing = ""
		if len(f.blocked) > 0 && f.blocked[0].n == f.answered+1 {
			f.replacing = f.blocked[0].verb
		}
	}
	if !more { // the reply is complete
		f.answered++
		for len(f.ehlos) > 0 && f.ehlos[0] <= f.answered {
			f.ehlos = f.ehlos[1:]
		}
		for len(f.blocked) > 0 && f.blocked[0].n <= f.answered {
			f.blocked = f.blocked[1:]
		}
		if f.dataAt != 0 && f.dataAt <= f.answered {
			// before the 354 reaches the client, which then sends the message
			f.content = f.dataAt == f.answered && bytes.HasPrefix(line, []byte("354"))
			f.dataAt = 0
		}
	}
	f.mu.Unlock()
	if f.replacing != "" {
		// the NOOP's reply: the client gets the refusal instead, unless
		// the server had worse news (a 421 before it closes), which it
		// gets as one line
		switch {
		case more:
			return out
		case line[0] == '2':
			return append(out, blockedReply(f.replacing)...)
		}
		out = append(out, line...)
		if len(line) > 3 {
			out[len(out)-len(line)+3] = ' '
		}
		return out
	}
	if !f.filtering {
		return append(out, line...)
	}
	if first {
		f.held = append(f.held[:0], line...)
		return out
	}
	text := strings.TrimRight(string(line[min(4, len(line)):]), "\r\n")
	if droppedExtension(text) {
		if !more {
			f.held[3] = ' '
			out = append(out, f.held...)
		}
		return out
	}
	out = append(out, f.held...)
	if more {
		f.held = append(f.held[:0], line...)
		return out
	}
	return append(out, line...)
}
