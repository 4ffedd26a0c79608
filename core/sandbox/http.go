package sandbox

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

const jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

func (s *Sandbox) startHTTP() {
	mux := http.NewServeMux()
	mux.HandleFunc("/token", s.handleToken)
	mux.HandleFunc("/tokeninfo", s.handleTokeninfo)
	mux.HandleFunc("/o/oauth2/auth", s.handleAuth)
	mux.HandleFunc("/revoke", s.handleRevoke)
	mux.HandleFunc("/admin/", s.handleAdmin)
	s.httpSrv = &http.Server{
		Handler:           s.httpMiddleware(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          nil,
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.httpSrv.Serve(s.httpLn)
	}()
}

// httpMiddleware stamps the sandbox clock in Date and applies the latency fault.
func (s *Sandbox) httpMiddleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.sleep(s.latency()) {
			http.Error(w, "sandbox closing", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Date", s.Now().UTC().Format(http.TimeFormat))
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	w.WriteHeader(status)
	b, _ := json.MarshalIndent(v, "", "  ")
	_, _ = w.Write(append(b, '\n'))
}

type oauthError struct {
	status int
	code   string
	desc   string
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func oerr(code, desc string) *oauthError {
	st := http.StatusBadRequest
	switch code {
	case core.OAuthUnauthorizedClient, core.OAuthInvalidClient, core.OAuthDisabledClient:
		st = http.StatusUnauthorized
	}
	return &oauthError{status: st, code: code, desc: desc}
}

func (s *Sandbox) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": core.OAuthInvalidRequest, "error_description": "Method not allowed"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": core.OAuthInvalidRequest, "error_description": "Bad Request"})
		return
	}
	if s.throttleToken(w) || s.tokenGrant(w, r) {
		return
	}
	tok, ttl, oe := s.mint(r.PostForm.Get("grant_type"), r.PostForm.Get("assertion"))
	if oe != nil {
		s.logf("sandbox: token refused: %s: %s", oe.code, oe.desc)
		writeJSON(w, oe.status, map[string]string{"error": oe.code, "error_description": oe.desc})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": ttl, "token_type": "Bearer"})
}

type jwtClaims struct {
	Iss   string          `json:"iss"`
	Sub   string          `json:"sub"`
	Prn   string          `json:"prn"`
	Aud   json.RawMessage `json:"aud"`
	Scope *string         `json:"scope"`
	Iat   *json.Number    `json:"iat"`
	Exp   *json.Number    `json:"exp"`
}

