package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

var consentURLRe = regexp.MustCompile(`https?://\S+/o/oauth2/auth\?\S+`)

// browser answers consent pages the way a user would: it loads the URL and,
// when the sandbox shows its consent form (no --auto-consent), submits the
// chosen button; redirects (to the loopback listener) are followed.
type browser func(t *testing.T, consentURL string)

func autoBrowser(t *testing.T, u string) {
	resp, err := http.Get(u)
	if err != nil {
		t.Errorf("following the consent URL: %v", err)
		return
	}
	resp.Body.Close()
}

var sessionRe = regexp.MustCompile(`name="session" value="([0-9a-f]+)"`)

func clickBrowser(action string) browser {
	return func(t *testing.T, u string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Errorf("loading the consent page: %v", err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := sessionRe.FindSubmatch(body)
		if m == nil || !bytes.Contains(body, []byte("Allow")) || !bytes.Contains(body, []byte(core.ScopeMail)) {
			t.Errorf("the consent page lacks the form, Allow or the scope: %s", body)
			return
		}
		pu, _ := url.Parse(u)
		resp, err = http.PostForm(pu.Scheme+"://"+pu.Host+pu.Path, url.Values{"session": {string(m[1])}, "action": {action}})
		if err != nil {
			t.Errorf("submitting %s: %v", action, err)
			return
		}
		resp.Body.Close()
	}
}

// authorize runs `mailoauth authorize` and plays the browser for every
// consent URL it prints on stderr.
func authorize(t *testing.T, db string, b browser, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--db", db, "authorize", "--no-browser", "--wait", "20s"}, args...)...)
	cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=")
	var out bytes.Buffer
	cmd.Stdout = &out
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	sc := bufio.NewScanner(errPipe)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		stderr.WriteString(line + "\n")
		if u := consentURLRe.FindString(line); u != "" {
			b(t, u)
		}
	}
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("authorize %v: %v", args, err)
	}
	if strings.Contains(stderr.String(), "goroutine ") {
		t.Fatalf("authorize printed a stack trace: %s", stderr.String())
	}
	return cliResult{out.String(), stderr.String(), code}
}

func wantFinding(t *testing.T, name string, r cliResult, code core.Code, mention ...string) {
	t.Helper()
	if r.code != 1 || !strings.Contains(r.stdout, "["+string(code)+"]") {
		t.Fatalf("%s: want exit 1 with [%s], got exit %d\nstdout: %s\nstderr: %s", name, code, r.code, r.stdout, r.stderr)
	}
	for _, m := range mention {
		if !strings.Contains(r.stdout, m) {
			t.Fatalf("%s: the finding does not mention %q:\n%s", name, m, r.stdout)
		}
	}
}

