package core

import (
	"net"
	"strconv"
	"strings"
)

// HostServer is one mail server as a host product's settings page asks for
// it (Webex Connect, Creatio, CIC): host, port and security.
type HostServer struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	// Security is named as the products' drop-downs name it: "SSL/TLS" or
	// "STARTTLS".
	Security string `json:"security"`
	// Alternative is another port the product may use instead, or "".
	Alternative string `json:"-"`
}

// String is the server as one line of a settings screen.
func (s HostServer) String() string {
	out := net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) + " " + s.Security
	if s.Alternative != "" {
		out += ", " + s.Alternative
	}
	return out
}

// HostConfig is what the administrator enters in the host product, the
// same for the wizard's summary and `mailoauth export`.
type HostConfig struct {
	IMAP, SMTP HostServer
	// Auth is the authentication type, as the products word it.
	Auth string
	// Mechanism is the SASL mechanism name for a product that asks for it.
	Mechanism string
	// Username is the login format.
	Username string
	TokenURL string
	Scopes   []string
	// The OAuth client path only ("" for a service account): the
	// callback (redirect) URL and the authorization URL.
	CallbackURL string
	AuthURL     string
}

// The host settings' labels, one wording for every screen and export
// (HostUsernameText also for mailoauth proxy's settings).
const (
	hostAuthText     = "OAuth 2.0 (SASL XOAUTH2)"
	HostUsernameText = "the mailbox address"
)

// HostSettings returns the host product's settings for a profile; c may be
// nil (no credential loaded yet), which leaves the OAuth client fields empty.
func HostSettings(p *Profile, c *Credential) HostConfig {
	ep := p.Endpoints.WithDefaults()
	h := HostConfig{
		IMAP: hostServer(ep.IMAP, ep.IMAPSecurity), SMTP: hostServer(ep.SMTP, ep.SMTPSecurity),
		Auth: hostAuthText, Mechanism: "XOAUTH2", Username: HostUsernameText,
		TokenURL: ep.TokenURL, Scopes: p.ScopeList(),
	}
	if ep.SMTP == gmailSMTP {
		// Gmail takes submission on 587 too, which some products require
		h.SMTP.Alternative = "or port 587 STARTTLS"
	}
	if c != nil && c.Kind == KindOAuthClient {
		h.CallbackURL = callbackURL(p, c)
		h.AuthURL = ep.AuthURL
	}
	return h
}

func hostServer(hostport string, sec Security) HostServer {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.TrimSpace(hostport)
	}
	n, _ := strconv.Atoi(port)
	s := "SSL/TLS"
	if sec == SecurityStartTLS {
		s = "STARTTLS"
	}
	return HostServer{Host: host, Port: n, Security: s}
}
