package mailproto

import (
	"encoding/json"
	"strings"
	"sync"
)

// The SASL mechanisms that carry an OAuth 2.0 bearer token.
const (
	XOAUTH2     = "XOAUTH2"     // Google's mechanism
	OAUTHBEARER = "OAUTHBEARER" // RFC 7628
)

// OAuthClient is an XOAUTH2 or OAUTHBEARER client (go-sasl's Client
// interface, usable by imapclient.Authenticate and go-smtp's Client.Auth).
// When the server refuses the token it sends a JSON challenge (Gmail:
// {"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"});
// the client answers it as the mechanism requires (empty for XOAUTH2, %x01
// for OAUTHBEARER) so the server sends its final error, and keeps the
// challenge for the diagnosis.
type OAuthClient struct {
	mech, user, token string

	mu        sync.Mutex
	challenge []byte
}

// NewOAuthClient returns the client for mech (XOAUTH2, the default, or
// OAUTHBEARER) that logs user in with the access token.
func NewOAuthClient(mech, user, token string) *OAuthClient {
	if mech != OAUTHBEARER {
		mech = XOAUTH2
	}
	return &OAuthClient{mech: mech, user: user, token: token}
}

// Start implements sasl.Client: the mechanism and its initial response.
func (c *OAuthClient) Start() (string, []byte, error) {
	if c.mech == OAUTHBEARER {
		return c.mech, []byte("n,a=" + c.user + ",\x01auth=Bearer " + c.token + "\x01\x01"), nil
	}
	return c.mech, []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

// Next implements sasl.Client: any challenge after the initial response is
// the server's error report.
func (c *OAuthClient) Next(challenge []byte) ([]byte, error) {
	c.mu.Lock()
	c.challenge = append([]byte{}, challenge...)
	c.mu.Unlock()
	if c.mech == OAUTHBEARER {
		return []byte{0x01}, nil
	}
	return []byte{}, nil
}

// ErrorChallenge is the last challenge the server sent, parsed as a JSON
// error; nil if there was none or it is not one.
func (c *OAuthClient) ErrorChallenge() *Challenge {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ParseChallenge(c.challenge)
}

// Challenge is the JSON error a server sends (base64-encoded) as the SASL
// challenge when an XOAUTH2 / OAUTHBEARER token is refused (RFC 7628
// section 3.2.2); the client must answer it to get the final NO / 535.
type Challenge struct {
	Status  string `json:"status"`
	Schemes string `json:"schemes"`
	Scope   string `json:"scope"`
}

// ParseChallenge parses a JSON error challenge; nil if b is not one.
func ParseChallenge(b []byte) *Challenge {
	if len(b) == 0 {
		return nil
	}
	var ch Challenge
	if err := json.Unmarshal(b, &ch); err != nil || (ch.Status == "" && ch.Scope == "" && ch.Schemes == "") {
		return nil
	}
	return &ch
}

// ParseOAuthResponse is the server's side of Start: it reads the user and
// bearer token from an XOAUTH2 ("user=U\x01auth=Bearer T\x01\x01") or
// OAUTHBEARER ("n,a=U,\x01host=..\x01auth=Bearer T\x01\x01") response; ok
// is false when either is missing.
func ParseOAuthResponse(mech string, resp []byte) (user, token string, ok bool) {
	s := string(resp)
	if mech == OAUTHBEARER {
		gs2, rest, found := strings.Cut(s, "\x01")
		if !found {
			return "", "", false
		}
		for _, f := range strings.Split(gs2, ",") {
			if v, ok := strings.CutPrefix(f, "a="); ok {
				user = strings.NewReplacer("=2C", ",", "=3D", "=").Replace(v)
			}
		}
		s = rest
	}
	for _, kv := range strings.Split(s, "\x01") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "user":
			user = v
		case "auth":
			scheme, t, found := strings.Cut(v, " ")
			if found && strings.EqualFold(scheme, "Bearer") {
				token = strings.TrimSpace(t)
			}
		}
	}
	return user, token, user != "" && token != ""
}
