package core

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jws"
)

// The JWT bearer grant of a service account (RFC 7523, Google's
// domain-wide delegation), done here rather than with golang.org/x/oauth2/jwt,
// which parses the PEM key (and checks the RSA key) again for every token:
// with hundreds of mailboxes that was a fifth of the CPU of a run. The key
// is parsed once with the credential; each assertion costs one RSA
// signature and one POST on a kept-alive connection.

const jwtBearerGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// signAssertion builds and signs (RS256) the assertion for subject.
func signAssertion(key *rsa.PrivateKey, keyID, issuer, subject, aud string, scopes []string) (string, error) {
	claims := &jws.ClaimSet{Iss: issuer, Scope: strings.Join(scopes, " "), Aud: aud}
	if subject != "" {
		// prn is sub's old name; Google still reads either.
		claims.Sub, claims.Prn = subject, subject
	}
	header := &jws.Header{Algorithm: "RS256", Typ: "JWT", KeyID: keyID}
	return jws.EncodeWithSigner(header, claims, func(data []byte) ([]byte, error) {
		sum := sha256.Sum256(data)
		return rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	})
}

// exchangeJWT trades a signed assertion for an access token. A refusal is
// an *oauth2.RetrieveError (as golang.org/x/oauth2 gives it, so Diagnose
// reads it the same way); a network failure is a *ServerError.
func exchangeJWT(ctx context.Context, hc *http.Client, tokenURL, assertion string) (*oauth2.Token, error) {
	form := url.Values{"grant_type": {jwtBearerGrantType}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &ServerError{Server: HostOfURL(tokenURL), Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &ServerError{Server: HostOfURL(tokenURL), Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &oauth2.RetrieveError{Response: resp, Body: body}
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("the token endpoint %s answered with JSON that does not parse: %v", tokenURL, err)
	}
	tok := &oauth2.Token{AccessToken: tr.AccessToken, TokenType: tr.TokenType}
	if tr.ExpiresIn > 0 {
		tok.Expiry = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	return tok, nil
}
