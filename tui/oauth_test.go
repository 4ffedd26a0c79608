package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
	"github.com/mailoauth/mailoauth/store"
)

// The OAuth client branch: golden frames of its screens, and walks
// against the sandbox through the loopback listener and paste-back.

// oauthProfile is an OAuth client profile stored up to step.
func oauthProfile(t testing.TB, step int) core.Profile {
	p := acmeProfile(t, step)
	p.Credential = readTestdata(t, "oauth-client-loopback.json")
	return p
}

const goldenClientID = "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"

func consentAt(be *fakeBackend, mailbox string) {
	_ = be.TokenCache("acme.example").(*fakeCache).SaveRefreshToken(core.RefreshToken{Mailbox: mailbox, ClientID: goldenClientID,
		Token: "1//refresh-" + mailbox, ConsentedAt: time.Date(2026, 11, 20, 12, 0, 0, 0, time.Local)})
}

// oauthAt is a fake store holding acme.example with an OAuth client,
// stored up to step.
func oauthAt(step int) func(testing.TB) *fakeBackend {
	return func(t testing.TB) *fakeBackend { return withProfile(oauthProfile(t, step)) }
}

func TestGoldenCredentialsChoice(t *testing.T) {
	goldenScript(t, withoutCredential, "acme.example", "How will the product sign in", keyCode(tea.KeyDown), "› 2 OAuth client")
}

func TestGoldenOAuthClient(t *testing.T) {
	goldenWalk(t, func(t *testing.T, W, H int) *harness {
		h := startAcme(t, withoutCredential(t), W, H, "How will the product sign in")
		// good: saved, and on to the consent step; back to see it
		h.walk(runeKey('2'), enter(), "Client JSON file", typed("testdata/oauth-client-loopback.json"), enter(),
			"Consent screen", keyCode(tea.KeyEscape), "Web application")
		h.mustNotShow("the client secret", "GOCSPX-golden")
		return h
	})
}

// The client ID and secret by hand: core's validation, then the secret
// masked and only its fingerprint shown.
func TestOAuthClientByHand(t *testing.T) {
	be := withoutCredential(t)
	h := startAcme(t, be, 80, 24, "How will the product sign in")
	h.walk(runeKey('2'), enter(), "Client JSON file",
		keyCode(tea.KeyDown), typed("104715287395062714451"), // a service account's numeric ID
		keyCode(tea.KeyDown), typed("GOCSPX-typed-secret"), enter(), "not an OAuth client ID")
	h.mustNotShow("the typed secret", "GOCSPX-typed")
	// the focus is on the client ID now
	h.walk(ctrlKey('u'), typed(goldenClientID), enter(), "Consent screen")
	h.final()
	stored := be.profiles["acme.example"]
	c, err := stored.LoadCredential()
	if err != nil || c.Kind != core.KindOAuthClient || c.ClientID != goldenClientID || c.ClientSecret != "GOCSPX-typed-secret" {
		t.Fatalf("stored credential: %+v %v", c, err)
	}
}

func TestGoldenConsent(t *testing.T) {
	goldenScript(t, oauthAt(4), "acme.example", "Consent screen",
		runeKey('u'), runeKey('u'), runeKey('p'), runeKey('p'), "Testing: only test users")
}

// The "Generate token" result, as the flow reports it.
func TestGoldenConsentGranted(t *testing.T) {
	goldenWalk(t, func(t *testing.T, W, H int) *harness {
		be := withProfile(oauthProfile(t, 4))
		h := startAcme(t, be, W, H, "Consent screen")
		g := &core.Grant{Mailbox: "administrator@acme.example", ExpiresIn: 3599 * time.Second, RefreshTokenReceived: true,
			RefreshFingerprint: "SHA256:q2fS0lVxk7X1", Scopes: []string{core.ScopeMail},
			Token: core.Token{Expiry: time.Date(2026, 11, 27, 16, 4, 5, 0, time.Local)}}
		consentAt(be, "administrator@acme.example")
		h.walk(consentDoneMsg{id: flowStep, gen: 0, grant: g}, "Token generated")
		return h
	})
}

func TestGoldenMailboxesConsent(t *testing.T) {
	goldenWalk(t, func(t *testing.T, W, H int) *harness {
		be := withProfile(oauthProfile(t, 5))
		_ = be.PutMailboxes("acme.example", []core.Mailbox{
			{Email: "administrator@acme.example", OwnerKind: core.OwnerUser, OwnerName: "Admin"},
			{Email: "sales@acme.example", DisplayName: "Sales", OwnerKind: core.OwnerWorkgroup, OwnerName: "Sales queue"},
			{Email: "support@acme.example", OwnerKind: core.OwnerACD, OwnerName: "Support"},
		})
		consentAt(be, "administrator@acme.example")
		consentAt(be, "support@acme.example")
		h := startAcme(t, be, W, H, "sales@acme.example")
		h.mustShow("the help line's consent key", "c consent")
		return h
	})
}

func TestGoldenSummaryOAuth(t *testing.T) {
	goldenWalk(t, func(t *testing.T, W, H int) *harness {
		be := withProfile(oauthProfile(t, 7))
		_ = be.PutMailboxes("acme.example", []core.Mailbox{{Email: "administrator@acme.example", OwnerKind: core.OwnerUser}})
		_ = be.SaveResults("acme.example", []core.MailboxResult{{Mailbox: "administrator@acme.example", OK: true}})
		consentAt(be, "administrator@acme.example")
		h := startAcme(t, be, W, H, "is configured")
		if H >= 40 {
			h.mustShow("the summary", "Callback URL", "Auth URL", "Token URL", "1 consented")
		}
		return h
	})
}

