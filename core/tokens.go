package core

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
)

// tokenRenewBefore is how long before its expiry a cached token is no longer
// handed out, so a token never expires in the middle of a check.
const tokenRenewBefore = 5 * time.Minute

// TokenProvider mints access tokens and caches them per mailbox and scope
// set. The token source follows the credential's kind: a service account
// (JSON or .p12) signs a JWT bearer grant with sub = the mailbox
// (domain-wide delegation); an OAuth client trades the mailbox's stored
// refresh token (given once per mailbox by consent). It is safe for
// concurrent use; concurrent requests for one mailbox mint one token.
type TokenProvider struct {
	Cred *Credential // service account (JSON or .p12) or OAuth client
	// Endpoints: TokenURL is used when the key's token_uri is Google's
	// default (or empty, as for a .p12); a sandbox key's token_uri already
	// points at the sandbox.
	Endpoints Endpoints
	Scopes    []string
	Cache     TokenCache       // nil: an in-memory cache
	clock     func() time.Time // nil: time.Now
	// refresh holds each mailbox's refresh token (OAuth client only).
	refresh RefreshTokenStore

	mu       sync.Mutex
	inflight map[string]*mintCall
	memCache *MemoryTokenCache
}

type mintCall struct {
	done  chan struct{}
	tok   Token
	err   error
	saved func() error // whether the cache kept the minted token (waits for it)
}

// savedNow is the saved of a token that needed no save or was saved already.
func savedNow(err error) func() error { return func() error { return err } }

func (p *TokenProvider) now() time.Time {
	if p.clock != nil {
		return p.clock()
	}
	return time.Now()
}

func (p *TokenProvider) cache() TokenCache {
	if p.Cache != nil {
		return p.Cache
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.memCache == nil {
		p.memCache = &MemoryTokenCache{}
	}
	return p.memCache
}

func (p *TokenProvider) scopes() []string {
	if len(p.Scopes) == 0 {
		return []string{ScopeMail}
	}
	return p.Scopes
}

// TokenURL is the URL the provider trades assertions at.
func (p *TokenProvider) TokenURL() string {
	if p.Cred != nil && p.Cred.TokenURI != "" && p.Cred.TokenURI != GoogleTokenURL {
		return p.Cred.TokenURI
	}
	return p.Endpoints.WithDefaults().TokenURL
}

// DiagContext is what the diagnosis needs to know about this provider's
// configuration for a mailbox.
func (p *TokenProvider) DiagContext(mailbox string, check CheckName) DiagContext {
	d := DiagContext{Mailbox: mailbox, Domain: domainOf(mailbox), Scopes: p.scopes(),
		Endpoints: p.Endpoints.WithDefaults(), Check: check, tokenURL: p.TokenURL()}
	if p.Cred != nil {
		d.clientID, d.clientEmail, d.kind = p.Cred.ClientID, p.Cred.ClientEmail, p.Cred.Kind
	}
	return d
}

// Usable reports whether a cached token may still be handed out at now.
func (t Token) Usable(now time.Time) bool {
	return t.AccessToken != "" && now.Add(tokenRenewBefore).Before(t.Expiry)
}

// Token returns an access token for the mailbox: the cached one while it is
// more than tokenRenewBefore from expiry, else a freshly minted one. Errors
// are *FindingError with the diagnosis. A minted token is in the cache (or
// could not be saved there) when Token returns.
func (p *TokenProvider) Token(ctx context.Context, mailbox string) (tok Token, fromCache bool, err error) {
	tok, fromCache, saved, err := p.token(ctx, mailbox, true)
	_ = saved() // as before: a token the cache could not keep is still handed out
	return tok, fromCache, err
}

// token is Token; without useCache it mints whatever the cache holds
// (see fresh.go). A minted token may still be on its way to the cache's
// disk: saved waits for it and says whether it could not be cached (the
// next run mints again); the caller calls it before reporting the token's
// check done, so no token a run reports is lost.
func (p *TokenProvider) token(ctx context.Context, mailbox string, useCache bool) (tok Token, fromCache bool, saved func() error, err error) {
	saved = savedNow(nil)
	mailbox = strings.ToLower(strings.TrimSpace(mailbox))
	if f := serviceAccountMailbox(mailbox); f != nil {
		return Token{}, false, saved, &FindingError{Finding: f}
	}
	scopes := p.scopes()
	if !useCache {
		defer func() { p.dropRefused(mailbox, scopes, err) }()
	} else if t, ok, err := p.cache().LoadToken(mailbox, scopes); err == nil && ok && t.Usable(p.now()) {
		return t, true, saved, nil
	}
	key := memKey(mailbox, scopes)
	p.mu.Lock()
	if p.inflight == nil {
		p.inflight = map[string]*mintCall{}
	}
	for {
		c, ok := p.inflight[key]
		if !ok {
			break
		}
		p.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return Token{}, false, saved, p.ctxFinding(ctx, mailbox)
		}
		// The minting caller gave up (its context ended) while ours is
		// still live: mint again rather than inherit its cancellation.
		if c.err != nil && ctx.Err() == nil && (errors.Is(c.err, context.Canceled) || errors.Is(c.err, context.DeadlineExceeded)) {
			p.mu.Lock()
			continue
		}
		return c.tok, false, c.saved, c.err
	}
	c := &mintCall{done: make(chan struct{}), saved: saved}
	p.inflight[key] = c
	p.mu.Unlock()

	c.tok, c.err = p.mint(ctx, mailbox, scopes)
	if c.err == nil {
		c.saved = p.save(c.tok)
	}
	p.mu.Lock()
	delete(p.inflight, key)
	p.mu.Unlock()
	close(c.done)
	return c.tok, false, c.saved, c.err
}

