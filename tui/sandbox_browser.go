package tui

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/mailoauth/mailoauth/core"
)

// sandboxBrowse is the demo's browser on the sandbox's consent page: the
// sandbox approves the consent as its owner choosing Allow would
// (Sandbox.ApproveConsent) and names the address the browser would end on.
// With follow that address is loaded, so the redirect reaches the loopback
// listener; without, it is returned for pasting.
func sandboxBrowse(ctx context.Context, ep core.Endpoints, approve func(string) (string, error), consentURL string, follow bool) (string, error) {
	if approve == nil {
		return "", fmt.Errorf("this wizard runs without the sandbox: open the consent URL in a browser")
	}
	loc, err := approve(consentURL)
	if err != nil || !follow {
		return loc, err
	}
	hc, err := ep.HTTPClient()
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("the consent's redirect to %s did not arrive: %v", loc, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 256<<10))
	return loc, nil
}
