package watch

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// appStatusTimeout bounds the clock measurement and the app-status query.
const appStatusTimeout = 10 * time.Second

// earlyWarnings computes the profile's deadlines (key rotation and
// certificate; each mailbox's consent expiry and idle refresh token on the
// OAuth client path), exports them and turns those within their warning
// threshold into warning alerts.
func (w *Watcher) earlyWarnings(ctx context.Context, pr *profileRun, mailboxes []string, now time.Time) {
	cred := pr.tester.Tokens.Cred
	loaded := pr.p.CredentialLoaded
	if loaded.IsZero() {
		loaded = pr.p.Updated
	}
	ds := core.KeyDeadlines(cred, loaded, w.opts.KeyMaxAge, now)
	if rs, ok := pr.cache.TokenCache.(core.RefreshTokenStore); ok && cred.Kind == core.KindOAuthClient {
		testing := w.appInTesting(ctx, &pr.p)
		var offset time.Duration
		mctx, cancel := context.WithTimeout(ctx, appStatusTimeout)
		if off, err := core.MeasureClock(mctx, pr.tester.Tokens.Endpoints, pr.tester.Tokens.TokenURL()); err == nil {
			offset = off
		}
		cancel()
		for _, m := range mailboxes {
			rt, ok, err := rs.LoadRefreshToken(m)
			if err != nil || !ok || rt.ClientID != cred.ClientID {
				continue
			}
			var lastUsed time.Time
			if tok, ok, _ := pr.cache.LoadToken(m, pr.p.ScopeList()); ok {
				lastUsed = tok.Expiry.Add(-time.Hour) // minted an hour before it expires
			}
			ds = append(ds, core.ConsentDeadlines(rt, testing, lastUsed, offset, now)...)
		}
	}
	w.metrics.setDeadlines(pr.p.Domain, ds, now)
	current := map[key]*core.Finding{}
	for _, d := range ds {
		if d.Finding != nil {
			current[key{pr.p.Domain, d.Mailbox, string(d.Kind)}] = d.Finding
		}
	}
	w.emit(w.track.warnings(pr.p.Domain, current, now))
}

// appInTesting reports whether the profile's OAuth app is External and in
// Testing, as far as mailoauth can know: what the wizard was told on the
// consent screen, or what the sandbox's Admin console says (Google has no
// API for it; a refresh token's own lifetime, kept at consent, covers real
// Google).
func (w *Watcher) appInTesting(ctx context.Context, p *core.Profile) bool {
	if p.ConsentPublishing == "testing" && p.ConsentUserType != "internal" {
		return true
	}
	admin := p.Endpoints.AdminURL
	if admin == "" {
		return false
	}
	hc, err := p.Endpoints.HTTPClientFor(admin)
	if err != nil {
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, appStatusTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, strings.TrimRight(admin, "/")+"/oauth", nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var st struct {
		ConsentScreen struct {
			UserType         string `json:"user_type"`
			PublishingStatus string `json:"publishing_status"`
		} `json:"consent_screen"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st) != nil {
		return false
	}
	return st.ConsentScreen.UserType == "external" && st.ConsentScreen.PublishingStatus == "testing"
}
