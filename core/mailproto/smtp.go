package mailproto

import (
	"encoding/base64"

	"github.com/emersion/go-sasl"
)

// SMTPMaxCommandLine is the longest SMTP command line, CRLF included, a
// server must take (RFC 5321 section 4.5.3.1.4); Gmail refuses a longer
// one with 555 5.5.2, an AUTH line with a long token included.
const SMTPMaxCommandLine = 512

// SMTPAuthLineTooLong reports whether "AUTH <mech> <base64 ir>\r\n" exceeds
// SMTPMaxCommandLine, so the initial response must go on a line of its own.
func SMTPAuthLineTooLong(mech string, ir []byte) bool {
	return len("AUTH ")+len(mech)+1+base64.StdEncoding.EncodedLen(len(ir))+2 > SMTPMaxCommandLine
}

// SMTPAuthClient wraps a SASL client for go-smtp, whose Client.Auth always
// puts the initial response on the AUTH line: when that line would be too
// long, it starts without one and sends it as the answer to the server's
// empty 334 challenge (RFC 4954 section 4).
func SMTPAuthClient(c sasl.Client) sasl.Client { return &smtpAuth{inner: c} }

type smtpAuth struct {
	inner   sasl.Client
	pending []byte
}

func (s *smtpAuth) Start() (string, []byte, error) {
	mech, ir, err := s.inner.Start()
	if err != nil || ir == nil || !SMTPAuthLineTooLong(mech, ir) {
		return mech, ir, err
	}
	s.pending = ir
	return mech, nil, nil
}

func (s *smtpAuth) Next(challenge []byte) ([]byte, error) {
	if s.pending != nil && len(challenge) == 0 {
		ir := s.pending
		s.pending = nil
		return ir, nil
	}
	return s.inner.Next(challenge)
}
