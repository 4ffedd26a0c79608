// Package consent runs the OAuth consent of a mailbox interactively: it
// starts a loopback listener (or takes a pasted answer), shows the consent
// URL and opens a browser, waits for Google's answer and exchanges the code
// for a refresh token. core holds what the engine itself needs of a consent
// (the URL, the exchange, the stored refresh tokens, the findings); this
// package is the part only the command line and the wizard use.
//
// consent builds on core alone: it must never import store, tui, cmd or
// another core subpackage, and core must never import it.
package consent

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// Options say how a consent brings the code back.
type Options struct {
	// Paste: the user pastes the redirected URL (or the code) instead of a
	// loopback listener receiving it.
	Paste bool
	// ShowURL is told the consent URL (always, before waiting).
	ShowURL func(mailbox, consentURL string)
	// OpenBrowser, if set, is tried with the consent URL (loopback only).
	OpenBrowser func(consentURL string) bool
	// ReadPaste returns what the user pasted: Authorize needs it with Paste;
	// a caller that takes the paste itself (the wizard's field) leaves it
	// nil and calls Submit.
	ReadPaste func(ctx context.Context) (string, error)
	// Wait bounds the wait for the answer; default DefaultConsentWait.
	Wait time.Duration
	// NoPreflight skips loading the consent page before showing it.
	NoPreflight bool
	// Retry is how this face starts the consent again, for the fix of the
	// finding when no answer came in time; it completes "then ...". The
	// default is the command's: run `mailoauth authorize ADDR` again.
	Retry string
	// Clock is core.Consent.Clock: nil is time.Now.
	Clock func() time.Time
}

// Authorizer runs consents for the mailboxes of an OAuth client profile.
type Authorizer struct {
	Profile *core.Profile
	Cred    *core.Credential
	Refresh core.RefreshTokenStore
	Cache   core.TokenCache
}

// New checks that the profile holds a usable OAuth client.
func New(p *core.Profile, cache core.TokenCache, rs core.RefreshTokenStore) (*Authorizer, error) {
	if p == nil {
		return nil, core.Inputf("no profile is configured; run `mailoauth setup --domain D --sender ADDR --client FILE` first")
	}
	cred, err := p.LoadCredential()
	if err != nil {
		return nil, err
	}
	if cred.IsServiceAccount() {
		return nil, core.Inputf("profile %s uses a service account (domain-wide delegation), which needs no consent per mailbox; authorize its %s instead", p.Domain, core.DelegatedClientID(cred.ClientID))
	}
	if err := cred.RequireOAuthClient(); err != nil {
		return nil, err
	}
	if rs == nil {
		rs, _ = cache.(core.RefreshTokenStore)
	}
	return &Authorizer{Profile: p, Cred: cred, Refresh: rs, Cache: cache}, nil
}

// NewConsent prepares the consent of one mailbox with the profile's redirect
// URI (a loopback one without a port gets one when the listener starts).
func (a *Authorizer) NewConsent(mailbox, redirect string) (*core.Consent, error) {
	return core.NewConsent(a.Cred, a.Profile.Endpoints, a.Profile.ScopeList(), mailbox, redirect)
}

// State is the consent state of a mailbox.
func (a *Authorizer) State(mailbox string) core.ConsentState {
	return core.ConsentOf(a.Refresh, a.Cred.ClientID, mailbox)
}

// Pending is a consent that has begun: its URL is checked and shown,
// and the answer is awaited on the loopback listener or by paste-back. The
// steps (Begin, Wait or Submit, Finish) are what Authorize runs one after
// the other; the wizard runs the same steps from its commands, so both
// faces check, wait, time out and exchange alike.
type Pending struct {
	*core.Consent
	// Paste: the answer comes by paste-back (Submit), not the listener.
	Paste bool
	// Opened: a browser was opened on the URL.
	Opened bool

	authz  *Authorizer
	lb     *Loopback
	closed sync.Once
	read   func(ctx context.Context) (string, error)
	wait   time.Duration
	retry  string
}

