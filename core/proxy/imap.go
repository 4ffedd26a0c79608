package proxy

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"strings"
)

// maxBadCommands closes a connection that keeps sending nonsense.
const maxBadCommands = 20

// maxRefusedLogins closes a connection after that many refused logins: a
// product with a wrong password does not get it right by retrying, and
// each refusal costs a hash, an audit entry and a log line.
const maxRefusedLogins = 3

// imapCaps are the capabilities before the login.
func (s *session) imapCaps() string {
	caps := []string{"IMAP4rev1", "SASL-IR", "ID"}
	if !s.tls {
		caps = append(caps, "STARTTLS")
	}
	if s.canLogin() {
		caps = append(caps, "AUTH=PLAIN")
	} else {
		caps = append(caps, "LOGINDISABLED")
	}
	return strings.Join(caps, " ")
}

func (s *session) runIMAP(ctx context.Context, stop func() bool) {
	if s.write("* OK [CAPABILITY %s] mailoauth proxy ready\r\n", s.imapCaps()) != nil {
		return
	}
	bad := 0
	for bad < maxBadCommands && s.refused < maxRefusedLogins {
		tag, cmd, args, err := s.readIMAPCommand()
		if err != nil {
			if errors.Is(err, errLineTooLong) || errors.Is(err, errBadSyntax) {
				_ = s.write("* BYE mailoauth proxy: %v\r\n", err)
			}
			return
		}
		var user, password string
		switch cmd {
		case "":
			bad++
			_ = s.write("%s BAD missing command\r\n", tag)
			continue
		case "CAPABILITY":
			_ = s.write("* CAPABILITY %s\r\n%s OK CAPABILITY completed\r\n", s.imapCaps(), tag)
			continue
		case "NOOP":
			_ = s.write("%s OK NOOP completed\r\n", tag)
			continue
		case "ID":
			_ = s.write("* ID (\"name\" \"mailoauth proxy\")\r\n%s OK ID completed\r\n", tag)
			continue
		case "LOGOUT":
			_ = s.write("* BYE mailoauth proxy logging out\r\n%s OK LOGOUT completed\r\n", tag)
			return
		case "STARTTLS":
			if s.tls {
				bad++
				_ = s.write("%s BAD TLS is already on\r\n", tag)
				continue
			}
			if s.write("%s OK Begin TLS negotiation now\r\n", tag) != nil || s.startTLS(ctx) != nil {
				return
			}
			continue
		case "LOGIN":
			if len(args) != 2 {
				bad++
				_ = s.write("%s BAD LOGIN takes a user name and a password\r\n", tag)
				continue
			}
			user, password = args[0], args[1]
		case "AUTHENTICATE":
			if len(args) < 1 || len(args) > 2 {
				bad++
				_ = s.write("%s BAD AUTHENTICATE takes a mechanism and an optional initial response\r\n", tag)
				continue
			}
			if !strings.EqualFold(args[0], "PLAIN") {
				_ = s.write("%s NO [CANNOT] mailoauth proxy takes only AUTHENTICATE PLAIN or LOGIN\r\n", tag)
				continue
			}
			if !s.canLogin() {
				_ = s.write("%s NO [PRIVACYREQUIRED] use STARTTLS before logging in\r\n", tag)
				continue
			}
			resp := ""
			if len(args) == 2 {
				resp = args[1]
			} else {
				if s.write("+ \r\n") != nil {
					return
				}
				if resp, err = s.readLine(); err != nil {
					return
				}
			}
			var ok bool
			if user, password, ok = decodePlain(resp); !ok {
				bad++
				_ = s.write("%s BAD the PLAIN response is not valid (or cancelled)\r\n", tag)
				continue
			}
		default:
			bad++
			_ = s.write("%s BAD mailoauth proxy: log in first (LOGIN or AUTHENTICATE PLAIN)\r\n", tag)
			continue
		}
		if !s.canLogin() {
			_ = s.write("%s NO [PRIVACYREQUIRED] use STARTTLS before logging in\r\n", tag)
			continue
		}
		up, release, ref := s.login(ctx, user, password)
		if ref != nil {
			_ = s.write("%s %s\r\n", tag, ref.reply(imapRefused))
			continue
		}
		s.relayAfter(stop, up, release, func() error {
			return s.write("%s OK [CAPABILITY %s] mailoauth proxy: logged in\r\n", tag, strings.Join(postAuthCaps(up.caps), " "))
		})
		return
	}
	_ = s.write("* BYE mailoauth proxy: %s\r\n", s.tooMany())
	s.goodbye()
}