// startOAuthSandbox starts a sandbox and a store for the OAuth walks.
func startOAuthSandbox(t *testing.T, users int) (*sandbox.Sandbox, *store.Store) {
	t.Helper()
	sb, st, _ := sandboxWithStore(t, sandbox.Options{Domain: "demo.example", Users: users})
	return sb, st
}

// toConsentStep walks a new sandbox profile to step 4 with the OAuth client.
func toConsentStep(h *harness) {
	h.t.Helper()
	toCredentialsStep(h)
	h.walk(keyCode(tea.KeyDown), enter(), "Web application", enter(), "Consent screen")
}

// TestSandboxWalkthroughOAuth drives the OAuth client branch by keys:
// Generate token through the loopback listener with the sandbox playing
// the browser (a), consent of every mailbox from the mailbox step (c, a),
// then the test: every mailbox passes and the consents are stored.
func TestSandboxWalkthroughOAuth(t *testing.T) {
	sb, st := startOAuthSandbox(t, 2)
	h := start(t, New(Config{Store: st, Actor: "wizard test", Sandbox: sb}), 80, 24)
	toConsentStep(h)
	h.send(enter()) // generate token
	h.waitFor("Waiting for Google's answer")
	// o opens and l copies, as on the service-account path's step 4; the
	// sandbox has no browser, so o copies too.
	h.mustShow("the help line's keys", "a allow in sandbox", "o open URL", "l copy URL")
	h.walk(runeKey('l'), "Copied the consent URL to the clipboard.",
		runeKey('o'), "No browser here: copied the consent URL", runeKey('a'), "Token generated")
	h.mustShow("the token's validity and refresh token", "valid for 3599 s", "Refresh token  received")
	h.walk(enter(), "Assign mailboxes")
	n := len(sb.Users())
	for i := 1; i < n; i++ {
		h.walk(itoa(i)+" of "+itoa(n)+" consented", runeKey('c'), "Waiting for Google's answer", runeKey('a'), "Token generated", enter())
	}
	h.walk(itoa(n)+" of "+itoa(n)+" consented", enter(), "Test the mailboxes", enter())
	waitRunDone(h, itoa(n)+" passed, 0 failed")
	h.final()

	p, err := st.Profile("demo.example")
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.LoadCredential()
	if err != nil || c.Kind != core.KindOAuthClient {
		t.Fatalf("stored credential: %+v %v", c, err)
	}
	cs, err := st.ConsentStates("demo.example", c.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range sb.Users() {
		if !cs[u].Consented {
			t.Errorf("no consent stored for %s: %+v", u, cs)
		}
	}
}

// Over SSH the code comes back by paste: a wrong paste is explained in
// place, then the address the browser ends on (the sandbox key pastes it).
func TestSandboxConsentPaste(t *testing.T) {
	sb, st := startOAuthSandbox(t, 1)
	h := start(t, New(Config{Store: st, Actor: "wizard test", Sandbox: sb, Remote: true}), 80, 24)
	toConsentStep(h)
	h.mustShow("a remote session consents by paste", "paste the address")
	h.send(enter())
	h.waitFor("Then paste the address")
	lines := strings.Split(h.p.screen(), "\n")
	if help := lines[len(lines)-1]; !strings.Contains(help, "ctrl+a allow in sandbox") || !strings.Contains(help, "ctrl+c quit") {
		t.Errorf("the help line lacks the sandbox key or quit: %q", help)
	}
	h.typeText("not a code")
	h.send(enter())
	h.waitFor("neither the redirected address")
	h.send(tea.KeyPressMsg{Code: 'a', Mod: tea.ModCtrl})
	h.waitFor("Token generated")
	h.final()
	if got := st.RefreshTokens("demo.example"); got == nil {
		t.Fatal("no refresh store")
	}
	if rt, ok, _ := st.RefreshTokens("demo.example").LoadRefreshToken("admin@demo.example"); !ok || rt.Token == "" {
		t.Fatal("the pasted consent was not stored")
	}
}

// A consent Google refuses shows core's finding with its fix: an External
// app in Testing, and the mailbox is no test user.
func TestSandboxConsentAccessDenied(t *testing.T) {
	sb, st := startOAuthSandbox(t, 1)
	if err := sb.SetConsentScreen(sandbox.ConsentScreen{UserType: sandbox.UserTypeExternal, PublishingStatus: sandbox.PublishTesting}); err != nil {
		t.Fatal(err)
	}
	h := start(t, New(Config{Store: st, Actor: "wizard test", Sandbox: sb}), 80, 24)
	toConsentStep(h)
	h.send(enter())
	h.waitFor("Fix:")
	h.mustShow("access_denied's fix", "Test users", "admin@demo.example")
	h.final()
}

// The host product's callback as redirect URI: consent by paste, and a
// URI the client does not list is caught before any browser opens.
func TestSandboxConsentRedirectMismatch(t *testing.T) {
	sb, st := startOAuthSandbox(t, 1)
	h := start(t, New(Config{Store: st, Actor: "wizard test", Sandbox: sb}), 80, 24)
	toCredentialsStep(h)
	h.walk(runeKey('2'), enter(), "Web application", keyCode(tea.KeyDown), keyCode(tea.KeyDown), keyCode(tea.KeyDown),
		typed("https://crm.example.test/oauth/callback"), enter(), "Consent screen")
	h.mustShow("the checklist names the callback and consents by paste", "https://crm.example.test/oauth/callback", "paste the address")
	h.send(enter())
	h.waitFor("Fix:")
	h.mustShow("redirect_uri_mismatch's fix", "redirect_uri_mismatch", "add exactly")
	h.final()
	p, _ := st.Profile("demo.example")
	if p.RedirectURI != "https://crm.example.test/oauth/callback" {
		t.Fatalf("stored redirect URI %q", p.RedirectURI)
	}
}