// Begin starts the consent of one mailbox: the loopback listener (unless
// opts.Paste), the consent URL, its preflight, then ShowURL and (loopback
// only) OpenBrowser. Close the result when abandoning it; Finish closes it.
func (a *Authorizer) Begin(ctx context.Context, mailbox string, opts Options) (*Pending, error) {
	redirect := core.ConsentRedirectURI(a.Profile, a.Cred, opts.Paste)
	p := &Pending{Paste: opts.Paste, authz: a, read: opts.ReadPaste, wait: opts.Wait, retry: opts.Retry}
	if p.wait <= 0 {
		p.wait = core.DefaultConsentWait
	}
	if !opts.Paste {
		var err error
		if p.lb, err = ListenLoopback(redirect); err != nil {
			return nil, err
		}
		redirect = p.lb.RedirectURI()
	}
	c, err := a.NewConsent(mailbox, redirect)
	if err == nil && !opts.NoPreflight {
		err = c.Preflight(ctx)
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	c.Clock = opts.Clock
	p.Consent = c
	if opts.ShowURL != nil {
		opts.ShowURL(c.Mailbox, c.URL)
	}
	if p.lb != nil && opts.OpenBrowser != nil {
		p.Opened = opts.OpenBrowser(c.URL)
	}
	return p, nil
}

// Wait waits for the answer, at most the wait bound: Google's redirect to
// the loopback listener, or (paste-back) what opts.ReadPaste returns. When
// none came in time the error is the consent-timeout finding.
func (p *Pending) Wait(ctx context.Context) (string, error) {
	if p.lb == nil && p.read == nil {
		return "", core.Inputf("paste-back needs a terminal to paste into")
	}
	wctx, cancel := context.WithTimeout(ctx, p.wait)
	defer cancel()
	var answer string
	var err error
	if p.lb != nil {
		answer, err = p.lb.Wait(wctx)
	} else {
		answer, err = p.read(wctx)
	}
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return "", &core.FindingError{Finding: core.ConsentTimeoutFinding(p.Mailbox, p.wait, p.retry)}
	}
	return answer, err
}

// Submit checks a pasted answer (the address the browser ends on, or the
// code) and returns the code. An InputError means the paste is not this
// attempt's answer and the user may paste again; a finding (Google's error
// in the address) ends the attempt.
func (p *Pending) Submit(pasted string) (string, error) {
	return p.ParseResponse(pasted)
}

// Finish takes the answer (the redirected address, or the code), trades the
// code for tokens within ConsentExchangeTimeout, stores the refresh token
// and caches the access token. It closes the listener.
func (p *Pending) Finish(ctx context.Context, answer string) (*core.Grant, error) {
	p.Close()
	code, err := p.ParseResponse(answer)
	if err != nil {
		return nil, err
	}
	ectx, cancel := context.WithTimeout(ctx, core.ConsentExchangeTimeout)
	defer cancel()
	return p.Exchange(ectx, code, p.authz.Refresh, p.authz.Cache)
}

// Close stops the loopback listener, if any. It may be called again, and
// while Wait runs (the wizard cancels from its update loop), which then
// returns when its context ends.
func (p *Pending) Close() {
	p.closed.Do(func() {
		if p.lb != nil {
			p.lb.Close()
		}
	})
}

// Authorize runs the whole consent of one mailbox (`mailoauth authorize`):
// Begin, Wait, Finish.
func (a *Authorizer) Authorize(ctx context.Context, mailbox string, opts Options) (*core.Grant, error) {
	if opts.Paste && opts.ReadPaste == nil {
		return nil, core.Inputf("paste-back needs a terminal to paste into")
	}
	p, err := a.Begin(ctx, mailbox, opts)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	answer, err := p.Wait(ctx)
	if err != nil {
		return nil, err
	}
	return p.Finish(ctx, answer)
}
