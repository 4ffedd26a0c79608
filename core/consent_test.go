package core_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/consent"
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
func oauthEnv(t *testing.T, autoConsent bool) (*sandbox.Sandbox, *consent.Authorizer, *core.MemoryRefreshStore, *core.MemoryTokenCache) {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Options{Users: 2, AutoConsent: autoConsent, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	p := &core.Profile{Domain: sb.Domain(), DefaultSender: "admin@" + sb.Domain(), Credential: sb.OAuthClientJSON(), Endpoints: sb.Endpoints()}
	rs, cache := &core.MemoryRefreshStore{}, &core.MemoryTokenCache{}
	a, err := consent.New(p, cache, rs)
	if err != nil {
		t.Fatal(err)
	}
	return sb, a, rs, cache
}

// followConsent is the browser of a test: it opens the consent URL it is
// shown, and the sandbox (with AutoConsent) answers Allow.
func followConsent(_ string, u string) {
	go func() {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
		}
	}()
}

// begin starts the consent of mailbox, closed when the test ends.
func begin(ctx context.Context, t *testing.T, a *consent.Authorizer, mailbox string, opts consent.Options) *consent.Pending {
	t.Helper()
	p, err := a.Begin(ctx, mailbox, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
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
	g, err := a.Authorize(ctx, "user1@"+sb.Domain(), consent.Options{ShowURL: followConsent, Wait: 10 * time.Second})
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

// TestConsentStepsLoopback runs the steps the wizard drives one by one:
// Begin listens on 127.0.0.1, Wait hears the browser's redirect, Finish
// stores the consent and closes the listener.
func TestConsentStepsLoopback(t *testing.T) {
	sb, a, rs, _ := oauthEnv(t, true)
	ctx := context.Background()
	mailbox := "user1@" + sb.Domain()
	var shown string
	p := begin(ctx, t, a, mailbox, consent.Options{ShowURL: func(_, u string) { shown = u }})
	if p.Paste || shown != p.URL || !core.IsLoopbackURI(p.RedirectURI) {
		t.Fatalf("Begin: paste=%v shown=%q url=%q redirect=%q", p.Paste, shown, p.URL, p.RedirectURI)
	}
	u, _ := url.Parse(p.RedirectURI)
	if u.Port() == "" {
		t.Fatalf("the listener's redirect URI has no port: %s", p.RedirectURI)
	}
	followConsent("", p.URL) // the sandbox consents and redirects to the listener
	answer, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g, err := p.Finish(ctx, answer)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok, _ := rs.LoadRefreshToken(mailbox); !ok || !g.RefreshTokenReceived || st.Fingerprint() != g.RefreshFingerprint {
		t.Fatalf("consent not stored: grant %+v, stored %v", g, ok)
	}
	if resp, err := http.Get(p.RedirectURI + "?code=x&state=y"); err == nil {
		resp.Body.Close()
		t.Fatalf("the loopback listener %s still answers after Finish", p.RedirectURI)
	}
}

// TestConsentStepsPaste: with paste-back nothing listens; Submit refuses
// what is not an answer (the user may paste again) and Finish stores the
// consent from the pasted code.
func TestConsentStepsPaste(t *testing.T) {
	sb, a, rs, _ := oauthEnv(t, true)
	ctx := context.Background()
	mailbox := "user2@" + sb.Domain()
	p := begin(ctx, t, a, mailbox, consent.Options{Paste: true})
	if !p.Paste || p.Opened {
		t.Fatalf("Begin with Paste: %+v", p)
	}
	// Without a way to read the paste there is nothing to wait for.
	if _, err := p.Wait(ctx); err == nil || core.FindingOf(err) != nil || !strings.Contains(err.Error(), "paste") {
		t.Fatalf("Wait without ReadPaste: %v", err)
	}
	// The browser, stopped at the redirect: the address it would end on.
	hc, err := sb.Endpoints().HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if !strings.Contains(loc, "code=") {
		t.Fatalf("the sandbox did not redirect with a code: %s %q", resp.Status, loc)
	}
	var ie *core.InputError
	if _, err := p.Submit("this is not it"); !errors.As(err, &ie) || core.FindingOf(err) != nil {
		t.Fatalf("a wrong paste: %v (want an input error, not a finding)", err)
	}
	code, err := p.Submit("  " + loc + "  ")
	if err != nil || code == "" {
		t.Fatalf("Submit(%q) = %q, %v", loc, code, err)
	}
	g, err := p.Finish(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := rs.LoadRefreshToken(mailbox); !ok || g.Mailbox != mailbox {
		t.Fatalf("consent of %s not stored: %+v", mailbox, g)
	}
}

// TestConsentTimeoutFinding: when no answer comes in time, the listener and
// paste-back give the same finding, made once in core; its fix names the
// command, or what the caller says (the wizard's key). Cancelling is not a
// timeout.
func TestConsentTimeoutFinding(t *testing.T) {
	sb, a, _, _ := oauthEnv(t, false)
	ctx := context.Background()
	mailbox := "user1@" + sb.Domain()
	const wait = 50 * time.Millisecond

	p := begin(ctx, t, a, mailbox, consent.Options{Wait: wait})
	_, err := p.Wait(ctx)
	p.Close()
	lf := core.FindingOf(err)
	if lf == nil || lf.Code != core.CodeConsentRequired || !strings.Contains(lf.Summary, mailbox) || !strings.Contains(lf.Summary, "within 50ms") ||
		!strings.Contains(lf.Fix, "then run `mailoauth authorize "+mailbox+"` again") {
		t.Fatalf("loopback timeout: %v", err)
	}

	block := func(ctx context.Context) (string, error) { <-ctx.Done(); return "", ctx.Err() }
	_, err = a.Authorize(ctx, mailbox, consent.Options{Paste: true, ReadPaste: block, Wait: wait})
	if pf := core.FindingOf(err); pf == nil || *pf != *lf {
		t.Fatalf("paste timeout %v differs from the listener's %+v", err, lf)
	}

	p = begin(ctx, t, a, mailbox, consent.Options{Wait: wait, Retry: "press g to try again"})
	_, err = p.Wait(ctx)
	p.Close()
	if wf := core.FindingOf(err); wf == nil || wf.Summary != lf.Summary || !strings.HasSuffix(wf.Fix, "then press g to try again.") || strings.Contains(wf.Fix, "mailoauth authorize") {
		t.Fatalf("timeout with the wizard's retry: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	p = begin(cctx, t, a, mailbox, consent.Options{})
	cancel()
	if _, err := p.Wait(cctx); !errors.Is(err, context.Canceled) || core.FindingOf(err) != nil {
		t.Fatalf("a cancelled wait: %v", err)
	}
}

// A mailbox of another organisation (here partner.test, beside the
// sandbox's example.test) works on the OAuth client path: its owner
// consents to an External app, and every check passes.
func TestOAuthClientServesMailboxOutsideTheDomain(t *testing.T) {
	sb, a, rs, cache := oauthEnv(t, true)
	const partner = "someone@partner.test"
	if err := sb.SetUser(sandbox.UserUpdate{Email: partner}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Profile.MailboxRule().Address(partner); err != nil {
		t.Fatalf("the OAuth client profile refused %s: %v", partner, err)
	}
	// The Workspace admin's IMAP switch is for example.test's users only.
	sb.SetDomainIMAP(false)
	ctx := context.Background()
	// An Internal app is for its own organisation only.
	_, err := a.Authorize(ctx, partner, consent.Options{ShowURL: followConsent, Wait: 10 * time.Second})
	if f := core.FindingOf(err); f == nil || f.Code != core.CodeAccessDenied || !strings.Contains(f.Summary, "Internal") {
		t.Fatalf("consent of an outside user to an Internal app: %v", err)
	}
	if err := sb.SetConsentScreen(sandbox.ConsentScreen{UserType: sandbox.UserTypeExternal, PublishingStatus: sandbox.PublishProduction}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authorize(ctx, partner, consent.Options{ShowURL: followConsent, Wait: 10 * time.Second}); err != nil {
		t.Fatalf("consent of an outside user to an External app: %v", err)
	}
	tester, err := core.NewTesterWith(a.Profile, cache, rs)
	if err != nil {
		t.Fatal(err)
	}
	tester.Timeout = 10 * time.Second
	// roundtrip: the sandbox's SMTP delivers to the partner's INBOX.
	if res := tester.Check(ctx, partner, core.AllChecks); !res.OK || len(res.Checks) != len(core.AllChecks) {
		t.Fatalf("checks of %s: %+v", partner, res)
	}
}

// TestSandboxApproveConsent: the sandbox's Go call approves a consent as
// its page's Allow does (the wizard's sandbox mode uses it instead of
// reading the page): the address it returns carries a code that Finish
// stores; a suspended owner is refused as the page refuses, and a URL that
// is not the sandbox's consent page is not answered.
func TestSandboxApproveConsent(t *testing.T) {
	sb, a, rs, _ := oauthEnv(t, false)
	ctx := context.Background()
	mailbox := "user1@" + sb.Domain()
	p := begin(ctx, t, a, mailbox, consent.Options{Paste: true})
	loc, err := sb.ApproveConsent(p.URL)
	if err != nil || !strings.Contains(loc, "code=") {
		t.Fatalf("ApproveConsent = %q, %v; want a redirect with a code", loc, err)
	}
	code, err := p.Submit(loc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Finish(ctx, code); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := rs.LoadRefreshToken(mailbox); !ok {
		t.Fatalf("the approved consent of %s was not stored", mailbox)
	}

	other := "user2@" + sb.Domain()
	p2 := begin(ctx, t, a, other, consent.Options{Paste: true})
	suspended := true
	if err := sb.SetUser(sandbox.UserUpdate{Email: other, Suspended: &suspended}); err != nil {
		t.Fatal(err)
	}
	var refused *sandbox.ConsentRefusedError
	if loc, err := sb.ApproveConsent(p2.URL); !errors.As(err, &refused) || refused.Code != core.OAuthAccessDenied || loc != "" {
		t.Fatalf("a suspended owner's consent: %q, %v; want access_denied", loc, err)
	}
	if _, err := sb.ApproveConsent(strings.Replace(p2.URL, "/o/oauth2/auth", "/elsewhere", 1)); err == nil {
		t.Fatal("a URL that is not the consent page was approved")
	}
}

// TestConsentClock: the access token's expiry is reckoned by the clock the
// caller gives (the README's screenshots fix it), and it is the expiry the
// token cache keeps.
func TestConsentClock(t *testing.T) {
	sb, a, _, cache := oauthEnv(t, false)
	ctx := context.Background()
	mailbox := "user1@" + sb.Domain()
	at := time.Date(2026, 12, 1, 9, 41, 0, 0, time.UTC)
	p := begin(ctx, t, a, mailbox, consent.Options{Paste: true, Clock: func() time.Time { return at }})
	loc, err := sb.ApproveConsent(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	g, err := p.Finish(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if want := at.Add(g.ExpiresIn); g.Token.Expiry.Sub(want).Abs() > time.Second {
		t.Fatalf("access token expires %v, want %v (the given clock plus %v)", g.Token.Expiry, want, g.ExpiresIn)
	}
	if tok, ok, err := cache.LoadToken(mailbox, g.Token.Scopes); err != nil || !ok || !tok.Expiry.Equal(g.Token.Expiry) {
		t.Fatalf("cached token %+v, %v, %v; want the expiry %v", tok, ok, err, g.Token.Expiry)
	}
}
