package proxy

import (
	"context"
	"encoding/base64"
	"os"
	"strings"
)

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \r\n") {
		return "localhost"
	}
	return h
}

func (s *session) smtpReply(code int, lines ...string) error {
	var b strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		b.WriteString(strings.Join([]string{itoa(code), sep, l, "\r\n"}, ""))
	}
	return s.write("%s", b.String())
}

func itoa(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

func (s *session) runSMTP(ctx context.Context, stop func() bool) {
	host := hostname()
	if s.smtpReply(220, host+" ESMTP mailoauth proxy ready") != nil {
		return
	}
	bad := 0
	for bad < maxBadCommands && s.refused < maxRefusedLogins {
		line, err := s.readLine()
		if err != nil {
			if err == errLineTooLong {
				_ = s.smtpReply(500, "5.5.2 Line too long, closing")
			}
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		arg = strings.TrimSpace(arg)
		var user, password string
		switch strings.ToUpper(verb) {
		case "EHLO":
			if arg == "" {
				bad++
				_ = s.smtpReply(501, "5.5.4 EHLO needs a domain or address")
				continue
			}
			s.helo = arg
			ext := append([]string{host + " at your service"}, s.srv.offeredSMTP(ctx)...)
			if !s.tls {
				ext = append(ext, "STARTTLS")
			}
			if s.canLogin() {
				ext = append(ext, "AUTH PLAIN LOGIN")
			}
			_ = s.smtpReply(250, ext...)
			continue
		case "HELO":
			s.helo = arg
			_ = s.smtpReply(250, host+" at your service")
			continue
		case "NOOP", "RSET":
			_ = s.smtpReply(250, "2.0.0 OK")
			continue
		case "QUIT":
			_ = s.smtpReply(221, "2.0.0 Bye")
			return
		case "STARTTLS":
			if s.tls {
				bad++
				_ = s.smtpReply(503, "5.5.1 TLS is already on")
				continue
			}
			if s.smtpReply(220, "2.0.0 Ready to start TLS") != nil || s.startTLS(ctx) != nil {
				return
			}
			s.helo = ""
			continue
		case "AUTH":
			if s.helo == "" {
				bad++
				_ = s.smtpReply(503, "5.5.1 EHLO first")
				continue
			}
			if !s.canLogin() {
				_ = s.smtpReply(530, "5.7.0 Must issue a STARTTLS command first")
				continue
			}
			var ok, cancelled bool
			user, password, ok, cancelled, err = s.smtpAuthExchange(arg)
			if err != nil {
				return
			}
			if cancelled {
				_ = s.smtpReply(501, "5.0.0 Authentication cancelled")
				continue
			}
			if !ok {
				bad++
				_ = s.smtpReply(504, "5.5.4 mailoauth proxy takes AUTH PLAIN or AUTH LOGIN with valid base64")
				continue
			}
		case "MAIL", "RCPT", "DATA", "BDAT", "VRFY", "EXPN":
			bad++
			_ = s.smtpReply(530, "5.7.0 Authentication required")
			continue
		default:
			bad++
			_ = s.smtpReply(502, "5.5.2 Command not recognized")
			continue
		}
		up, release, ref := s.login(ctx, user, password)
		if ref != nil {
			_ = s.write("%s\r\n", ref.reply(smtpRefused))
			continue
		}
		s.srv.learnSMTP(0, up.addr, up.ehlo)
		s.relayAfter(stop, up, release, func() error { return s.smtpReply(235, "2.7.0 Accepted") })
		return
	}
	_ = s.smtpReply(421, "4.7.0 mailoauth proxy: "+s.tooMany()+", closing")
	s.goodbye()
}

// refusedCommand logs a command the relay kept from the server
// (ehloFilter): a client trying to name another client's address to it.
func (s *session) refusedCommand(verb string) {
	s.srv.log.Warn("proxy: refused a command that would name another client's address to the mail server, it was not passed on",
		"protocol", s.proto, "mailbox", s.mailbox, "client", s.client, "command", verb)
}

// smtpRefused are the SMTP replies to a refusal.
var smtpRefused = refusalReplies{
	password:  "535 5.7.8 Username and Password not accepted",
	temporary: "454 4.7.0 ",
	permanent: "535 5.7.8 ",
}

// smtpAuthExchange reads the credentials of AUTH PLAIN or AUTH LOGIN
// (RFC 4954; LOGIN as the de-facto draft), initial response or 334 steps.
func (s *session) smtpAuthExchange(arg string) (user, password string, ok, cancelled bool, err error) {
	mech, ir, hasIR := strings.Cut(arg, " ")
	ir = strings.TrimSpace(ir)
	ask := func(prompt string) (string, error) {
		if err := s.smtpReply(334, prompt); err != nil {
			return "", err
		}
		return s.readLine()
	}
	mech = strings.ToUpper(mech)
	prompt, known := firstPrompt[mech]
	if !known {
		return "", "", false, false, nil
	}
	if !hasIR {
		if ir, err = ask(prompt); err != nil {
			return "", "", false, false, err
		}
	}
	if ir == "*" {
		return "", "", false, true, nil
	}
	if mech == "PLAIN" {
		if ir == "=" {
			ir = ""
		}
		user, password, ok = decodePlain(ir)
		return user, password, ok, false, nil
	}
	u, err1 := base64.StdEncoding.DecodeString(ir)
	p64, err := ask("UGFzc3dvcmQ6") // "Password:"
	if err != nil {
		return "", "", false, false, err
	}
	if p64 == "*" {
		return "", "", false, true, nil
	}
	p, err2 := base64.StdEncoding.DecodeString(p64)
	if err1 != nil || err2 != nil || len(u) == 0 {
		return "", "", false, false, nil
	}
	return string(u), string(p), true, false, nil
}

// firstPrompt is the 334 challenge each AUTH mechanism the proxy takes
// sends for its first response: none for PLAIN, "Username:" for LOGIN.
var firstPrompt = map[string]string{"PLAIN": "", "LOGIN": "VXNlcm5hbWU6"}