// imapRefused are the IMAP replies to a refusal (after the tag).
var imapRefused = refusalReplies{
	password:  "NO [AUTHENTICATIONFAILED] Invalid credentials",
	limit:     "NO [LIMIT] ",
	temporary: "NO [UNAVAILABLE] ",
	permanent: "NO [AUTHENTICATIONFAILED] ",
}

// postAuthCaps are the server's capabilities without those of the login
// (which is over) and STARTTLS.
func postAuthCaps(caps []string) []string {
	var out []string
	for _, c := range caps {
		u := strings.ToUpper(c)
		if strings.HasPrefix(u, "AUTH=") || u == "LOGINDISABLED" || u == "STARTTLS" || u == "SASL-IR" {
			continue
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		out = []string{"IMAP4rev1"}
	}
	return out
}

// decodePlain decodes a SASL PLAIN response: [authzid] NUL authcid NUL
// password. An authzid other than the user is refused (no proxying as
// someone else).
func decodePlain(b64 string) (user, password string, ok bool) {
	if b64 == "*" {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return "", "", false
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 || parts[1] == "" || (parts[0] != "" && !strings.EqualFold(parts[0], parts[1])) {
		return "", "", false
	}
	return parts[1], parts[2], true
}

var errBadSyntax = errors.New("command syntax error")

// readIMAPCommand reads one command: its tag, its name (upper case) and
// its arguments, atoms, quoted strings and literals ({n} and {n+}, small
// ones only) decoded. The whole command is bounded by maxLine. A line with
// a tag alone comes back with an empty name, a bad command for the caller.
func (s *session) readIMAPCommand() (tag, cmd string, args []string, err error) {
	var toks []string
	total := 0
	for {
		line, err := s.readLine()
		if err != nil {
			return "", "", nil, err
		}
		total += len(line)
		if total > maxLine {
			return "", "", nil, errLineTooLong
		}
		lit, litSync, err := tokenize(line, &toks)
		if err != nil {
			return "", "", nil, err
		}
		if lit < 0 {
			break
		}
		if total += lit; total > maxLine {
			return "", "", nil, errLineTooLong
		}
		if litSync {
			if err := s.write("+ Ready for literal data\r\n"); err != nil {
				return "", "", nil, err
			}
		}
		buf := make([]byte, lit)
		if _, err := io.ReadFull(s.br, buf); err != nil {
			return "", "", nil, err
		}
		toks = append(toks, string(buf))
	}
	switch len(toks) {
	case 0:
		return "", "", nil, errBadSyntax
	case 1:
		return toks[0], "", nil, nil
	}
	return toks[0], strings.ToUpper(toks[1]), toks[2:], nil
}

// tokenize appends the line's atoms and quoted strings to toks; a literal
// announced at its end is returned as its length (else -1).
func tokenize(line string, toks *[]string) (lit int, sync bool, err error) {
	i := 0
	for i < len(line) {
		switch c := line[i]; {
		case c == ' ':
			i++
		case c == '"':
			var b strings.Builder
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) {
					i++
				}
				b.WriteByte(line[i])
			}
			if i >= len(line) {
				return -1, false, errBadSyntax
			}
			i++
			*toks = append(*toks, b.String())
		case c == '{' && strings.HasSuffix(line, "}"):
			spec := strings.TrimSuffix(line[i+1:], "}")
			plus := strings.HasSuffix(spec, "+")
			n, err := strconv.Atoi(strings.TrimSuffix(spec, "+"))
			if err != nil || n < 0 {
				return -1, false, errBadSyntax
			}
			return n, !plus, nil
		default:
			j := strings.IndexByte(line[i:], ' ')
			if j < 0 {
				j = len(line) - i
			}
			*toks = append(*toks, line[i:i+j])
			i += j
		}
	}
	return -1, false, nil
}
