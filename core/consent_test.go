package core_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

func TestValidateOAuthClientID(t *testing.T) {
	for id, ok := range map[string]bool{
		"123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com": true,
		"104715287395062714451":                   false, // a service account's numeric ID
		"123456789012-abc.apps.googleusercontent": false,
		"123456789012-abc":                        false,
		"":                                        false,
		"123456789012-ABC DEF.apps.googleusercontent.com": false,
	} {
		if err := core.ValidateOAuthClientID(id); (err == nil) != ok {
			t.Errorf("ValidateOAuthClientID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
	if _, err := core.NewOAuthClientCredential("123456789012-abc.apps.googleusercontent.com", "  ", nil); err == nil || !strings.Contains(err.Error(), "no client secret") {
		t.Errorf("an empty secret was accepted: %v", err)
	}
}

func TestRedirectURIMatches(t *testing.T) {
	reg := []string{"http://127.0.0.1/callback", "https://crm.example.test/cb"}
	for uri, want := range map[string]bool{
		"http://127.0.0.1:53121/callback":  true, // loopback registered without a port: any port
		"http://127.0.0.1/callback":        true,
		"http://127.0.0.1:53121/other":     false,
		"http://localhost:53121/callback":  false,
		"https://crm.example.test/cb":      true,
		"https://crm.example.test:8443/cb": false,
	} {
		if got := core.RedirectURIMatches(reg, uri); got != want {
			t.Errorf("RedirectURIMatches(%q) = %v, want %v", uri, got, want)
		}
	}
	if core.RedirectURIMatches([]string{"http://127.0.0.1:8080/cb"}, "http://127.0.0.1:9090/cb") {
		t.Error("a loopback URI registered with a port matched another port")
	}
}

// oauthEnv is a sandbox and an OAuth client profile with in-memory stores.
func oauthEnv(t *testing.T, autoConsent bool) (*sandbox.Sandbox, *core.Authorizer, *core.MemoryRefreshStore, *core.MemoryTokenCache) {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Options{Users: 2, AutoConsent: autoConsent, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	p := &core.Profile{Domain: sb.Domain(), DefaultSender: "admin@" + sb.Domain(), Credential: sb.OAuthClientJSON(), Endpoints: sb.Endpoints()}
	rs, cache := &core.MemoryRefreshStore{}, &core.MemoryTokenCache{}
	a, err := core.NewAuthorizer(p, cache, rs)
	if err != nil {
		t.Fatal(err)
	}
	return sb, a, rs, cache
}

func TestConsentResponseParsing(t *testing.T) {
	_, a, _, _ := oauthEnv(t, false)
	c, err := a.NewConsent("user1@example.test", "http://127.0.0.1:4711/callback")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(c.URL)
	q := u.Query()
	for k, want := range map[string]string{"access_type": "offline", "prompt": "consent", "login_hint": "user1@example.test", "code_challenge_method": "S256", "response_type": "code"} {
		if q.Get(k) != want {
			t.Errorf("consent URL %s=%q, want %q", k, q.Get(k), want)
		}
	}
	if len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 16 {
		t.Errorf("consent URL lacks PKCE challenge or state: %s", c.URL)
	}
	state := q.Get("state")
	if code, err := c.ParseResponse("http://127.0.0.1:4711/callback?state=" + state + "&code=4/0Aabc&scope=x"); err != nil || code != "4/0Aabc" {
		t.Errorf("full URL: %q %v", code, err)
	}
	if code, err := c.ParseResponse("  4/0Aabc-def_ghi  "); err != nil || code != "4/0Aabc-def_ghi" {
		t.Errorf("bare code: %q %v", code, err)
	}
	if _, err := c.ParseResponse("http://127.0.0.1:4711/callback?state=other&code=4/0Aabc"); err == nil || !strings.Contains(err.Error(), "another consent attempt") {
		t.Errorf("a foreign state was accepted: %v", err)
	}
	if _, err := c.ParseResponse("http://127.0.0.1:4711/callback?error=access_denied&state=" + state); core.FindingOf(err) == nil || core.FindingOf(err).Code != core.CodeAccessDenied {
		t.Errorf("error=access_denied: %v", err)
	}
	// The redirect URI is checked against the client's registered ones first.
	if _, err := a.NewConsent("user1@example.test", "http://127.0.0.1:4711/elsewhere"); core.FindingOf(err) == nil || core.FindingOf(err).Code != core.CodeRedirectURIMismatch || !strings.Contains(err.Error(), "http://127.0.0.1/elsewhere") {
		t.Errorf("unregistered redirect URI: %v", err)
	}
}

func TestAuthorizeRefreshAndRotation(t *testing.T) {
	sb, a, rs, cache := oauthEnv(t, true)
	ctx := context.Background()
	follow := func(_ string, u string) {
		go func() {
			if resp, err := http.Get(u); err == nil {
				resp.Body.Close()
			}
		}()
	}
	g, err := a.Authorize(ctx, "user1@"+sb.Domain(), core.AuthorizeOptions{ShowURL: follow, Wait: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !g.RefreshTokenReceived || g.ExpiresIn < 3500*time.Second || g.ExpiresIn > 3600*time.Second {
		t.Fatalf("grant: %+v", g)
	}
	first, ok, _ := rs.LoadRefreshToken("user1@" + sb.Domain())
	if !ok || first.ClientID != sb.OAuthClientID() {
		t.Fatalf("refresh token not stored: %+v", first)
	}

	tester, err := core.NewTesterWith(a.Profile, cache, rs)
	if err != nil {
		t.Fatal(err)
	}
	tester.Timeout = 5 * time.Second
	// The access token from the consent is cached; after two hours the
	// sandbox refuses it and the refresh token gets a new one.
	sb.AdvanceClock(2 * time.Hour)
	if err := sb.SetConsentScreen(sandbox.ConsentScreen{RotateRefreshTokens: true}); err != nil {
		t.Fatal(err)
	}
	res := tester.Check(ctx, "user1@"+sb.Domain(), []core.CheckName{core.CheckToken, core.CheckIMAP})
	if !res.OK || len(res.Notes) == 0 {
		t.Fatalf("refresh after expiry: %+v", res)
	}
	rotated, _, _ := rs.LoadRefreshToken("user1@" + sb.Domain())
	if rotated.Token == first.Token || rotated.Rotated.IsZero() || !rotated.ConsentedAt.Equal(first.ConsentedAt) {
		t.Fatalf("the rotated refresh token was not stored in place of the old one: %+v", rotated)
	}
	if sb.RefreshTokensIssued("user1@"+sb.Domain()) != 1 {
		t.Fatalf("after rotation the sandbox has %d live refresh tokens, want 1", sb.RefreshTokensIssued("user1@"+sb.Domain()))
	}
	// A mailbox without consent: the finding names the command.
	res = tester.Check(ctx, "user2@"+sb.Domain(), []core.CheckName{core.CheckToken})
	if res.Finding == nil || res.Finding.Code != core.CodeConsentRequired || !strings.Contains(res.Finding.Fix, "mailoauth authorize user2@") {
		t.Fatalf("no consent: %+v", res.Finding)
	}
}
