package proxy

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/mailproto"
)

// pop3Caps are the capabilities before the login (RFC 2449); after it the
// client talks to the real server, whose CAPA it then gets.
func (s *session) pop3Caps() string {
	caps := []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE"}
	if !s.tls {
		caps = append(caps, "STLS")
	}
	if s.canLogin() {
		caps = append(caps, "USER", "SASL PLAIN")
	}
	return strings.Join(caps, "\r\n") + "\r\n"
}

// pop3Refused are the POP3 replies to a refusal (RFC 2449 and 3206
// response codes). A mailbox without a POP3 server is [SYS/PERM], not
// [AUTH]: the client's credentials are right (a client takes [AUTH] as
// wrong ones and asks for another password), and only the administrator
// can remedy it.
var pop3Refused = refusalReplies{
	password:  "-ERR [AUTH] Invalid credentials",
	limit:     "-ERR [IN-USE] ",
	temporary: "-ERR [SYS/TEMP] ",
	permanent: "-ERR [AUTH] ",
	config:    "-ERR [SYS/PERM] ",
}

// runPOP3 is the POP3 dialogue up to the login: USER and PASS, or AUTH
// PLAIN (RFC 5034), STLS (RFC 2595) on a plain listener.
func (s *session) runPOP3(ctx context.Context, stop func() bool) {
	if s.write("+OK mailoauth proxy ready\r\n") != nil {
		return
	}
	bad, user := 0, ""
	for bad < maxBadCommands && s.refused < maxRefusedLogins {
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				_ = s.write("-ERR mailoauth proxy: line too long\r\n")
			}
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		var password string
		switch strings.ToUpper(verb) {
		case "CAPA":
			_ = s.write("+OK Capability list follows\r\n%s.\r\n", s.pop3Caps())
			continue
		case "QUIT":
			_ = s.write("+OK mailoauth proxy signing off\r\n")
			return
		case "STLS":
			if s.tls {
				bad++
				_ = s.write("-ERR TLS is already on\r\n")
				continue
			}
			if s.write("+OK Begin TLS negotiation now\r\n") != nil || s.startTLS(ctx) != nil {
				return
			}
			user = ""
			continue
		case "USER":
			switch {
			case !s.canLogin():
				_ = s.write("-ERR use STLS before logging in\r\n")
			case strings.TrimSpace(arg) == "":
				bad++
				_ = s.write("-ERR USER takes the mailbox address\r\n")
			default:
				user = strings.TrimSpace(arg)
				_ = s.write("+OK send PASS\r\n")
			}
			continue
		case "PASS":
			if user == "" {
				bad++
				_ = s.write("-ERR USER first\r\n")
				continue
			}
			password = arg // RFC 1939: the password may hold spaces
		case "AUTH":
			var ok bool
			if user, password, ok, err = s.pop3Plain(arg); err != nil {
				return
			}
			if !ok {
				bad++
				continue
			}
		default:
			bad++
			_ = s.write("-ERR mailoauth proxy: log in first (USER and PASS, or AUTH PLAIN)\r\n")
			continue
		}
		// after a refused PASS the client starts again with USER (RFC 1939)
		name := user
		user = ""
		up, release, ref := s.login(ctx, name, password)
		if ref != nil {
			_ = s.write("%s\r\n", ref.reply(pop3Refused))
			continue
		}
		s.relayAfter(stop, up, release, func() error { return s.write("+OK mailoauth proxy: logged in\r\n") })
		return
	}
	_ = s.write("-ERR mailoauth proxy: %s\r\n", s.tooMany())
	s.goodbye()
}

// pop3Plain reads AUTH PLAIN's credentials, initial response or after the
// empty challenge; ok false: the client was told why not.
func (s *session) pop3Plain(arg string) (user, password string, ok bool, err error) {
	mech, ir, hasIR := strings.Cut(strings.TrimSpace(arg), " ")
	switch {
	case mech == "" && s.canLogin():
		return "", "", false, s.write("+OK\r\nPLAIN\r\n.\r\n")
	case !strings.EqualFold(mech, "PLAIN"):
		return "", "", false, s.write("-ERR mailoauth proxy takes AUTH PLAIN, or USER and PASS\r\n")
	case !s.canLogin():
		return "", "", false, s.write("-ERR use STLS before logging in\r\n")
	}
	if !hasIR {
		if err := s.write("+ \r\n"); err != nil {
			return "", "", false, err
		}
		if ir, err = s.readLine(); err != nil {
			return "", "", false, err
		}
	}
	if user, password, ok = decodePlain(strings.TrimSpace(ir)); !ok {
		return "", "", false, s.write("-ERR the PLAIN response is not valid (or cancelled)\r\n")
	}
	return user, password, true, nil
}

func (u *upstream) pop3Greeting() error {
	line, err := u.readLine()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+OK") {
		return fmt.Errorf("the server greeted with %q instead of +OK", truncate(line))
	}
	return nil
}

// pop3Auth runs AUTH with the token sent after the empty challenge: with
// it the command would pass the 255 octets RFC 2449 allows a POP3 command.
// A refused token's error challenge is answered, so that the server sends
// its -ERR.
func (u *upstream) pop3Auth(sc *mailproto.OAuthClient) error {
	mech, ir, _ := sc.Start()
	if err := u.write("AUTH " + mech + "\r\n"); err != nil {
		return err
	}
	sent := false
	for {
		line, err := u.readLine()
		if err != nil {
			return err
		}
		var ans []byte
		switch {
		case strings.HasPrefix(line, "+OK"):
			return nil
		case strings.HasPrefix(line, "-ERR"):
			return pop3Error(line)
		case !strings.HasPrefix(line, "+"):
			return fmt.Errorf("the server sent %q, not a POP3 reply", truncate(line))
		case !sent:
			sent, ans = true, ir
		default:
			ch, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(line[1:]))
			ans, _ = sc.Next(ch)
		}
		if err := u.write(base64.StdEncoding.EncodeToString(ans) + "\r\n"); err != nil {
			return err
		}
	}
}

// pop3Codes are the IMAP response codes of POP3's (RFC 2449, 3206).
var pop3Codes = map[string]imap.ResponseCode{
	"AUTH":        imap.ResponseCodeAuthenticationFailed,
	"SYS/TEMP":    imap.ResponseCodeUnavailable,
	"LOGIN-DELAY": imap.ResponseCodeUnavailable,
	"IN-USE":      imap.ResponseCodeInUse,
}

// pop3Error makes a POP3 refusal into the IMAP refusal core diagnoses:
// POP3 logs in with the same token and scope as IMAP (checkOf), so "-ERR
// [AUTH] Invalid credentials." is diagnosed as Gmail IMAP's
// "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)" is. The
// findings quote the line itself.
func pop3Error(line string) error {
	_, code, text := parseStatus("NO" + strings.TrimPrefix(line, "-ERR"))
	return &core.TranslatedError{Reply: line,
		Err: &imap.Error{Type: imap.StatusResponseTypeNo, Code: pop3Codes[strings.ToUpper(code)], Text: text}}
}
