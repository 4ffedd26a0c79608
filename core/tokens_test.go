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
	t     testing.TB
	key   *rsa.PublicKey
	mints atomic.Int32
	reqs  atomic.Int32 // requests received, answered or not
	// gate, when set, is called first for every request with its ordinal
	// (1-based); a test holds a request there to order events explicitly.
	gate   func(n int32, w http.ResponseWriter, r *http.Request) (answer bool)
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
	n := f.reqs.Add(1)
	if f.gate != nil && !f.gate(n, w, r) {
		return
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
	m := f.mints.Add(1)
	fmt.Fprintf(w, `{"access_token":"ya29.tok-%s-%d","expires_in":3599,"token_type":"Bearer"}`, cs.Sub, m)
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
	if err := p.invalidate("user1@example.test"); err != nil {
		t.Fatal(err)
	}
	if _, cached, _ := p.Token(ctx, "user1@example.test"); cached || f.mints.Load() != 2 {
		t.Fatalf("after invalidate: cached=%v mints=%d", cached, f.mints.Load())
	}
}

func TestTokenRenewedNearExpiry(t *testing.T) {
	f := newFakeTokenServer(t)
	now := time.Now()
	p := &TokenProvider{Cred: testCred(f.URL), clock: func() time.Time { return now }}
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
	arrived, release := make(chan struct{}), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce)
	// The first request is held at the server until every other caller is
	// waiting: a caller that arrived only after the mint would also get
	// the token (from the cache) and prove nothing.
	f.gate = func(n int32, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			close(arrived)
			<-release
		}
		return true
	}
	p := &TokenProvider{Cred: testCred(f.URL)}
	var wg sync.WaitGroup
	toks := make([]string, 20)
	call := func(i int, ctx context.Context) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, _, err := p.Token(ctx, "same@example.test")
			if err != nil {
				t.Error(err)
			}
			toks[i] = tok.AccessToken
		}()
	}
	call(0, context.Background())
	waitOn(t, arrived, "the first call's request at the token server")
	var waiting []*waitingCtx
	for i := 1; i < len(toks); i++ {
		w := newWaitingCtx(context.Background())
		waiting = append(waiting, w)
		call(i, w)
	}
	for _, w := range waiting {
		waitOn(t, w.entered, "a concurrent call to wait")
	}
	releaseOnce()
	wg.Wait()
	if n := f.reqs.Load(); n != 1 {
		t.Fatalf("20 concurrent calls sent %d requests to the token endpoint, want 1", n)
	}
	for _, tk := range toks {
		if tk == "" || tk != toks[0] {
			t.Fatalf("different tokens %q %q", tk, toks[0])
		}
	}
}

// hangGuard bounds a wait for something that must happen: a deadline for a
// hang, generous for -race on a loaded machine, never a speed goal.
const hangGuard = 30 * time.Second

func waitOn(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(hangGuard):
		t.Fatalf("waited %v for %s", hangGuard, what)
	}
}

// waitingCtx closes entered the first time its Done channel is asked for.
// A TokenProvider.Token call asks for it first when it blocks on another
// call's mint, so a test knows the call is waiting rather than guessing
// with a sleep.
type waitingCtx struct {
	context.Context
	once    sync.Once
	entered chan struct{}
}

func newWaitingCtx(parent context.Context) *waitingCtx {
	return &waitingCtx{Context: parent, entered: make(chan struct{})}
}

func (c *waitingCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.entered) })
	return c.Context.Done()
}

// expiredCtx is a context whose end reads as a passed deadline, but which
// the test ends when it chooses (a real deadline fires on the clock).
type expiredCtx struct{ context.Context }

func (c expiredCtx) Err() error {
	if c.Context.Err() != nil {
		return context.DeadlineExceeded
	}
	return nil
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

	// A server that never answers: only the caller's deadline can end the
	// call, so an answer at all shows the deadline is honoured.
	slow := newFakeTokenServer(t)
	gone := make(chan struct{})
	t.Cleanup(func() { close(gone) })
	slow.gate = func(_ int32, _ http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-gone:
		}
		return false
	}
	p = &TokenProvider{Cred: testCred(slow.URL)}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	errc := make(chan error, 1)
	go func() { _, _, err := p.Token(ctx, "u@example.test"); errc <- err }()
	select {
	case err = <-errc:
	case <-time.After(hangGuard):
		t.Fatalf("a token request to a server that never answers outlived its 100 ms deadline by %v", hangGuard)
	}
	if fd := FindingOf(err); fd == nil || fd.Code != CodeTimeout {
		t.Fatalf("slow server: %v", err)
	}
}

func TestTokenFollowerOutlivesCancelledLeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(context.Context) context.Context
		code Code
	}{
		{"cancelled", func(c context.Context) context.Context { return c }, CodeCancelled},
		{"timed out", func(c context.Context) context.Context { return expiredCtx{c} }, CodeTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeTokenServer(t)
			arrived, gone := make(chan struct{}), make(chan struct{})
			t.Cleanup(func() { close(gone) })
			// The leader's request is held until the leader gives up;
			// every later request is answered.
			f.gate = func(n int32, _ http.ResponseWriter, r *http.Request) bool {
				if n > 1 {
					return true
				}
				close(arrived)
				select {
				case <-r.Context().Done():
				case <-gone:
				}
				return false
			}
			p := &TokenProvider{Cred: testCred(f.URL)}
			base, endLeader := context.WithCancel(context.Background())
			defer endLeader()
			leaderErr := make(chan error, 1)
			go func() { _, _, err := p.Token(tc.wrap(base), "x@example.test"); leaderErr <- err }()
			// The leader is minting (its request is at the server) ...
			waitOn(t, arrived, "the leader's request at the token server")
			follower := newWaitingCtx(context.Background())
			type result struct {
				tok Token
				err error
			}
			got := make(chan result, 1)
			go func() { tok, _, err := p.Token(follower, "x@example.test"); got <- result{tok, err} }()
			// ... and the follower waits on that mint: only now the leader
			// gives up.
			waitOn(t, follower.entered, "the second call to wait on the first")
			endLeader()
			select {
			case err := <-leaderErr:
				if fd := FindingOf(err); fd == nil || fd.Code != tc.code {
					t.Fatalf("leader: %v, want %s", err, tc.code)
				}
			case <-time.After(hangGuard):
				t.Fatal("the leader did not give up when its context ended")
			}
			var r result
			select {
			case r = <-got:
			case <-time.After(hangGuard):
				t.Fatal("the follower never returned")
			}
			if r.err != nil || r.tok.AccessToken == "" {
				t.Fatalf("the follower inherited the leader's end instead of minting: %v", r.err)
			}
			if n, m := f.reqs.Load(), f.mints.Load(); n != 2 || m != 1 {
				t.Fatalf("%d requests, %d tokens minted; want 2 (leader, follower's own) and 1", n, m)
			}
		})
	}
}