func b64url(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// wellFormedScope reports whether a scope string looks like a Google scope;
// a well-formed but wrong one (trailing slash missing) is caught by the
// delegation check instead, as at Google.
func wellFormedScope(sc string) bool {
	switch sc {
	case "openid", "email", "profile":
		return true
	}
	if strings.HasPrefix(sc, "https://mail.google.com") {
		rest := strings.TrimPrefix(sc, "https://mail.google.com")
		return rest == "" || rest == "/"
	}
	if rest, ok := strings.CutPrefix(sc, "https://www.googleapis.com/auth/"); ok {
		return rest != "" && !strings.ContainsAny(rest, " \t\r\n")
	}
	return false
}

// mint verifies a JWT bearer assertion as Google does and issues a token.
func (s *Sandbox) mint(grantType, assertion string) (string, int, *oauthError) {
	if grantType == "" {
		return "", 0, oerr(core.OAuthUnsupportedGrantType, "Invalid grant_type: ")
	}
	if grantType != jwtBearerGrant {
		return "", 0, oerr(core.OAuthUnsupportedGrantType, "Invalid grant_type: "+grantType)
	}
	if assertion == "" {
		return "", 0, oerr(core.OAuthInvalidRequest, "Missing required parameter: assertion")
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return "", 0, oerr(core.OAuthInvalidGrant, core.DescInvalidSignature)
	}
	hdrJSON, err1 := b64url(parts[0])
	claimsJSON, err2 := b64url(parts[1])
	sig, err3 := b64url(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", 0, oerr(core.OAuthInvalidGrant, core.DescInvalidSignature)
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var cl jwtClaims
	dec := json.NewDecoder(strings.NewReader(string(claimsJSON)))
	dec.UseNumber()
	if json.Unmarshal(hdrJSON, &hdr) != nil || dec.Decode(&cl) != nil {
		return "", 0, oerr(core.OAuthInvalidGrant, core.DescInvalidSignature)
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	// Signature against the registered keys of iss.
	var candidates []*saKey
	known := false
	for id, k := range s.keys {
		if k.clientEmail != cl.Iss {
			continue
		}
		known = true
		if hdr.Kid == "" || hdr.Kid == id {
			candidates = append(candidates, k)
		}
	}
	if !known {
		return "", 0, oerr(core.OAuthInvalidGrant, core.DescAccountNotFound)
	}
	if hdr.Alg != "RS256" {
		return "", 0, oerr(core.OAuthInvalidGrant, core.DescInvalidSignature)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	var key *saKey
	for _, k := range candidates {
		if k.deleted {
			continue
		}
		if rsa.VerifyPKCS1v15(k.pub, crypto.SHA256, digest[:], sig) == nil {
			key = k
			break
		}
	}
	if key == nil {
		return "", 0, oerr(core.OAuthInvalidGrant, core.DescInvalidSignature)
	}

	// Audience: a string or an array holding the token URL.
	audOK := false
	var audStr string
	var audList []string
	if json.Unmarshal(cl.Aud, &audStr) == nil {
		audOK = audStr == s.endpoints.TokenURL
	} else if json.Unmarshal(cl.Aud, &audList) == nil {
		for _, a := range audList {
			audOK = audOK || a == s.endpoints.TokenURL
		}
	}
	if !audOK {
		return "", 0, oerr(core.OAuthInvalidGrant, core.DescAudience)
	}

	// Times on the sandbox clock.
	now := s.nowLocked().Unix()
	if cl.Iat == nil || cl.Exp == nil {
		return "", 0, oerr(core.OAuthInvalidGrant, core.DescShortLivedToken)
	}
	iat, e1 := cl.Iat.Int64()
	exp, e2 := cl.Exp.Int64()
	if e1 != nil || e2 != nil || iat > now+300 || exp <= now || exp-iat > 3600 || exp < iat {
		return "", 0, oerr(core.OAuthInvalidGrant, core.DescShortLivedToken)
	}

	// Scopes.
	if cl.Scope == nil {
		return "", 0, oerr(core.OAuthInvalidScope, core.DescInvalidScope)
	}
	scopes := strings.Split(*cl.Scope, " ")
	for _, sc := range scopes {
		if !wellFormedScope(sc) {
			return "", 0, oerr(core.OAuthInvalidScope, core.DescInvalidScope)
		}
	}

	// Client state in the console.
	if c, ok := s.clients[key.clientID]; ok {
		if c.Disabled {
			return "", 0, oerr(core.OAuthDisabledClient, core.DescDisabledClient)
		}
		if c.PolicyBlocked {
			return "", 0, oerr(core.OAuthAdminPolicyEnforced, core.DescAdminPolicy)
		}
	}

	sub := cl.Sub
	if sub == "" {
		sub = cl.Prn
	}
	email := strings.ToLower(cl.Iss)
	if sub != "" {
		// Domain-wide delegation: every scope, by exact string, for the
		// numeric client ID.
		allowed := s.delegation[key.clientID]
		for _, sc := range scopes {
			found := false
			for _, a := range allowed {
				if a == sc {
					found = true
					break
				}
			}
			if !found {
				return "", 0, oerr(core.OAuthUnauthorizedClient, core.DescUnauthorizedClient)
			}
		}
		u := s.users[strings.ToLower(sub)]
		if u == nil || !s.inDomain(u.email) {
			// Delegation reaches only the users of the service account's own
			// Workspace; another organisation's account is unknown to it.
			return "", 0, oerr(core.OAuthInvalidGrant, core.DescInvalidEmail)
		}
		if u.suspended {
			return "", 0, oerr(core.OAuthInvalidGrant, core.DescAccountDisabled)
		}
		email = u.email
	}

	const ttl = 3599
	tok := newAccessToken()
	s.tokens[tok] = &token{
		email:    email,
		scopes:   scopes,
		clientID: key.clientID,
		expiry:   s.nowLocked().Add(ttl * time.Second),
	}
	s.minted++
	return tok, ttl, nil
}

// newAccessToken makes a token shaped like Google's delegated service-account
// tokens: "ya29.c." and about a thousand URL-safe characters.
func newAccessToken() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	return "ya29.c." + randFrom(alphabet, 1017)
}

func (s *Sandbox) handleTokeninfo(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	_ = r.ParseForm()
	at := r.Form.Get("access_token")
	s.mu.Lock()
	t := s.tokens[at]
	now := s.nowLocked()
	live := t != nil && !t.revoked && now.Before(t.expiry)
	var info map[string]string
	if live {
		sub := stableID(t.email)
		if u := s.users[t.email]; u == nil {
			sub = t.clientID // the service account itself
		}
		info = map[string]string{
			"azp":            t.clientID,
			"aud":            t.clientID,
			"sub":            sub,
			"scope":          strings.Join(t.scopes, " "),
			"exp":            strconv.FormatInt(t.expiry.Unix(), 10),
			"expires_in":     strconv.FormatInt(int64(t.expiry.Sub(now)/time.Second), 10),
			"email":          t.email,
			"email_verified": "true",
			"access_type":    "offline",
		}
	}
	s.mu.Unlock()
	if !live {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": core.OAuthInvalidToken, "error_description": core.DescInvalidValue})
		return
	}
	writeJSON(w, http.StatusOK, info)
}
