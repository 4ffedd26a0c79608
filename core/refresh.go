package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// oauthDiag is what the OAuth client path's diagnosis knows beyond the
// shared DiagContext: the consent's redirect URI and when the mailbox's
// refresh token was issued (by Google's clock).
type oauthDiag struct {
	DiagContext
	Redirect    string
	ConsentedAt time.Time
}

// diagnose explains an error of the consent path: the token endpoint's
// answers with the consent path's findings, anything else (network, TLS,
// timeouts) as the service-account path does.
func (o oauthDiag) diagnose(err error) *Finding {
	if f := FindingOf(err); f != nil {
		return f
	}
	if f := diagnoseThrottle(err, o.DiagContext, 0); f != nil {
		return f
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return diagnoseOAuthClientRetrieve(re, o)
	}
	return Diagnose(err, o.DiagContext)
}

// diagnoseOAuthClientRetrieve explains the token endpoint's refusal of an
// authorization code or a refresh token.
func diagnoseOAuthClientRetrieve(re *oauth2.RetrieveError, d oauthDiag) *Finding {
	d.DiagContext = d.normalized()
	code, desc := oauthError(re)
	ldesc := strings.ToLower(desc)
	switch {
	case code == OAuthInvalidClient && strings.Contains(ldesc, "disabled"), code == OAuthDisabledClient:
		return consentErrorFinding(OAuthDisabledClient, desc, d)
	case code == OAuthInvalidClient:
		return invalidClientFinding(d, desc)
	case code == OAuthRedirectURIMismatch:
		return redirectMismatchFinding(d.clientID, d.Redirect, nil)
	case code == OAuthAccessDenied, code == OAuthAdminPolicyEnforced, code == OAuthOrgInternal:
		return consentErrorFinding(code, desc, d)
	case code == OAuthInvalidGrant && (strings.Contains(ldesc, "revoked") || strings.Contains(ldesc, "expired")):
		if serverNow := responseDate(re.Response); !d.ConsentedAt.IsZero() && !serverNow.IsZero() &&
			serverNow.Sub(d.ConsentedAt) >= TestingRefreshTokenLife-time.Hour {
			return testingRefreshExpiredFinding(d, serverNow)
		}
		return refreshRevokedFinding(d)
	case code == OAuthInvalidGrant:
		return codeRefusedFinding(d, code, desc)
	case code == OAuthInvalidScope:
		return consentInvalidScopeFinding(d)
	}
	return oauthClientRefusedFinding(re, d)
}

func responseDate(r *http.Response) time.Time {
	if r == nil {
		return time.Time{}
	}
	t, _ := http.ParseTime(r.Header.Get("Date"))
	return t
}

func ageWords(d time.Duration) string {
	days := int(d.Hours() / 24)
	if days >= 1 {
		return fmt.Sprintf("%d days", days)
	}
	return d.Round(time.Minute).String()
}

// mintRefresh trades the mailbox's stored refresh token for an access
// token, storing the replacement when Google rotates it.
func (p *TokenProvider) mintRefresh(ctx context.Context, mailbox string, scopes []string) (Token, error) {
	d := oauthDiag{DiagContext: p.DiagContext(mailbox, CheckToken)}
	fail := func(err error) (Token, error) {
		return Token{}, &FindingError{Finding: d.diagnose(err), Err: err}
	}
	if err := p.Cred.RequireOAuthClient(); err != nil {
		return fail(err)
	}
	if p.refresh == nil {
		return fail(&FindingError{Finding: noRefreshStoreFinding(mailbox)})
	}
	rt, ok, err := p.refresh.LoadRefreshToken(mailbox)
	if err != nil {
		return Token{}, err
	}
	if !ok || rt.Token == "" {
		return fail(&FindingError{Finding: noConsentFinding(mailbox, p.Cred.ClientID)})
	}
	if rt.ClientID != p.Cred.ClientID {
		return fail(&FindingError{Finding: otherClientConsentFinding(mailbox, rt.ClientID, p.Cred.ClientID)})
	}
	d.ConsentedAt = rt.ConsentedAt
	tr := &recordingTransport{ctx: ctx}
	tokenURL := p.TokenURL()
	octx, err := tr.context(p.Endpoints, tokenURL)
	if err != nil {
		return fail(err)
	}
	cfg := oauthConfig(p.Cred, p.Endpoints, scopes, "")
	start := time.Now()
	// An expired token makes x/oauth2 refresh at once.
	ot, err := cfg.TokenSource(octx, &oauth2.Token{RefreshToken: rt.Token, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return fail(tr.cause(ctx, err, tokenURL))
	}
	if ot.AccessToken == "" {
		return fail(fmt.Errorf("the token endpoint %s answered without an access_token", tokenURL))
	}
	if ot.RefreshToken != "" && ot.RefreshToken != rt.Token {
		rotated := tr.serverTime()
		if rotated.IsZero() {
			rotated = time.Now()
		}
		rt.Token, rt.Rotated = ot.RefreshToken, rotated.UTC()
		if exp := refreshExpiry(ot, rotated); !exp.IsZero() {
			rt.ExpiresAt = exp
		}
		if err := p.refresh.SaveRefreshToken(rt); err != nil {
			// The old token is now dead at Google; losing the new one
			// means consent must be given again, so say so now.
			return Token{}, fmt.Errorf("Google replaced the refresh token of %s but it could not be stored (%v); fix the store, then run %s", mailbox, err, reconsentCommand(mailbox))
		}
	}
	life := time.Hour
	if !ot.Expiry.IsZero() {
		life = ot.Expiry.Sub(start)
	}
	return Token{Mailbox: mailbox, Scopes: append([]string(nil), scopes...), AccessToken: ot.AccessToken,
		Expiry: p.now().Add(life)}, nil
}

// NewTesterWith builds a Tester from a stored profile for either path: a
// service account mints with JWT bearer grants, an OAuth client refreshes
// each mailbox's stored refresh token from rs (nil: taken from cache when
// it also implements RefreshTokenStore, as the store's cache does).
func NewTesterWith(p *Profile, cache TokenCache, rs RefreshTokenStore) (*Tester, error) {
	cred, err := configuredCredential(p, "mailoauth setup")
	if err != nil {
		return nil, err
	}
	if cred.Kind == KindOAuthClient {
		if err := cred.RequireOAuthClient(); err != nil {
			return nil, err
		}
	} else if err := cred.RequireServiceAccount(); err != nil {
		return nil, err
	} else if err := RequireWorkspaceDomain(p.Domain); err != nil {
		return nil, err
	}
	if rs == nil {
		rs, _ = cache.(RefreshTokenStore)
	}
	ep := p.Endpoints.WithDefaults()
	tp := &TokenProvider{Cred: cred, Endpoints: ep, Scopes: p.ScopeList(), Cache: cache, refresh: rs}
	return &Tester{Tokens: tp}, nil
}
