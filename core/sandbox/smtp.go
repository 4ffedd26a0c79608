package sandbox

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/mailproto"
)

// The SMTP server is written by hand rather than on go-smtp's server, as
// Gmail's line-length rule (555 5.5.2 for a command line over 512 bytes, but
// up to 12288 bytes for a SASL response line) and its exact multi-line
// replies cannot be produced through go-smtp.

const (
	smtpSASLLineMax  = 12288 // RFC 4954 4: a SASL response line may be this long
	smtpMaxMessage   = 35882577
	smtpCmdTimeout   = 5 * time.Minute
	smtpWriteTimeout = 30 * time.Second
	smtpHost         = "smtp.sandbox.mailoauth.test"
)

func (s *Sandbox) startSMTP() {
	for _, l := range []struct {
		ln       net.Listener
		implicit bool
	}{{s.smtpLn, true}, {s.smtpPlainLn, false}} {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveSMTP(l.ln, l.implicit)
		}()
	}
}

func (s *Sandbox) serveSMTP(ln net.Listener, implicitTLS bool) {
	s.acceptConns(ln, true, func(nc net.Conn) {
		c := &smtpConn{sb: s, raw: nc}
		c.serve(implicitTLS)
	})
}

// acceptConns serves each connection of ln with serve until the sandbox
// closes (which closes them); with smtpFault the SMTPDrop fault closes them
// at once.
func (s *Sandbox) acceptConns(ln net.Listener, smtpFault bool, serve func(nc net.Conn)) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		s.mu.Lock()
		select {
		case <-s.done:
			s.mu.Unlock()
			nc.Close()
			return
		default:
		}
		drop := smtpFault && s.faults.SMTPDrop
		s.smtpConns[nc] = struct{}{}
		s.mu.Unlock()
		if drop {
			s.forgetSMTP(nc)
			nc.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.forgetSMTP(nc)
			defer nc.Close()
			serve(nc)
		}()
	}
}

func (s *Sandbox) forgetSMTP(nc net.Conn) {
	s.mu.Lock()
	delete(s.smtpConns, nc)
	s.mu.Unlock()
}

type smtpConn struct {
	sb    *Sandbox
	raw   net.Conn
	nc    net.Conn // raw or its TLS wrapper
	br    *bufio.Reader
	bw    *bufio.Writer
	isTLS bool

	helo  string
	authd *user
	from  *string
	rcpts []string // sandbox mailboxes to deliver to
	id    string
}

func (c *smtpConn) setConn(nc net.Conn) {
	c.nc = nc
	c.br = bufio.NewReaderSize(nc, 4096)
	c.bw = bufio.NewWriter(nc)
}

// reply writes a (multi-line) reply; enh, if set, prefixes every line as
// Gmail does.
func (c *smtpConn) reply(code int, enh string, text string) error {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		if enh != "" {
			fmt.Fprintf(c.bw, "%d%s%s %s\r\n", code, sep, enh, l)
		} else {
			fmt.Fprintf(c.bw, "%d%s%s\r\n", code, sep, l)
		}
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(smtpWriteTimeout))
	return c.bw.Flush()
}

func (c *smtpConn) gsmtp(text string) string { return text + " " + c.id + " - gsmtp" }

var (
	errLineTooLong = errors.New("line too long")
	errHangUp      = errors.New("the server closes the connection")
)

