package core

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2/jws"
)

func testRSAKey(t testing.TB) *rsa.PrivateKey { return rsaKey(t) }

// fakeTokenServer verifies the JWT bearer assertion like Google's token
// endpoint and answers with a token or with the configured error.
type fakeTokenServer struct {
	*httptest.Server
	t      testing.TB
	key    *rsa.PublicKey
	mints  atomic.Int32
	delay  time.Duration
	mu     sync.Mutex
	errFor map[string][2]string // sub -> error, description
	date   time.Time            // Date header to send; zero: now
	claims []*jws.ClaimSet
}

func newFakeTokenServer(t testing.TB) *fakeTokenServer {
	f := &fakeTokenServer{t: t, key: &testRSAKey(t).PublicKey, errFor: map[string][2]string{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTokenServer) fail(sub, code, desc string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errFor[sub] = [2]string{code, desc}
}

func (f *fakeTokenServer) serve(w http.ResponseWriter, r *http.Request) {
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	f.mu.Lock()
	date := f.date
	f.mu.Unlock()
	if !date.IsZero() {
		w.Header().Set("Date", date.UTC().Format(http.TimeFormat))
	}
	w.Header().Set("Content-Type", "application/json")
	if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":"unsupported_grant_type","error_description":"Invalid grant_type: "}`)
		return
	}
	a := r.Form.Get("assertion")
	if err := jws.Verify(a, f.key); err != nil {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":"invalid_grant","error_description":%q}`, DescInvalidSignature)
		return
	}
	cs, _ := jws.Decode(a)
	f.mu.Lock()
	f.claims = append(f.claims, cs)
	e, bad := f.errFor[cs.Sub]
	f.mu.Unlock()
	if bad {
		w.WriteHeader(400)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": e[0], "error_description": e[1]})
		return
	}
	n := f.mints.Add(1)
	fmt.Fprintf(w, `{"access_token":"ya29.tok-%s-%d","expires_in":3599,"token_type":"Bearer"}`, cs.Sub, n)
}

func testCred(tokenURI string) *Credential {
	k := testRSAKey(nil)
	return &Credential{Kind: KindServiceAccount, ClientEmail: "mailer@proj.iam.gserviceaccount.com",
		ClientID: "104715287395062714451", PrivateKeyID: "abc123", PrivateKey: k, TokenURI: tokenURI}
}

func TestTokenMintAndCache(t *testing.T) {
	f := newFakeTokenServer(t)
	p := &TokenProvider{Cred: testCred(f.URL + "/token"), Scopes: []string{ScopeMail}}
	ctx := context.Background()
	tok, cached, err := p.Token(ctx, "User1@Example.test")
	if err != nil {
		t.Fatal(err)
	}
	if cached || tok.Mailbox != "user1@example.test" || !strings.HasPrefix(tok.AccessToken, "ya29.tok-user1@example.test") {
		t.Fatalf("got %+v cached=%v", tok, cached)
	}
	if d := time.Until(tok.Expiry); d < 59*time.Minute || d > time.Hour {
		t.Fatalf("expiry in %v", d)
	}
	cs := f.claims[0]
	if cs.Iss != "mailer@proj.iam.gserviceaccount.com" || cs.Sub != "user1@example.test" || cs.Scope != ScopeMail || cs.Aud != f.URL+"/token" {
		t.Fatalf("claims %+v", cs)
	}
	tok2, cached, err := p.Token(ctx, "user1@example.test")
	if err != nil || !cached || tok2.AccessToken != tok.AccessToken {
		t.Fatalf("second call: %+v cached=%v err=%v", tok2, cached, err)
	}
	if f.mints.Load() != 1 {
		t.Fatalf("minted %d", f.mints.Load())
	}
	if err := p.Invalidate("user1@example.test"); err != nil {
		t.Fatal(err)
	}
	if _, cached, _ := p.Token(ctx, "user1@example.test"); cached || f.mints.Load() != 2 {
		t.Fatalf("after Invalidate: cached=%v mints=%d", cached, f.mints.Load())
	}
}

func TestTokenRenewedNearExpiry(t *testing.T) {
	f := newFakeTokenServer(t)
	now := time.Now()
	p := &TokenProvider{Cred: testCred(f.URL), Now: func() time.Time { return now }}
	ctx := context.Background()
	if _, _, err := p.Token(ctx, "a@example.test"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(50 * time.Minute) // 10 min left: still usable
	if _, cached, _ := p.Token(ctx, "a@example.test"); !cached {
		t.Fatal("token with 10 min left was not reused")
	}
	now = now.Add(6 * time.Minute) // 4 min left: renew
	if _, cached, _ := p.Token(ctx, "a@example.test"); cached {
		t.Fatal("token with 4 min left was reused")
	}
	if f.mints.Load() != 2 {
		t.Fatalf("minted %d", f.mints.Load())
	}
}

func TestTokenSingleflight(t *testing.T) {
	f := newFakeTokenServer(t)
	f.delay = 100 * time.Millisecond
	p := &TokenProvider{Cred: testCred(f.URL)}
	var wg sync.WaitGroup
	toks := make([]string, 20)
	for i := range toks {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tok, _, err := p.Token(context.Background(), "same@example.test")
			if err != nil {
				t.Error(err)
			}
			toks[i] = tok.AccessToken
		}(i)
	}
	wg.Wait()
	if f.mints.Load() != 1 {
		t.Fatalf("20 concurrent calls minted %d tokens", f.mints.Load())
	}
	for _, tk := range toks {
		if tk != toks[0] {
			t.Fatalf("different tokens %q %q", tk, toks[0])
		}
	}
}

func TestTokenUsesEndpointsForDefaultTokenURI(t *testing.T) {
	f := newFakeTokenServer(t)
	p := &TokenProvider{Cred: testCred(GoogleTokenURL), Endpoints: Endpoints{TokenURL: f.URL + "/tok"}}
	if p.TokenURL() != f.URL+"/tok" {
		t.Fatalf("TokenURL %q", p.TokenURL())
	}
	if _, _, err := p.Token(context.Background(), "x@example.test"); err != nil {
		t.Fatal(err)
	}
}

func TestTokenErrorsAreFindings(t *testing.T) {
	f := newFakeTokenServer(t)
	f.fail("nobody@example.test", OAuthInvalidGrant, DescInvalidEmail)
	f.fail("locked@example.test", OAuthUnauthorizedClient, DescUnauthorizedClient)
	p := &TokenProvider{Cred: testCred(f.URL), Scopes: []string{ScopeMail, ScopeCalendar}}
	_, _, err := p.Token(context.Background(), "nobody@example.test")
	if f := FindingOf(err); f == nil || f.Code != CodeUnknownUser || !strings.Contains(f.Summary, "nobody@example.test") {
		t.Fatalf("unknown user: %v", err)
	}
	_, _, err = p.Token(context.Background(), "locked@example.test")
	fd := FindingOf(err)
	if fd == nil || fd.Code != CodeDelegationNotAuthorized {
		t.Fatalf("delegation: %v", err)
	}
	if !strings.Contains(fd.Fix, "add client ID 104715287395062714451 with scope https://mail.google.com/,https://www.googleapis.com/auth/calendar") {
		t.Fatalf("fix %q", fd.Fix)
	}
	// The service account's own address is refused before any request.
	before := len(f.claims)
	_, _, err = p.Token(context.Background(), "mailer@proj.iam.gserviceaccount.com")
	if fd := FindingOf(err); fd == nil || fd.Code != CodeServiceAccountAsMailbox || len(f.claims) != before {
		t.Fatalf("service account: %v", err)
	}
}

func TestTokenWrongKeyAndClockSkew(t *testing.T) {
	f := newFakeTokenServer(t)
	other, _ := rsa.GenerateKey(rand.Reader, 1024)
	c := testCred(f.URL)
	c.PrivateKey = other
	p := &TokenProvider{Cred: c}
	_, _, err := p.Token(context.Background(), "u@example.test")
	if fd := FindingOf(err); fd == nil || fd.Code != CodeKeySignatureRejected {
		t.Fatalf("wrong key: %v", err)
	}

	f.fail("skew@example.test", OAuthInvalidGrant, DescShortLivedToken)
	f.date = time.Now().Add(-10 * time.Minute)
	p = &TokenProvider{Cred: testCred(f.URL)}
	_, _, err = p.Token(context.Background(), "skew@example.test")
	fd := FindingOf(err)
	if fd == nil || fd.Code != CodeClockSkew {
		t.Fatalf("skew: %v", err)
	}
	if !strings.Contains(fd.Summary, "ahead of Google's") || !(strings.Contains(fd.Summary, "600 s") || strings.Contains(fd.Summary, "599 s") || strings.Contains(fd.Summary, "601 s")) {
		t.Fatalf("skew summary %q", fd.Summary)
	}
}

func TestTokenConnectFailedAndCancelled(t *testing.T) {
	f := newFakeTokenServer(t)
	url := f.URL
	f.Close()
	p := &TokenProvider{Cred: testCred(url)}
	_, _, err := p.Token(context.Background(), "u@example.test")
	fd := FindingOf(err)
	if fd == nil || fd.Code != CodeConnectFailed || !strings.Contains(fd.Summary, strings.TrimPrefix(url, "http://")) {
		t.Fatalf("closed server: %v", err)
	}

	slow := newFakeTokenServer(t)
	slow.delay = 2 * time.Second
	p = &TokenProvider{Cred: testCred(slow.URL)}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = p.Token(ctx, "u@example.test")
	if fd := FindingOf(err); fd == nil || fd.Code != CodeTimeout {
		t.Fatalf("slow server: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("timeout took %v", time.Since(start))
	}
}

func TestTokenFollowerOutlivesCancelledLeader(t *testing.T) {
	f := newFakeTokenServer(t)
	f.delay = 200 * time.Millisecond
	p := &TokenProvider{Cred: testCred(f.URL)}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	leaderErr := make(chan error, 1)
	go func() { _, _, err := p.Token(ctx, "x@example.test"); leaderErr <- err }()
	time.Sleep(10 * time.Millisecond)
	tok, _, err := p.Token(context.Background(), "x@example.test")
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("follower: %v", err)
	}
	if fd := FindingOf(<-leaderErr); fd == nil || fd.Code != CodeTimeout {
		t.Fatalf("leader: %+v", fd)
	}
}
