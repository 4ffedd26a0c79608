package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/mailproto"
)

// upstreamLine bounds a line read from the real server during the login.
const upstreamLine = 64 * 1024

// upstream is a connection to the mailbox's real server, logged in.
type upstream struct {
	conn net.Conn
	br   *bufio.Reader
	// caps are the IMAP server's capabilities after the login.
	caps []string
	// addr is the server's address; ehlo the SMTP server's extensions
	// (its last EHLO reply's lines after the first).
	addr string
	ehlo []string
}

func (u *upstream) readLine() (string, error) {
	line, err := u.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errors.New("the server sent a line longer than 64 KB")
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

func (u *upstream) write(s string) error {
	_, err := io.WriteString(u.conn, s)
	return err
}

// errNoPOP3Server: the mailbox's endpoints name another IMAP server than
// Gmail's and no POP3 server (core.Endpoints.WithDefaults).
var errNoPOP3Server = errors.New("no POP3 server")

// dialUpstream connects to the account's IMAP, SMTP or POP3 server and logs in
// with the mailbox's token through core (cached, minted, refreshed, one
// retry with a fresh token, the diagnosis on failure).
func dialUpstream(ctx context.Context, acct Account, proto Protocol, helo string) (*upstream, error) {
	ep := acct.Upstream.ServerEndpoints()
	addr, sec := ep.IMAP, ep.IMAPSecurity
	switch proto {
	case SMTP:
		addr, sec = ep.SMTP, ep.SMTPSecurity
	case POP3:
		if ep.POP3 == "" {
			return nil, errNoPOP3Server
		}
		addr, sec = ep.POP3, core.SecurityTLS // Gmail's POP3 is implicit TLS only
	}
	var up *upstream
	check, protocol := checkOf(proto)
	err := acct.Upstream.AuthenticateUpstream(ctx, acct.Address, check, protocol, addr, func(ctx context.Context, sc *mailproto.OAuthClient) error {
		if up != nil {
			up.conn.Close()
			up = nil
		}
		u, err := connect(ctx, ep, addr, sec, proto, helo)
		if err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() { u.conn.Close() })
		switch proto {
		case SMTP:
			err = u.smtpAuth(sc)
		case POP3:
			err = u.pop3Auth(sc)
		default:
			err = u.imapAuth(sc)
		}
		if !stop() && err == nil {
			err = ctx.Err()
		}
		if err != nil {
			u.conn.Close()
			return err
		}
		up = u
		return nil
	})
	if err != nil {
		return nil, err
	}
	return up, nil
}

// connect dials addr (TLS verified as everywhere in core), reads the
// greeting and does STARTTLS when the endpoints ask for it.
func connect(ctx context.Context, ep core.Endpoints, addr string, sec core.Security, proto Protocol, helo string) (*upstream, error) {
	cfg, err := ep.TLSConfig(addr)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{KeepAlive: 30 * time.Second}
	var conn net.Conn
	if sec == core.SecurityStartTLS {
		conn, err = d.DialContext(ctx, "tcp", addr)
	} else {
		c := cfg.Clone()
		if proto == IMAP {
			c.NextProtos = []string{"imap"}
		}
		conn, err = dialTLS(ctx, d, addr, c)
	}
	if err != nil {
		return nil, err
	}
	u := &upstream{conn: conn, br: bufio.NewReaderSize(conn, upstreamLine), addr: addr}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	switch proto {
	case SMTP:
		err = u.smtpGreeting(ctx, sec, cfg, helo)
	case POP3:
		err = u.pop3Greeting()
	default:
		err = u.imapGreeting(ctx, sec, cfg)
	}
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return u, nil
}

