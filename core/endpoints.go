package core

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Security is how a mail connection is protected.
type Security string

const (
	// SecurityTLS is implicit TLS from the first byte (IMAP 993, SMTP 465).
	SecurityTLS Security = "tls"
	// SecurityStartTLS upgrades a plain connection with STARTTLS (SMTP 587).
	SecurityStartTLS Security = "starttls"
)

// Endpoints are the servers a profile talks to. The zero value of a field
// means Gmail's default; GmailEndpoints fills them in.
type Endpoints struct {
	IMAP         string   `json:"imap,omitempty"`
	IMAPSecurity Security `json:"imap_security,omitempty"`
	SMTP         string   `json:"smtp,omitempty"`
	SMTPSecurity Security `json:"smtp_security,omitempty"`
	// POP3 is the POP3 server (implicit TLS, like Gmail's 995); only
	// mailoauth proxy's --pop3 listener uses it. Optional: endpoints of
	// another IMAP server without it have no POP3 server.
	POP3         string `json:"pop3,omitempty"`
	TokenURL     string `json:"token_url,omitempty"`
	AuthURL      string `json:"auth_url,omitempty"`
	TokeninfoURL string `json:"tokeninfo_url,omitempty"`
	// AdminURL is the sandbox's stand-in for the Admin console; empty for Google.
	AdminURL string `json:"admin_url,omitempty"`
	// CAFile is the only way to trust a certificate outside the system roots.
	CAFile string `json:"ca_file,omitempty"`
}

// Gmail's public endpoints, the defaults for every missing field.
const (
	gmailIMAP         = "imap.gmail.com:993"
	gmailSMTP         = "smtp.gmail.com:465"
	gmailPOP3         = "pop.gmail.com:995"
	GoogleTokenURL    = "https://oauth2.googleapis.com/token"
	googleAuthURL     = "https://accounts.google.com/o/oauth2/auth"
	googleTokeninfo   = "https://oauth2.googleapis.com/tokeninfo"
	ScopeMail         = "https://mail.google.com/"
	ScopeCalendar     = "https://www.googleapis.com/auth/calendar"
	ScopeContacts     = "https://www.googleapis.com/auth/contacts"
	ScopeGmailSend    = "https://www.googleapis.com/auth/gmail.send"
	ScopeGmailModify  = "https://www.googleapis.com/auth/gmail.modify"
	defaultNetTimeout = 15 * time.Second
)

// GmailEndpoints returns Google's production endpoints.
func GmailEndpoints() Endpoints {
	return Endpoints{}.WithDefaults()
}

// WithDefaults fills every empty field with Gmail's value.
func (e Endpoints) WithDefaults() Endpoints {
	// the submission port without a security named speaks STARTTLS
	if e.SMTPSecurity == "" {
		if _, port, err := net.SplitHostPort(e.SMTP); err == nil && port == "587" {
			e.SMTPSecurity = SecurityStartTLS
		}
	}
	// Gmail's POP3 server only beside Gmail's IMAP server: another
	// server's endpoints without pop3 have none, rather than sending its
	// tokens to Google.
	if e.POP3 == "" && (e.IMAP == "" || e.IMAP == gmailIMAP) {
		e.POP3 = gmailPOP3
	}
	e.IMAP = cmp.Or(e.IMAP, gmailIMAP)
	e.IMAPSecurity = cmp.Or(e.IMAPSecurity, SecurityTLS)
	e.SMTP = cmp.Or(e.SMTP, gmailSMTP)
	e.SMTPSecurity = cmp.Or(e.SMTPSecurity, SecurityTLS)
	e.TokenURL = cmp.Or(e.TokenURL, GoogleTokenURL)
	e.AuthURL = cmp.Or(e.AuthURL, googleAuthURL)
	e.TokeninfoURL = cmp.Or(e.TokeninfoURL, googleTokeninfo)
	return e
}

// LoadEndpoints reads an endpoints.json file. Unknown keys are an error, so a
// typo never silently falls back to Gmail.
func LoadEndpoints(ctx context.Context, path string) (Endpoints, error) {
	data, err := ReadUserFile(ctx, path, endpointsFile)
	if err != nil {
		return Endpoints{}, err
	}
	return parseEndpoints(data, path)
}