func TestEndToEndOAuthClient(t *testing.T) {
	sb := startSandbox(t, 3, "--auto-consent")
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	client := filepath.Join(sb.dir, "oauth-client.json")
	endpoints := filepath.Join(sb.dir, "endpoints.json")
	cred, _, err := core.LoadCredentialFile(context.Background(), client, core.CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}

	r := mailoauth(t, db, "setup", "--domain", "example.test", "--sender", "admin@example.test", "--client", client, "--endpoints", endpoints)
	if r.code != 0 || !strings.Contains(r.stdout, cred.ClientID) || !strings.Contains(r.stdout, "http://127.0.0.1/callback") || strings.Contains(r.stdout, cred.ClientSecret) {
		t.Fatalf("setup --client: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, m := range []string{"user1@example.test", "user2@example.test"} {
		if r = mailoauth(t, db, "mailbox", "add", m); r.code != 0 {
			t.Fatalf("mailbox add: %s", r.stderr)
		}
	}

	// Before consent there is no token, and the finding says how to get one.
	l, exit := testOne(t, db, "user1@example.test", "--checks", "token")
	if exit != 1 || l.Finding == nil || l.Finding.Code != core.CodeConsentRequired || !strings.Contains(l.Finding.Fix, "mailoauth authorize user1@example.test") {
		t.Fatalf("before consent: exit %d %+v", exit, l)
	}

	if r = mailoauth(t, db, "mailbox", "ls"); !strings.Contains(r.stdout, "CONSENT") || strings.Count(r.stdout, "none") != 2 {
		t.Fatalf("mailbox ls should show that no mailbox has consented yet:\n%s", r.stdout)
	}

	// Consent through the loopback listener, then for every mailbox still lacking it.
	r = authorize(t, db, autoBrowser, "admin@example.test")
	if r.code != 0 || !strings.Contains(r.stdout, "consent stored") || !strings.Contains(r.stdout, "refresh token received") || !strings.Contains(r.stdout, "valid for 3599 s") {
		t.Fatalf("authorize: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = authorize(t, db, autoBrowser, "--all")
	if r.code != 0 || strings.Count(r.stdout, "consent stored") != 2 || strings.Contains(r.stdout, "admin@example.test") {
		t.Fatalf("authorize --all should consent user1 and user2 only: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = authorize(t, db, autoBrowser, "--all"); r.code != 0 || !strings.Contains(r.stdout, "nothing to do") {
		t.Fatalf("authorize --all with everyone consented: %d %s", r.code, r.stdout)
	}
	if r = mailoauth(t, db, "mailbox", "ls"); strings.Count(r.stdout, "✓ ") != 2 || strings.Contains(r.stdout, "none") {
		t.Fatalf("mailbox ls should show both consents:\n%s", r.stdout)
	}

	// The host product's fields (Webex / Creatio), the secret only when asked.
	r = mailoauth(t, db, "export")
	if r.code != 0 || !strings.Contains(r.stdout, `"callback_url": "http://127.0.0.1/callback"`) || !strings.Contains(r.stdout, `"authorization_url"`) ||
		!strings.Contains(r.stdout, `"refresh_token_url"`) || strings.Contains(r.stdout, cred.ClientSecret) {
		t.Fatalf("export of an OAuth client profile: %d\n%s", r.code, r.stdout)
	}
	if r = mailoauth(t, db, "export", "--format", "env", "--include-secrets"); !strings.Contains(r.stdout, "MAILOAUTH_CLIENT_SECRET="+cred.ClientSecret) {
		t.Fatalf("export --include-secrets lacks the client secret:\n%s", r.stdout)
	}

	r = mailoauth(t, db, "test", "--all", "--json")
	lines := parseLines(t, r.stdout)
	if r.code != 0 || len(lines) != 4 || lines[3].Summary == nil || lines[3].Summary.OK != 3 {
		t.Fatalf("test --all: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = mailoauth(t, db, "token", "user1@example.test")
	if r.code != 0 {
		t.Fatalf("token: %d %s", r.code, r.stderr)
	}
	imapLogin(t, sb, "user1@example.test", strings.TrimSpace(r.stdout))

	// Two hours later the cached access tokens have expired at Google: the
	// stored refresh tokens get fresh ones.
	sb.admin(t, "POST", "/clock/advance", map[string]any{"seconds": 7200})
	r = mailoauth(t, db, "test", "--all", "--json", "--checks", "token,imap,smtp")
	lines = parseLines(t, r.stdout)
	if r.code != 0 || lines[len(lines)-1].Summary.OK != 3 {
		t.Fatalf("test after the access tokens expired: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, l := range lines[:3] {
		if !strings.Contains(strings.Join(l.Notes, " "), "fresh") {
			t.Fatalf("the expired token was not replaced through the refresh token: %+v", l)
		}
	}
	r = mailoauth(t, db, "token", "user1@example.test")
	imapLogin(t, sb, "user1@example.test", strings.TrimSpace(r.stdout))

	// Google rotates refresh tokens: each replacement is stored, so the
	// next refresh works although the old token is dead.
	sb.admin(t, "POST", "/oauth/consent", map[string]any{"rotate_refresh_tokens": true})
	for i := 0; i < 2; i++ {
		sb.admin(t, "POST", "/clock/advance", map[string]any{"seconds": 7200})
		if l, exit := testOne(t, db, "user2@example.test", "--checks", "token,imap"); exit != 0 || !l.OK {
			t.Fatalf("refresh %d with rotation: exit %d %+v", i, exit, l)
		}
	}
	sb.admin(t, "POST", "/oauth/consent", map[string]any{"rotate_refresh_tokens": false})

	// consent_required: the user removed the app's access.
	sb.admin(t, "POST", "/oauth/revoke", map[string]any{"email": "user1@example.test"})
	sb.admin(t, "POST", "/clock/advance", map[string]any{"seconds": 7200})
	l, exit = testOne(t, db, "user1@example.test", "--checks", "token,imap")
	if exit != 1 || l.Finding == nil || l.Finding.Code != core.CodeConsentRequired || !strings.Contains(l.Finding.Fix, "mailoauth authorize user1@example.test") {
		t.Fatalf("revoked consent: exit %d %+v", exit, l)
	}

	// access_denied: an External app in Testing, and user1 is no test user.
	sb.admin(t, "POST", "/oauth/consent", map[string]any{"user_type": "external", "publishing_status": "testing"})
	r = authorize(t, db, autoBrowser, "user1@example.test")
	wantFinding(t, "not a test user", r, core.CodeAccessDenied, "Test users", "user1@example.test")

	// ... and a test user who chooses Deny on the consent page.
	sb.admin(t, "POST", "/oauth/test_users", map[string]any{"add": []string{"user1@example.test", "user2@example.test"}})
	sb.admin(t, "POST", "/oauth/consent", map[string]any{"auto_consent": false})
	r = authorize(t, db, clickBrowser("deny"), "user1@example.test")
	wantFinding(t, "deny", r, core.CodeAccessDenied)
	r = authorize(t, db, clickBrowser("allow"), "user1@example.test")
	if r.code != 0 {
		t.Fatalf("allow on the consent page: %d %s %s", r.code, r.stdout, r.stderr)
	}

	// testing_app_refresh_expired: a week after consent in Testing.
	sb.admin(t, "POST", "/clock/advance", map[string]any{"seconds": 8 * 24 * 3600})
	l, exit = testOne(t, db, "user1@example.test", "--checks", "token,imap")
	if exit != 1 || l.Finding == nil || l.Finding.Code != core.CodeTestingAppRefreshExpired || !strings.Contains(l.Finding.Fix, "Publish app") {
		t.Fatalf("7-day expiry in Testing: exit %d %+v", exit, l)
	}
	// user2 consented while the app was Internal: its token does not expire.
	if l, exit = testOne(t, db, "user2@example.test", "--checks", "token,imap"); exit != 0 {
		t.Fatalf("a consent from before Testing should still work: %d %+v", exit, l)
	}

	// redirect_uri_mismatch: the console no longer lists the loopback URI.
	sb.admin(t, "POST", "/oauth/consent", map[string]any{"auto_consent": true, "user_type": "internal"})
	sb.admin(t, "POST", "/oauth/redirect_uris", map[string]any{"uris": []string{"https://crm.example.test/oauth/callback"}})
	r = authorize(t, db, autoBrowser, "user1@example.test")
	wantFinding(t, "redirect URI not registered", r, core.CodeRedirectURIMismatch, "http://127.0.0.1/callback")
	sb.admin(t, "POST", "/oauth/redirect_uris", map[string]any{"uris": []string{"http://127.0.0.1/callback"}})

	// invalid_client: the client ID entered by hand with a wrong secret.
	db2 := filepath.Join(t.TempDir(), "mailoauth.db")
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("GOCSPX-not-the-secret\n"), 0o600)
	r = mailoauth(t, db2, "setup", "--domain", "example.test", "--sender", "admin@example.test", "--client-id", cred.ClientID,
		"--client-secret-file", secret, "--redirect-uri", "http://127.0.0.1/callback", "--endpoints", endpoints)
	if r.code != 0 {
		t.Fatalf("setup --client-id: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = authorize(t, db2, autoBrowser, "admin@example.test")
	wantFinding(t, "wrong client secret", r, core.CodeInvalidClient, "Client secret", cred.ClientID)
	// The right secret by hand works like the JSON.
	os.WriteFile(secret, []byte(cred.ClientSecret+"\n"), 0o600)
	mailoauth(t, db2, "setup", "--domain", "example.test", "--sender", "admin@example.test", "--client-id", cred.ClientID,
		"--client-secret-file", secret, "--redirect-uri", "http://127.0.0.1/callback", "--endpoints", endpoints, "--no-verify")
	if r = authorize(t, db2, autoBrowser, "admin@example.test"); r.code != 0 {
		t.Fatalf("authorize with the client entered by hand: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if l, exit := testOne(t, db2, "admin@example.test"); exit != 0 || !l.OK {
		t.Fatalf("test with the client entered by hand: %d %+v", exit, l)
	}
}

func TestOAuthClientPasteBack(t *testing.T) {
	sb := startSandbox(t, 1)
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	// The host product's callback: the browser ends there, and the user
	// pastes the address it shows.
	sb.admin(t, "POST", "/oauth/redirect_uris", map[string]any{"uris": []string{"https://crm.example.test/oauth/callback"}})
	r := mailoauth(t, db, "setup", "--domain", "example.test", "--sender", "user1@example.test", "--client", filepath.Join(sb.dir, "oauth-client.json"),
		"--redirect-uri", "https://crm.example.test/oauth/callback", "--endpoints", filepath.Join(sb.dir, "endpoints.json"), "--no-verify")
	if r.code != 0 {
		t.Fatalf("setup: %s %s", r.stdout, r.stderr)
	}
	// The JSON lists only the loopback URI, so the local check finds the mismatch first.
	if r = mailoauth(t, db, "authorize", "--paste", "user1@example.test"); r.code != 1 || !strings.Contains(r.stdout, "[redirect_uri_mismatch]") || !strings.Contains(r.stdout, "https://crm.example.test/oauth/callback") {
		t.Fatalf("paste with an unregistered callback: %d %s %s", r.code, r.stdout, r.stderr)
	}
	cred, _, _ := core.LoadCredentialFile(context.Background(), filepath.Join(sb.dir, "oauth-client.json"), core.CredentialOptions{})
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte(cred.ClientSecret), 0o600)
	if r = mailoauth(t, db, "setup", "--domain", "example.test", "--sender", "user1@example.test", "--client-id", cred.ClientID, "--client-secret-file", secret,
		"--redirect-uri", "https://crm.example.test/oauth/callback", "--endpoints", filepath.Join(sb.dir, "endpoints.json"), "--no-verify"); r.code != 0 {
		t.Fatalf("setup by hand: %s %s", r.stdout, r.stderr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--db", db, "authorize", "--paste", "user1@example.test")
	cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=")
	stdin, _ := cmd.StdinPipe()
	errPipe, _ := cmd.StderrPipe()
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		u := consentURLRe.FindString(sc.Text())
		if u == "" {
			continue
		}
		// The user clicks Allow; the browser ends on the callback, which
		// this test does not follow (the host does not exist).
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := sessionRe.FindSubmatch(body)
		if m == nil {
			t.Fatalf("no consent form: %s", body)
		}
		pu, _ := url.Parse(u)
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err = noFollow.PostForm(pu.Scheme+"://"+pu.Host+pu.Path, url.Values{"session": {string(m[1])}, "action": {"allow"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "https://crm.example.test/oauth/callback?") {
			t.Fatalf("Allow redirected to %q", loc)
		}
		io.WriteString(stdin, loc+"\n")
	}
	if err := cmd.Wait(); err != nil || !strings.Contains(out.String(), "consent stored") {
		t.Fatalf("authorize --paste: %v\n%s", err, out.String())
	}
	if l, exit := testOne(t, db, "user1@example.test", "--checks", "token,imap"); exit != 0 || !l.OK {
		t.Fatalf("test after paste-back: %d %+v", exit, l)
	}
}
