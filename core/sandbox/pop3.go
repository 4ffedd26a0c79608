package sandbox

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailoauth/mailoauth/core/mailproto"
)

// Gmail's POP3 server (pop.gmail.com:995, implicit TLS only), as its
// sessions read:
//
//	S: +OK Gpop ready for requests from 203.0.113.7 a1mb123456789abc
//	C: USER user@example.com
//	S: +OK send PASS
//	C: PASS secret
//	S: -ERR [AUTH] Username and password not accepted.
//	C: AUTH XOAUTH2 dXNlcj1...
//	S: + eyJzdGF0dXMiOiI0MDAiLC...      (a refused token: the JSON challenge)
//	C:                                   (the client's empty answer)
//	S: -ERR [AUTH] Invalid credentials.
//	C: QUIT
//	S: +OK Farewell.
//
// An accepted login is "+OK Welcome."; LIST answers "+OK 2 messages (5882
// bytes)", RETR "+OK message follows". The mailbox is the user's INBOX,
// the one IMAP clients see; DELE'd messages are expunged at QUIT as RFC
// 1939 says (Gmail's "delete Gmail's copy" setting; its default keeps
// them, which no test of the proxy needs).

// popCaps is Gmail's CAPA reply.
var popCaps = []string{"USER", "RESP-CODES", "EXPIRE 0", "LOGIN-DELAY 300", "TOP", "UIDL", "X-GOOGLE-RICO", "SASL PLAIN XOAUTH2 OAUTHBEARER"}

// popError is a -ERR reply's text (its response code included).
type popError string

func (e popError) Error() string { return string(e) }

const (
	popInvalidCredentials popError = "[AUTH] Invalid credentials."
	popPasswordRefused    popError = "[AUTH] Username and password not accepted."
)

func (s *Sandbox) startPOP3() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.acceptConns(s.popLn, false, func(nc net.Conn) {
			c := &popConn{smtpConn: smtpConn{sb: s, raw: nc}}
			c.serve()
		})
	}()
}

// popConn is one POP3 connection; it reads lines and does TLS as the SMTP
// server's connections do.
type popConn struct {
	smtpConn
	box     *inbox
	deleted map[int]bool // message numbers marked by DELE
}

func (c *popConn) ok(text string, lines ...string) error {
	fmt.Fprintf(c.bw, "+OK%s\r\n", strings.TrimRight(" "+text, " "))
	for _, l := range lines {
		c.bw.WriteString(l + "\r\n")
	}
	if lines != nil {
		c.bw.WriteString(".\r\n")
	}
	return c.flush()
}

func (c *popConn) flush() error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(smtpWriteTimeout))
	return c.bw.Flush()
}

func (c *popConn) fail(text string) error {
	c.bw.WriteString("-ERR " + text + "\r\n")
	return c.flush()
}

func (c *popConn) serve() {
	c.id = randFrom(alnum, 16)
	c.setConn(c.raw)
	if !c.upgradeTLS() || !c.sb.sleep(c.sb.latency()) {
		return
	}
	defer func() { c.box.close() }()
	host, _, _ := net.SplitHostPort(c.raw.RemoteAddr().String())
	if c.ok("Gpop ready for requests from "+host+" "+c.id) != nil {
		return
	}
	for {
		line, err := c.readLine(smtpSASLLineMax)
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		var werr error
		switch {
		case verb == "QUIT":
			_ = c.quit()
			return
		case verb == "CAPA":
			werr = c.ok("Capability list follows", popCaps...)
		case c.box == nil:
			werr = c.authorization(verb, strings.TrimSpace(arg))
		default:
			werr = c.transaction(verb, strings.Fields(arg))
		}
		if werr != nil {
			return
		}
	}
}

func (c *popConn) authorization(verb, arg string) error {
	switch verb {
	case "USER":
		return c.ok("send PASS")
	case "PASS":
		return c.fail(string(popPasswordRefused))
	case "AUTH":
		return c.auth(arg)
	}
	return c.fail("bad command")
}