// dialTLS is tls.Dialer's DialContext over a readyConn.
func dialTLS(ctx context.Context, d *net.Dialer, addr string, cfg *tls.Config) (net.Conn, error) {
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(&readyConn{Conn: raw}, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return tc, nil
}

func (u *upstream) handshake(ctx context.Context, cfg *tls.Config) error {
	if u.br.Buffered() > 0 {
		return errors.New("the server sent data after STARTTLS before the TLS handshake")
	}
	tc := tls.Client(&readyConn{Conn: u.conn}, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	u.conn, u.br = tc, bufio.NewReaderSize(tc, upstreamLine)
	return nil
}

func (u *upstream) imapGreeting(ctx context.Context, sec core.Security, cfg *tls.Config) error {
	line, err := u.readLine()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "* OK") {
		return fmt.Errorf("the server greeted with %q instead of * OK", truncate(line))
	}
	if sec != core.SecurityStartTLS {
		return nil
	}
	if err := u.write("P0 STARTTLS\r\n"); err != nil {
		return err
	}
	resp, err := u.imapTagged("P0", nil)
	if err != nil {
		return err
	}
	if resp != nil {
		return fmt.Errorf("the server refused STARTTLS: %s %s", resp.Type, resp.Text)
	}
	return u.handshake(ctx, cfg)
}

// imapTagged reads up to the tagged reply of tag: nil for OK, the
// *imap.Error for NO or BAD. Untagged lines go to untagged; a
// continuation request is an error (cont is nil) or handed to cont.
func (u *upstream) imapTagged(tag string, cont func(line string) error) (*imap.Error, error) {
	for {
		line, err := u.readLine()
		if err != nil {
			return nil, err
		}
		switch {
		case strings.HasPrefix(line, tag+" "):
			typ, code, text := parseStatus(line[len(tag)+1:])
			if typ == "OK" {
				if code == "CAPABILITY" || strings.HasPrefix(code, "CAPABILITY ") {
					u.caps = strings.Fields(code)[1:]
				}
				return nil, nil
			}
			return &imap.Error{Type: imap.StatusResponseType(typ), Code: imap.ResponseCode(firstWord(code)), Text: text}, nil
		case strings.HasPrefix(line, "+"):
			if cont == nil {
				return nil, fmt.Errorf("unexpected continuation from the server: %q", truncate(line))
			}
			if err := cont(strings.TrimSpace(strings.TrimPrefix(line, "+"))); err != nil {
				return nil, err
			}
		case strings.HasPrefix(line, "* CAPABILITY "):
			u.caps = strings.Fields(line)[2:]
		case strings.HasPrefix(line, "* BYE"):
			_, code, text := parseStatus(strings.TrimPrefix(line, "* "))
			return &imap.Error{Type: imap.StatusResponseTypeBye, Code: imap.ResponseCode(firstWord(code)), Text: text}, nil
		}
	}
}

// parseStatus splits "NO [CODE args] text" into its parts.
func parseStatus(s string) (typ, code, text string) {
	typ, rest, _ := strings.Cut(s, " ")
	typ = strings.ToUpper(typ)
	if strings.HasPrefix(rest, "[") {
		if i := strings.Index(rest, "]"); i > 0 {
			code, rest = rest[1:i], strings.TrimSpace(rest[i+1:])
		}
	}
	return typ, code, rest
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return strings.ToUpper(w)
}

// imapAuth runs AUTHENTICATE with the token sent after the continuation
// (no line length limit applies to it), and then asks for the
// capabilities if the server did not send them with its OK.
func (u *upstream) imapAuth(sc *mailproto.OAuthClient) error {
	mech, ir, _ := sc.Start()
	if err := u.write("P1 AUTHENTICATE " + mech + "\r\n"); err != nil {
		return err
	}
	sent := false
	resp, err := u.imapTagged("P1", func(ch string) error {
		if !sent {
			sent = true
			return u.write(base64.StdEncoding.EncodeToString(ir) + "\r\n")
		}
		// The server's error challenge: answer it so it sends its NO.
		raw, _ := base64.StdEncoding.DecodeString(ch)
		ans, _ := sc.Next(raw)
		return u.write(base64.StdEncoding.EncodeToString(ans) + "\r\n")
	})
	if err != nil {
		return err
	}
	if resp != nil {
		return resp
	}
	if len(u.caps) == 0 || hasCap(u.caps, "STARTTLS") {
		u.caps = nil
		if err := u.write("P2 CAPABILITY\r\n"); err != nil {
			return err
		}
		if resp, err := u.imapTagged("P2", nil); err != nil || resp != nil {
			if err == nil {
				err = resp
			}
			return err
		}
	}
	return nil
}

func hasCap(caps []string, c string) bool {
	for _, x := range caps {
		if strings.EqualFold(x, c) {
			return true
		}
	}
	return false
}

// smtpReply reads a (multi-line) SMTP reply.
func (u *upstream) smtpReply() (code int, lines []string, err error) {
	for {
		line, err := u.readLine()
		if err != nil {
			return 0, nil, err
		}
		if len(line) < 3 {
			return 0, nil, fmt.Errorf("the server sent %q, not an SMTP reply", truncate(line))
		}
		c, err := strconv.Atoi(line[:3])
		if err != nil || (code != 0 && c != code) {
			return 0, nil, fmt.Errorf("the server sent %q, not an SMTP reply", truncate(line))
		}
		code = c
		lines = append(lines, strings.TrimSpace(line[min(4, len(line)):]))
		if len(line) == 3 || line[3] != '-' {
			return code, lines, nil
		}
	}
}

// smtpError makes an SMTP reply into go-smtp's error, as core diagnoses it.
func smtpError(code int, lines []string) *smtp.SMTPError {
	msg := strings.Join(lines, "\n")
	ec := smtp.NoEnhancedCode
	if f := strings.Fields(msg); len(f) > 0 {
		var a, b, c int
		if n, _ := fmt.Sscanf(f[0], "%d.%d.%d", &a, &b, &c); n == 3 {
			ec = smtp.EnhancedCode{a, b, c}
			msg = strings.TrimSpace(strings.TrimPrefix(msg, f[0]))
		}
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: msg}
}

func (u *upstream) smtpCommand(cmd string) (int, []string, error) {
	if err := u.write(cmd + "\r\n"); err != nil {
		return 0, nil, err
	}
	return u.smtpReply()
}

func (u *upstream) smtpGreeting(ctx context.Context, sec core.Security, cfg *tls.Config, helo string) error {
	code, lines, err := u.smtpReply()
	if err != nil {
		return err
	}
	if code != 220 {
		return smtpError(code, lines)
	}
	if code, lines, err = u.smtpCommand("EHLO " + helo); err != nil || code != 250 {
		if err == nil {
			err = smtpError(code, lines)
		}
		return err
	}
	u.ehlo = lines[1:]
	if sec != core.SecurityStartTLS {
		return nil
	}
	if code, lines, err = u.smtpCommand("STARTTLS"); err != nil || code != 220 {
		if err == nil {
			err = smtpError(code, lines)
		}
		return err
	}
	if err := u.handshake(ctx, cfg); err != nil {
		return err
	}
	if code, lines, err = u.smtpCommand("EHLO " + helo); err != nil || code != 250 {
		if err == nil {
			err = smtpError(code, lines)
		}
		return err
	}
	u.ehlo = lines[1:]
	return nil
}

// smtpAuth runs AUTH; a token too long for the command line goes after the
// empty 334 challenge (RFC 4954 section 4), as core's checks send it.
func (u *upstream) smtpAuth(sc *mailproto.OAuthClient) error {
	mech, ir, _ := sc.Start()
	cmd := "AUTH " + mech + " " + base64.StdEncoding.EncodeToString(ir)
	pending := []byte(nil)
	if mailproto.SMTPAuthLineTooLong(mech, ir) {
		cmd, pending = "AUTH "+mech, ir
	}
	code, lines, err := u.smtpCommand(cmd)
	for err == nil && code == 334 {
		ch, _ := base64.StdEncoding.DecodeString(strings.Join(lines, ""))
		var ans []byte
		if pending != nil && len(ch) == 0 {
			ans, pending = pending, nil
		} else {
			ans, _ = sc.Next(ch)
		}
		code, lines, err = u.smtpCommand(base64.StdEncoding.EncodeToString(ans))
	}
	if err != nil {
		return err
	}
	if code != 235 {
		return smtpError(code, lines)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
