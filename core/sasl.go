package core

import (
	"encoding/base64"
	"encoding/json"
	"sync"

	"github.com/emersion/go-sasl"
)

// SASL mechanism names.
const (
	MechXOAUTH2     = "XOAUTH2"
	MechOAUTHBEARER = "OAUTHBEARER"
)

// OAuthSASLClient is an XOAUTH2 or OAUTHBEARER client (go-sasl's Client
// interface, usable by imapclient.Authenticate and go-smtp's Client.Auth).
// When the server refuses the token it sends a JSON challenge (Gmail:
// {"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"});
// the client answers it as the mechanism requires (empty for XOAUTH2, %x01
// for OAUTHBEARER) so the server sends its final error, and keeps the
// challenge for the diagnosis.
type OAuthSASLClient struct {
	mech, user, token string

	mu        sync.Mutex
	challenge []byte
}

// NewXOAUTH2Client returns a SASL XOAUTH2 client (Google's mechanism).
func NewXOAUTH2Client(user, token string) sasl.Client {
	return &OAuthSASLClient{mech: MechXOAUTH2, user: user, token: token}
}

// NewOAUTHBEARERClient returns a SASL OAUTHBEARER client (RFC 7628).
func NewOAUTHBEARERClient(user, token string) sasl.Client {
	return &OAuthSASLClient{mech: MechOAUTHBEARER, user: user, token: token}
}

// NewOAuthSASLClient returns the client for mech ("XOAUTH2", the default,
// or "OAUTHBEARER").
func NewOAuthSASLClient(mech, user, token string) *OAuthSASLClient {
	if mech == MechOAUTHBEARER {
		return NewOAUTHBEARERClient(user, token).(*OAuthSASLClient)
	}
	return NewXOAUTH2Client(user, token).(*OAuthSASLClient)
}

// Mechanism is the SASL mechanism name.
func (c *OAuthSASLClient) Mechanism() string { return c.mech }

// Start implements sasl.Client.
func (c *OAuthSASLClient) Start() (string, []byte, error) {
	return c.mech, c.initialResponse(), nil
}

func (c *OAuthSASLClient) initialResponse() []byte {
	if c.mech == MechOAUTHBEARER {
		return []byte("n,a=" + c.user + ",\x01auth=Bearer " + c.token + "\x01\x01")
	}
	return []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01")
}

// Next implements sasl.Client: any challenge after the initial response is
// the server's error report.
func (c *OAuthSASLClient) Next(challenge []byte) ([]byte, error) {
	c.mu.Lock()
	c.challenge = append([]byte{}, challenge...)
	c.mu.Unlock()
	if c.mech == MechOAUTHBEARER {
		return []byte{0x01}, nil
	}
	return []byte{}, nil
}

// LastChallenge is the (decoded) error challenge the server sent, if any.
func (c *OAuthSASLClient) LastChallenge() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.challenge
}

// ErrorChallenge parses the last challenge as Gmail's JSON error, if it is one.
func (c *OAuthSASLClient) ErrorChallenge() *SASLErrorChallenge {
	return ParseSASLChallenge(c.LastChallenge())
}

// ParseSASLChallenge parses Gmail's JSON error challenge; nil if it is not one.
func ParseSASLChallenge(b []byte) *SASLErrorChallenge {
	if len(b) == 0 {
		return nil
	}
	var ch SASLErrorChallenge
	if err := json.Unmarshal(b, &ch); err != nil || (ch.Status == "" && ch.Scope == "" && ch.Schemes == "") {
		return nil
	}
	return &ch
}

// SMTPAuthLineTooLong reports whether "AUTH <mech> <base64 ir>\r\n" exceeds
// the SMTP command line limit Gmail enforces (SMTPMaxCommandLine).
func SMTPAuthLineTooLong(mech string, ir []byte) bool {
	return len("AUTH ")+len(mech)+1+base64.StdEncoding.EncodedLen(len(ir))+2 > SMTPMaxCommandLine
}

// SMTPSASLClient wraps a SASL client for go-smtp, whose Client.Auth always
// puts the initial response on the AUTH line: when that line would be too
// long, it starts without one and sends it as the answer to the server's
// empty 334 challenge (RFC 4954 section 4).
func SMTPSASLClient(c sasl.Client) sasl.Client { return &smtpSASL{inner: c} }

type smtpSASL struct {
	inner   sasl.Client
	pending []byte
}

func (s *smtpSASL) Start() (string, []byte, error) {
	mech, ir, err := s.inner.Start()
	if err != nil || ir == nil || !SMTPAuthLineTooLong(mech, ir) {
		return mech, ir, err
	}
	s.pending = ir
	return mech, nil, nil
}

func (s *smtpSASL) Next(challenge []byte) ([]byte, error) {
	if s.pending != nil && len(challenge) == 0 {
		ir := s.pending
		s.pending = nil
		return ir, nil
	}
	return s.inner.Next(challenge)
}

// LastChallenge passes through the wrapped client's last challenge.
func (s *smtpSASL) LastChallenge() []byte {
	if lc, ok := s.inner.(interface{ LastChallenge() []byte }); ok {
		return lc.LastChallenge()
	}
	return nil
}