// auth runs AUTH XOAUTH2 or OAUTHBEARER (RFC 5034) with Gmail's token
// check and its failure: the JSON challenge, then -ERR after the answer.
func (c *popConn) auth(arg string) error {
	mech, ir, hasIR := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	switch mech {
	case mailproto.XOAUTH2, mailproto.OAUTHBEARER:
	case "":
		return c.ok("", "PLAIN", mailproto.XOAUTH2, mailproto.OAUTHBEARER)
	case "PLAIN":
		return c.fail(string(popPasswordRefused))
	default:
		return c.fail("[AUTH] Unsupported authentication mechanism.")
	}
	sess := &oauthSASLServer{mech: mech, fail: popInvalidCredentials, verify: func(user, tok string) error {
		u, ok := c.sb.checkToken(user, tok, imapScopes)
		if !ok {
			return errRefused
		}
		box, err := c.sb.openInbox(u.email)
		if err != nil {
			c.sb.logf("sandbox pop3: opening the INBOX of %s: %v", u.email, err)
			return popError("[SYS/TEMP] Temporary system problem, please try again later.")
		}
		c.box, c.deleted = box, map[int]bool{}
		c.sb.loginAccepted(mech)
		return nil
	}}
	var resp []byte
	if hasIR {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(ir))
		if err != nil {
			return c.fail(string(popInvalidCredentials))
		}
		resp = b
	}
	for {
		ch, done, err := sess.Next(resp)
		var pe popError
		switch {
		case errors.As(err, &pe):
			return c.fail(string(pe))
		case err != nil:
			return c.fail("[SYS/TEMP] " + err.Error())
		case done:
			return c.ok("Welcome.")
		}
		c.bw.WriteString("+ " + base64.StdEncoding.EncodeToString(ch) + "\r\n")
		if err := c.flush(); err != nil {
			return err
		}
		line, err := c.readLine(smtpSASLLineMax)
		if err != nil {
			return err
		}
		if line == "*" {
			return c.fail("[AUTH] Authentication cancelled.")
		}
		if resp, err = base64.StdEncoding.DecodeString(line); err != nil {
			resp = []byte{}
		}
	}
}

// message returns the message numbered by arg (1-based), if it exists
// and is not marked deleted.
func (c *popConn) message(arg string) (int, *popMessage, bool) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 || n > len(c.box.msgs) || c.deleted[n] {
		return 0, nil, false
	}
	return n, &c.box.msgs[n-1], true
}

func (c *popConn) transaction(verb string, args []string) error {
	switch verb {
	case "NOOP":
		return c.ok("")
	case "RSET":
		c.deleted = map[int]bool{}
		return c.ok("")
	case "STAT":
		n, size := 0, 0
		for i, m := range c.box.msgs {
			if !c.deleted[i+1] {
				n, size = n+1, size+len(m.body)
			}
		}
		return c.ok(fmt.Sprintf("%d %d", n, size))
	case "LIST", "UIDL":
		show := func(n int, m *popMessage) string {
			if verb == "LIST" {
				return fmt.Sprintf("%d %d", n, len(m.body))
			}
			return fmt.Sprintf("%d GmailId%x", n, m.uid)
		}
		if len(args) > 0 {
			n, m, ok := c.message(args[0])
			if !ok {
				return c.fail("no such message")
			}
			return c.ok(show(n, m))
		}
		lines, size := []string{}, 0
		for i := range c.box.msgs {
			if !c.deleted[i+1] {
				lines = append(lines, show(i+1, &c.box.msgs[i]))
				size += len(c.box.msgs[i].body)
			}
		}
		if verb == "LIST" {
			return c.ok(fmt.Sprintf("%d messages (%d bytes)", len(lines), size), lines...)
		}
		return c.ok("", lines...)
	case "RETR", "TOP":
		if len(args) != map[string]int{"RETR": 1, "TOP": 2}[verb] {
			return c.fail("bad command")
		}
		_, m, ok := c.message(args[0])
		if !ok {
			return c.fail("no such message")
		}
		body := m.body
		if verb == "TOP" {
			k, err := strconv.Atoi(args[1])
			if err != nil || k < 0 {
				return c.fail("bad command")
			}
			body = topLines(body, k)
		}
		return c.ok("message follows", dotStuffed(body)...)
	case "DELE":
		if len(args) != 1 {
			return c.fail("bad command")
		}
		n, _, ok := c.message(args[0])
		if !ok {
			return c.fail("no such message")
		}
		c.deleted[n] = true
		return c.ok("marked for deletion")
	}
	return c.fail("bad command")
}

// quit ends the session, expunging the messages marked by DELE.
func (c *popConn) quit() error {
	if c.box != nil {
		var uids []imap.UID
		for n := range c.deleted {
			uids = append(uids, c.box.msgs[n-1].uid)
		}
		if err := c.box.expunge(uids); err != nil {
			c.sb.logf("sandbox pop3: expunging: %v", err)
			return c.fail("[SYS/TEMP] Some deleted messages were not removed.")
		}
	}
	return c.ok("Farewell.")
}

// topLines is the message's header, its blank line and the first k lines
// of its body (RFC 1939 TOP).
func topLines(msg []byte, k int) []byte {
	i := bytes.Index(msg, []byte("\r\n\r\n"))
	if i < 0 {
		return msg
	}
	head, body := append([]byte(nil), msg[:i+4]...), msg[i+4:]
	for n := 0; n < k && len(body) > 0; n++ {
		j := bytes.Index(body, []byte("\r\n"))
		if j < 0 {
			head, body = append(head, body...), nil
			break
		}
		head, body = append(head, body[:j+2]...), body[j+2:]
	}
	return head
}

// dotStuffed splits a message into POP3 lines, a leading dot doubled
// (RFC 1939 section 3).
func dotStuffed(msg []byte) []string {
	lines := strings.Split(strings.TrimSuffix(string(msg), "\r\n"), "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") {
			lines[i] = "." + l
		}
	}
	return lines
}
