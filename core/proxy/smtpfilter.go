package proxy

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
)

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
