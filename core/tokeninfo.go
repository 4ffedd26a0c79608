package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// tokenInfo is what Google's tokeninfo endpoint says about an access token.
type tokenInfo struct {
	// Valid is false when tokeninfo answered 400 (revoked, expired or unknown).
	Valid     bool
	Scope     string
	Email     string
	ExpiresIn int
	// Date is the tokeninfo server's clock (its Date header; zero if absent),
	// which tells an expired token from a revoked one.
	Date time.Time
}

// hasScope reports whether the token carries the scope.
func (ti *tokenInfo) hasScope(scope string) bool {
	for _, s := range strings.Fields(ti.Scope) {
		if s == scope {
			return true
		}
	}
	return false
}

// fetchTokenInfo asks the tokeninfo endpoint about an access token.
func fetchTokenInfo(ctx context.Context, e Endpoints, accessToken string) (*tokenInfo, error) {
	e = e.WithDefaults()
	hc, err := e.HTTPClientFor(e.TokeninfoURL)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(e.TokeninfoURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("access_token", accessToken)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The URL carries the token: never let it reach an error text.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = e.TokeninfoURL
		}
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	date, _ := http.ParseTime(resp.Header.Get("Date"))
	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized:
		return &tokenInfo{Valid: false, Date: date}, nil
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("tokeninfo %s answered HTTP %d", e.TokeninfoURL, resp.StatusCode)
	}
	var raw struct {
		Scope     string          `json:"scope"`
		Email     string          `json:"email"`
		ExpiresIn json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("tokeninfo %s answered with invalid JSON: %v", e.TokeninfoURL, err)
	}
	ti := &tokenInfo{Valid: true, Scope: raw.Scope, Email: raw.Email, Date: date}
	var n json.Number
	if json.Unmarshal(raw.ExpiresIn, &n) == nil {
		i, _ := n.Int64()
		ti.ExpiresIn = int(i)
	} else {
		var s string
		if json.Unmarshal(raw.ExpiresIn, &s) == nil {
			fmt.Sscan(s, &ti.ExpiresIn)
		}
	}
	return ti, nil
}

// clockOffset is how far the local clock at local is ahead of the clock that
// wrote the HTTP Date header (negative: behind). ok is false without a
// usable Date header.
func clockOffset(h http.Header, local time.Time) (offset time.Duration, ok bool) {
	if h == nil {
		return 0, false
	}
	d, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return 0, false
	}
	// Date is truncated to the second: the server's clock was, on average,
	// half a second later.
	return local.Sub(d.Add(500 * time.Millisecond)), true
}

// MeasureClock measures the local clock's offset from the token endpoint's
// clock through its Date header, like GAM's "System time status": positive
// means this machine is ahead.
func MeasureClock(ctx context.Context, e Endpoints, tokenURL string) (time.Duration, error) {
	e = e.WithDefaults()
	if tokenURL == "" {
		tokenURL = e.TokenURL
	}
	hc, err := e.HTTPClientFor(tokenURL)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, tokenURL, nil)
	if err != nil {
		return 0, err
	}
	sent := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	// The Date header is truncated to the second; compare it with the middle
	// of the round trip.
	mid := sent.Add(time.Since(sent) / 2)
	off, ok := clockOffset(resp.Header, mid)
	if !ok {
		return 0, fmt.Errorf("%s sent no Date header", tokenURL)
	}
	return off, nil
}

// ClockOffsetWords says a clock offset as "N s ahead of", "N s behind" or
// "within a second of".
func ClockOffsetWords(off time.Duration) string {
	secs := int64(math.Round(off.Seconds()))
	switch {
	case secs > 0:
		return fmt.Sprintf("%d s ahead of", secs)
	case secs < 0:
		return fmt.Sprintf("%d s behind", -secs)
	}
	return "within a second of"
}