// parseEndpoints parses the JSON of an endpoints file; name is used in errors.
func parseEndpoints(data []byte, name string) (Endpoints, error) {
	var e Endpoints
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Endpoints{}, &InputError{Msg: fmt.Sprintf("endpoints file %s is not valid: %s; allowed keys are imap, imap_security, smtp, smtp_security, pop3, token_url, auth_url, tokeninfo_url, admin_url, ca_file", name, jsonProblem(err))}
	}
	for _, s := range []struct {
		key string
		v   Security
	}{{"imap_security", e.IMAPSecurity}, {"smtp_security", e.SMTPSecurity}} {
		if s.v != "" && s.v != SecurityTLS && s.v != SecurityStartTLS {
			return Endpoints{}, &InputError{Msg: fmt.Sprintf("endpoints file %s: %s is %q; use \"tls\" or \"starttls\"", name, s.key, s.v)}
		}
	}
	for _, hp := range []struct{ key, v string }{{"imap", e.IMAP}, {"smtp", e.SMTP}, {"pop3", e.POP3}} {
		if hp.v == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(hp.v); err != nil {
			return Endpoints{}, &InputError{Msg: fmt.Sprintf("endpoints file %s: %s is %q; write it as host:port, e.g. imap.gmail.com:993", name, hp.key, hp.v)}
		}
	}
	for _, u := range []struct{ key, v string }{{"token_url", e.TokenURL}, {"auth_url", e.AuthURL}, {"tokeninfo_url", e.TokeninfoURL}, {"admin_url", e.AdminURL}} {
		if u.v == "" {
			continue
		}
		if err := checkSecureURL(u.v); err != nil {
			return Endpoints{}, &InputError{Msg: fmt.Sprintf("endpoints file %s: %s %v", name, u.key, err)}
		}
	}
	return e.WithDefaults(), nil
}

// checkSecureURL refuses a URL that would carry a signed assertion, a
// secret or a token in clear text: https, or http only to this machine
// (the sandbox, a local test server).
func checkSecureURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q is not an http(s) URL; write it as https://host/path", raw)
	}
	if u.Scheme == "http" {
		h := u.Hostname()
		if ip := net.ParseIP(h); h != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%q is plain http to another machine, which would send tokens and secrets in clear text; use https:// (plain http is only for 127.0.0.1, ::1 or localhost)", raw)
		}
	}
	return nil
}

// TLSConfig returns the TLS settings for a server of these endpoints: the
// system roots, or only the CA file when one is set. Verification is never
// switched off.
func (e Endpoints) TLSConfig(hostport string) (*tls.Config, error) {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	// One look at the CA file per connection: its version keys both the
	// parsed pool and the session cache.
	version, versionErr := e.caVersion()
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, ClientSessionCache: e.sessionCache(version, hostport)}
	if e.CAFile != "" {
		pool, err := e.caPool(version, versionErr)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// httpClients holds one client per CA file version (and one for the system
// roots), so minting a token for each of hundreds of mailboxes reuses
// connections and TLS sessions instead of opening new ones.
var httpClients sync.Map

// plainHTTPClient serves plain-HTTP URLs, which checkSecureURL allows only
// to this machine.
var plainHTTPClient = &http.Client{Transport: bulkTransport(nil), Timeout: defaultNetTimeout}

// maxHTTPHeaderBytes bounds the headers of an HTTP answer (token,
// tokeninfo); the bodies are read through a LimitReader each.
const maxHTTPHeaderBytes = 64 << 10

// bulkTransport is an HTTP transport that keeps a connection per mailbox
// checked at once (Go's default keeps two per host, so a bulk run would
// reconnect for nearly every token); an answer's headers are capped.
func bulkTransport(cfg *tls.Config) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	tr.MaxIdleConnsPerHost = MaxConcurrency
	tr.MaxResponseHeaderBytes = maxHTTPHeaderBytes
	return tr
}

// HTTPClient returns the shared HTTP client that trusts what TLSConfig
// trusts and gives up after a timeout; every call still takes its own
// context. Callers must not modify it.
func (e Endpoints) HTTPClient() (*http.Client, error) {
	key := "system roots"
	if e.CAFile != "" {
		v, err := e.caVersion()
		if err != nil {
			_, err = e.TLSConfig("") // the same finding as every other TLS use
			return nil, err
		}
		key = v // a replaced CA file is a new client
	}
	if c, ok := httpClients.Load(key); ok {
		return c.(*http.Client), nil
	}
	cfg, err := e.TLSConfig("")
	if err != nil {
		return nil, err
	}
	cfg.ServerName = ""
	c, _ := httpClients.LoadOrStore(key, &http.Client{Transport: bulkTransport(cfg), Timeout: defaultNetTimeout})
	return c.(*http.Client), nil
}

// HTTPClientFor returns the client for a request to rawURL. A plain-HTTP
// URL (a local sandbox or test server) needs no CA, so a broken ca_file
// does not stop it; the IMAP and SMTP checks still report it.
func (e Endpoints) HTTPClientFor(rawURL string) (*http.Client, error) {
	hc, err := e.HTTPClient()
	if err != nil {
		if u, perr := url.Parse(rawURL); perr == nil && u.Scheme == "http" {
			return plainHTTPClient, nil
		}
		return nil, err
	}
	return hc, nil
}