// readLine reads one CRLF line of at most max bytes including the CRLF; a
// longer line is read to its end and discarded, and errLineTooLong returned.
func (c *smtpConn) readLine(max int) (string, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(smtpCmdTimeout))
	var line []byte
	tooLong := false
	for {
		frag, err := c.br.ReadSlice('\n')
		if !tooLong {
			line = append(line, frag...)
			if len(line) > max {
				tooLong = true
				line = nil
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		break
	}
	if tooLong {
		return "", errLineTooLong
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// upgradeTLS runs the TLS handshake on the raw connection (30 s at most)
// and carries the session on over it; false when the handshake failed.
func (c *smtpConn) upgradeTLS() bool {
	tc := tls.Server(c.raw, c.sb.tlsConfig)
	_ = tc.SetDeadline(time.Now().Add(30 * time.Second))
	if err := tc.Handshake(); err != nil {
		return false
	}
	_ = tc.SetDeadline(time.Time{})
	c.setConn(tc)
	c.isTLS = true
	return true
}

func (c *smtpConn) serve(implicitTLS bool) {
	c.id = randFrom(alnum, 16)
	c.setConn(c.raw)
	if implicitTLS && !c.upgradeTLS() {
		return
	}
	if !c.sb.sleep(c.sb.latency()) {
		return
	}
	if c.reply(220, "", fmt.Sprintf("%s ESMTP %s - gsmtp", smtpHost, c.id)) != nil {
		return
	}
	for {
		line, err := c.readLine(mailproto.SMTPMaxCommandLine)
		if errors.Is(err, errLineTooLong) {
			if c.reply(555, "5.5.2", c.gsmtp(core.SMTPLineTooLong)) != nil {
				return
			}
			continue
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				_ = c.reply(451, "4.4.2", c.gsmtp("Timeout - closing connection."))
			}
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		var werr error
		switch verb {
		case "EHLO", "HELO":
			werr = c.hello(verb, strings.TrimSpace(arg))
		case "STARTTLS":
			if c.isTLS {
				werr = c.reply(503, "5.5.1", c.gsmtp("TLS already active."))
				break
			}
			if err := c.reply(220, "2.0.0", "Ready to start TLS"); err != nil {
				return
			}
			if !c.upgradeTLS() {
				return
			}
			c.helo, c.authd, c.from, c.rcpts = "", nil, nil, nil
		case "AUTH":
			werr = c.auth(arg)
		case "MAIL":
			werr = c.mail(arg)
		case "RCPT":
			werr = c.rcpt(arg)
		case "DATA":
			werr = c.data()
		case "RSET":
			c.from, c.rcpts = nil, nil
			werr = c.reply(250, "2.1.5", "Flushed "+c.id+" - gsmtp")
		case "NOOP":
			werr = c.reply(250, "2.0.0", c.gsmtp("OK"))
		case "VRFY":
			werr = c.reply(252, "2.1.5", "Send some mail, I'll try my best "+c.id+" - gsmtp")
		case "QUIT":
			_ = c.reply(221, "2.0.0", c.gsmtp("closing connection"))
			return
		default:
			werr = c.reply(502, "5.5.1", c.gsmtp("Unrecognized command."))
		}
		if werr != nil {
			return
		}
	}
}

func (c *smtpConn) hello(verb, arg string) error {
	if arg == "" {
		return c.reply(501, "5.5.4", c.gsmtp("Empty HELO/EHLO argument not allowed, closing connection."))
	}
	c.helo = arg
	c.from, c.rcpts = nil, nil
	host, _, _ := net.SplitHostPort(c.raw.RemoteAddr().String())
	if verb == "HELO" {
		return c.reply(250, "", fmt.Sprintf("%s at your service", smtpHost))
	}
	lines := []string{fmt.Sprintf("%s at your service, [%s]", smtpHost, host), fmt.Sprintf("SIZE %d", smtpMaxMessage), "8BITMIME"}
	if c.isTLS {
		lines = append(lines, "AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH")
	} else {
		lines = append(lines, "STARTTLS")
	}
	lines = append(lines, "ENHANCEDSTATUSCODES", "PIPELINING", "SMTPUTF8")
	return c.reply(250, "", strings.Join(lines, "\n"))
}

// readSASL sends a 334 challenge and reads the client's base64 response.
// ok is false when a reply has already been sent (cancel, bad base64).
func (c *smtpConn) readSASL(challenge []byte) (resp []byte, ok bool, err error) {
	if err := c.reply(334, "", base64.StdEncoding.EncodeToString(challenge)); err != nil {
		return nil, false, err
	}
	line, err := c.readLine(smtpSASLLineMax)
	if errors.Is(err, errLineTooLong) {
		return nil, false, c.reply(500, "5.5.6", c.gsmtp("Authentication Exchange line is too long"))
	}
	if err != nil {
		return nil, false, err
	}
	if line == "*" {
		return nil, false, c.reply(501, "5.7.0", c.gsmtp("Authentication aborted"))
	}
	b, derr := base64.StdEncoding.DecodeString(line)
	if derr != nil {
		return nil, false, c.reply(501, "5.5.2", c.gsmtp("Cannot Decode response"))
	}
	return b, true, nil
}

func (c *smtpConn) badCredentials() error {
	return c.reply(535, "5.7.8", c.gsmtp(core.SMTPBadCredentials))
}

func (c *smtpConn) auth(arg string) error {
	if !c.isTLS {
		return c.reply(530, "5.7.0", c.gsmtp("Must issue a STARTTLS command first."))
	}
	if c.helo == "" {
		return c.reply(503, "5.5.1", c.gsmtp("EHLO/HELO first."))
	}
	if c.authd != nil {
		return c.reply(503, "5.5.1", c.gsmtp("Already authenticated."))
	}
	if throttled, hangUp, err := c.throttleSMTP(); throttled {
		if err == nil && hangUp {
			err = errHangUp
		}
		return err
	}
	fields := strings.Fields(arg)
	if len(fields) == 0 || len(fields) > 2 {
		return c.reply(501, "5.5.2", c.gsmtp("Syntax error in parameters or arguments."))
	}
	mech := strings.ToUpper(fields[0])
	var ir []byte
	hasIR := len(fields) == 2
	if hasIR && fields[1] != "=" {
		var err error
		if ir, err = base64.StdEncoding.DecodeString(fields[1]); err != nil {
			return c.reply(501, "5.5.2", c.gsmtp("Cannot Decode response"))
		}
	}
	switch mech {
	case mailproto.XOAUTH2, mailproto.OAUTHBEARER, "XOAUTH":
		resp := ir
		if !hasIR {
			r, ok, err := c.readSASL(nil)
			if !ok {
				return err
			}
			resp = r
		}
		u, tok, ok := mailproto.ParseOAuthResponse(mech, resp)
		if ok {
			if usr, good := c.sb.checkToken(u, tok, smtpScopes); good {
				c.authd = usr
				c.sb.loginAccepted(mech)
				return c.reply(235, "2.7.0", "Accepted")
			}
		}
		if _, ok, err := c.readSASL(gmailChallenge()); !ok {
			return err
		}
		return c.badCredentials()
	case "PLAIN", "PLAIN-CLIENTTOKEN":
		if !hasIR {
			if _, ok, err := c.readSASL(nil); !ok {
				return err
			}
		}
		return c.badCredentials()
	case "LOGIN":
		if !hasIR {
			if _, ok, err := c.readSASL([]byte("Username:")); !ok {
				return err
			}
		}
		if _, ok, err := c.readSASL([]byte("Password:")); !ok {
			return err
		}
		return c.badCredentials()
	default:
		return c.reply(504, "5.7.4", c.gsmtp("Unrecognized authentication type."))
	}
}

// pathArg parses "FROM:<addr> params" / "TO:<addr> params".
func pathArg(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}

func (c *smtpConn) mail(arg string) error {
	if c.helo == "" {
		return c.reply(503, "5.5.1", c.gsmtp("EHLO/HELO first."))
	}
	if c.authd == nil {
		return c.reply(530, "5.7.0", c.gsmtp(core.SMTPAuthRequired))
	}
	if c.from != nil {
		return c.reply(503, "5.5.1", c.gsmtp("Nested MAIL command."))
	}
	from, ok := pathArg(arg, "FROM:")
	if !ok {
		return c.reply(555, "5.5.2", c.gsmtp("Syntax error."))
	}
	c.from = &from
	return c.reply(250, "2.1.0", c.gsmtp("OK"))
}

func (c *smtpConn) rcpt(arg string) error {
	if c.from == nil {
		return c.reply(503, "5.5.1", c.gsmtp("need MAIL before RCPT"))
	}
	to, ok := pathArg(arg, "TO:")
	if !ok || !strings.Contains(to, "@") {
		return c.reply(553, "5.1.3", c.gsmtp("The recipient address is not a valid RFC 5321 address."))
	}
	to = strings.ToLower(to)
	c.sb.mu.Lock()
	_, known := c.sb.users[to]
	c.sb.mu.Unlock()
	switch {
	case known: // any domain the sandbox hosts
		c.rcpts = append(c.rcpts, to)
	case c.sb.inDomain(to):
		return c.reply(550, "5.1.1", c.gsmtp(core.SMTPNoSuchUser))
	}
	// other addresses: accepted and discarded
	return c.reply(250, "2.1.5", c.gsmtp("OK"))
}

func (c *smtpConn) data() error {
	if c.from == nil {
		return c.reply(503, "5.5.1", c.gsmtp("MAIL first."))
	}
	if err := c.reply(354, "", c.gsmtp("Go ahead")); err != nil {
		return err
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(smtpCmdTimeout))
	dr := textproto.NewReader(c.br).DotReader()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(dr, smtpMaxMessage+1))
	if err != nil {
		return err
	}
	if n > smtpMaxMessage {
		_, _ = io.Copy(io.Discard, dr)
		c.from, c.rcpts = nil, nil
		return c.reply(552, "5.3.4", c.gsmtp("Your message exceeded Google's message size limits."))
	}
	now := c.sb.Now()
	msg := normalizeCRLF(buf.Bytes())
	received := fmt.Sprintf("Received: from %s by %s with ESMTPSA id %s\r\n        for <%s>; %s\r\n",
		c.helo, smtpHost, c.id, strings.Join(c.rcpts, ">, <"), now.Format(time.RFC1123Z))
	msg = append([]byte(received), msg...)
	for _, r := range c.rcpts {
		c.sb.deliver(r, msg, now)
	}
	c.from, c.rcpts = nil, nil
	return c.reply(250, "2.0.0", fmt.Sprintf("OK  %d %s - gsmtp", now.Unix(), c.id))
}

func normalizeCRLF(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

type literal struct{ *bytes.Reader }

func (l literal) Size() int64 { return l.Reader.Size() }

// deliver appends a message to a mailbox's INBOX.
func (s *Sandbox) deliver(email string, msg []byte, t time.Time) {
	s.mu.Lock()
	u := s.users[email]
	discard := s.faults.SMTPDiscard
	s.mu.Unlock()
	if u == nil || discard {
		return
	}
	if _, err := u.mem.Append("INBOX", literal{bytes.NewReader(msg)}, &imap.AppendOptions{Time: t}); err != nil {
		s.logf("sandbox smtp: delivering to %s: %v", email, err)
	}
}
