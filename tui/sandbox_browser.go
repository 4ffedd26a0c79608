package tui

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/mailoauth/mailoauth/core"
)

var sandboxSessionRe = regexp.MustCompile(`name="session" value="([0-9a-f]+)"`)

// sandboxBrowse is the demo's browser on the sandbox's consent page: it
// loads the consent URL and, when the page asks (no auto-consent), chooses
// Allow. With follow it follows the redirect to the loopback listener;
// without, it returns the address the browser would end on, for pasting.
// Only the sandbox's own endpoints are ever contacted.
func sandboxBrowse(ctx context.Context, ep core.Endpoints, consentURL string, follow bool) (string, error) {
	hc, err := ep.HTTPClient()
	if err != nil {
		return "", err
	}
	var last string
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		last = req.URL.String()
		if !follow {
			return http.ErrUseLastResponse
		}
		return nil
	}
	get := func(req *http.Request) (*http.Response, []byte, error) {
		resp, err := hc.Do(req.WithContext(ctx))
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
		return resp, body, nil
	}
	req, err := http.NewRequest(http.MethodGet, consentURL, nil)
	if err != nil {
		return "", err
	}
	resp, body, err := get(req)
	if err != nil {
		return "", fmt.Errorf("the sandbox's consent page did not answer: %v", err)
	}
	if m := sandboxSessionRe.FindSubmatch(body); m != nil {
		pu, _ := url.Parse(consentURL)
		form := url.Values{"session": {string(m[1])}, "action": {"allow"}}
		req, _ = http.NewRequest(http.MethodPost, pu.Scheme+"://"+pu.Host+pu.Path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, _, err = get(req); err != nil {
			return "", fmt.Errorf("choosing Allow on the sandbox's consent page failed: %v", err)
		}
	}
	if !follow {
		if loc := resp.Header.Get("Location"); loc != "" {
			return loc, nil
		}
		return last, nil
	}
	return last, nil
}