// save starts saving a minted token: in the background where the cache
// can (TokenSaverLater), so the mailbox's checks go on meanwhile.
func (p *TokenProvider) save(t Token) func() error {
	c := p.cache()
	if l, ok := c.(TokenSaverLater); ok {
		return l.SaveTokenLater(t)
	}
	return savedNow(c.SaveToken(t))
}

// invalidate drops the mailbox's cached token (e.g. after a server refused it).
func (p *TokenProvider) invalidate(mailbox string) error {
	mailbox = strings.ToLower(strings.TrimSpace(mailbox))
	return p.cache().DeleteToken(mailbox, p.scopes())
}

func (p *TokenProvider) ctxFinding(ctx context.Context, mailbox string) error {
	d := p.DiagContext(mailbox, CheckToken)
	return &FindingError{Finding: Diagnose(ctx.Err(), d), Err: ctx.Err()}
}

func (p *TokenProvider) mint(ctx context.Context, mailbox string, scopes []string) (Token, error) {
	fail := func(err error) (Token, error) {
		if FindingOf(err) != nil {
			return Token{}, err
		}
		return Token{}, &FindingError{Finding: diagnoseCheck(err, p.DiagContext(mailbox, CheckToken)), Err: err}
	}
	if p.Cred == nil {
		return fail(&FindingError{Finding: noKeyFinding()})
	}
	if p.Cred.Kind == KindOAuthClient {
		return p.mintRefresh(ctx, mailbox, scopes)
	}
	if err := p.Cred.RequireServiceAccount(); err != nil {
		return fail(err)
	}
	if p.Cred.PrivateKey == nil {
		return fail(&FindingError{Finding: noPrivateKeyFinding()})
	}
	tokenURL := p.TokenURL()
	hc, err := p.Endpoints.HTTPClientFor(tokenURL)
	if err != nil {
		return fail(err)
	}
	assertion, err := signAssertion(p.Cred.PrivateKey, p.Cred.PrivateKeyID, p.Cred.ClientEmail, mailbox, tokenURL, scopes)
	if err != nil {
		return fail(err)
	}
	start := time.Now()
	ot, err := exchangeJWT(ctx, hc, tokenURL, assertion)
	if err != nil {
		return fail(err)
	}
	if ot.AccessToken == "" {
		return fail(fmt.Errorf("the token endpoint %s answered without an access_token", tokenURL))
	}
	life := time.Hour
	if !ot.Expiry.IsZero() {
		life = ot.Expiry.Sub(start)
	}
	return Token{Mailbox: mailbox, Scopes: append([]string(nil), scopes...), AccessToken: ot.AccessToken,
		Expiry: p.now().Add(life)}, nil
}

// HostOfURL is the host:port a URL names (port 443, or 80 for http, when it
// names none); the URL itself when it names no host.
func HostOfURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil || pu.Host == "" {
		return u
	}
	if pu.Port() == "" {
		if pu.Scheme == "http" {
			return pu.Host + ":80"
		}
		return pu.Host + ":443"
	}
	return pu.Host
}

func domainOf(mailbox string) string {
	if i := strings.LastIndex(mailbox, "@"); i >= 0 {
		return mailbox[i+1:]
	}
	return ""
}

func serviceAccountMailbox(mailbox string) *Finding {
	if strings.HasSuffix(domainOf(mailbox), "gserviceaccount.com") {
		return serviceAccountAsMailboxFinding(mailbox)
	}
	return nil
}
