package sandbox

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
)

// go-imap's server writes its capabilities into its greeting
// ("* OK [CAPABILITY ...] IMAP server ready") and into the tagged OK of
// AUTHENTICATE ("A1 OK [CAPABILITY ...] XOAUTH2 authentication
// successful"). Gmail does neither, and a client pays for the difference:
//
//	S: * OK Gimap ready for requests from 172.218.163.116 zh1mb199258645pbc
//	C: a1 CAPABILITY
//	S: * CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST ... SASL-IR AUTH=XOAUTH2 ...
//	S: a1 OK Thats all she wrote!
//	C: a2 AUTHENTICATE XOAUTH2 dXNlcj1...
//	S: * CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE ... UIDPLUS MOVE ...
//	S: a2 OK user@example.com authenticated (Success)
//
// A client that wants SASL-IR must ask for the capabilities first (RFC
// 4959: no initial response unless SASL-IR is advertised), which costs a
// round trip the go-imap greeting would spare it. gimapConn sits between
// go-imap's server and the connection (above TLS) and rewrites only those
// two lines, as Gmail writes them: the greeting, and the capabilities of
// the first tagged OK that carries them (the AUTHENTICATE's) into an
// untagged CAPABILITY before a plain tagged OK. From then on, or right
// after the greeting when afterLogin is false (the STARTTLS listener,
// whose later lines go through TLS set up below this wrapper), everything
// passes through untouched. Before login the server writes only short
// lines and no literals, so they are rewritten a whole line at a time.
type gimapConn struct {
	net.Conn
	afterLogin bool // also rewrite the AUTHENTICATE's OK
	id         string

	mu      sync.Mutex
	greeted bool
	done    bool   // nothing more to rewrite
	pending []byte // an incomplete line
	user    string // the authenticated address, for the OK's text
}

// gimapListener wraps every accepted connection in a gimapConn.
type gimapListener struct {
	net.Listener
	afterLogin bool
	n          atomic.Int64
}

func (l *gimapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	// Gmail's greeting ends with a front-end id like "zh1mb199258645pbc".
	n := l.n.Add(1)
	id := fmt.Sprintf("sbx%dmb%012d", n%10, n)
	return &gimapConn{Conn: c, afterLogin: l.afterLogin, id: id}, nil
}

// loggedIn tells the connection whose address its AUTHENTICATE's OK names.
func (c *gimapConn) loggedIn(user string) {
	c.mu.Lock()
	c.user = user
	c.mu.Unlock()
}

func (c *gimapConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return c.Conn.Write(b)
	}
	c.pending = append(c.pending, b...)
	var out []byte
	for !c.done {
		i := bytes.Index(c.pending, []byte("\r\n"))
		if i < 0 {
			break
		}
		out = append(out, c.rewrite(string(c.pending[:i]))...)
		c.pending = c.pending[i+2:]
	}
	if c.done { // the rest passes through as it is
		out = append(out, c.pending...)
		c.pending = nil
	}
	c.mu.Unlock()
	if len(out) > 0 {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// rewrite returns line (without its CRLF) as Gmail would write it, with
// CRLF.
func (c *gimapConn) rewrite(line string) string {
	if !c.greeted {
		c.greeted = true
		c.done = !c.afterLogin
		if strings.HasPrefix(line, "* OK ") {
			host, _, err := net.SplitHostPort(c.Conn.RemoteAddr().String())
			if err != nil {
				host = c.Conn.RemoteAddr().String()
			}
			return "* OK Gimap ready for requests from " + host + " " + c.id + "\r\n"
		}
		return line + "\r\n"
	}
	tag, rest, _ := strings.Cut(line, " ")
	caps, text, ok := strings.Cut(strings.TrimPrefix(rest, "OK [CAPABILITY "), "]")
	if tag == "*" || tag == "+" || !strings.HasPrefix(rest, "OK [CAPABILITY ") || !ok {
		return line + "\r\n"
	}
	c.done = true
	text = strings.TrimPrefix(text, " ")
	if c.user != "" {
		text = c.user + " authenticated (Success)"
	}
	return "* CAPABILITY " + caps + "\r\n" + tag + " OK " + text + "\r\n"
}
