package sandbox

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mailoauth/mailoauth/core"
)

// Google's access tokens differ in length by grant, and mail programs notice
// (Debian 12's NeoMutt refuses anything near a kilobyte): domain-wide
// delegation (JWT bearer) gives "ya29.c." tokens of about a thousand
// characters, the authorization-code and refresh-token grants of the consent
// path "ya29.a0" tokens of about 200 to 260. The sandbox gives the same.
func TestAccessTokenShapeByGrant(t *testing.T) {
	sb := start(t, Options{Delegate: true, AutoConsent: true})
	user := "user1@example.test"
	if tok := mustMint(t, sb, user, core.ScopeMail); !strings.HasPrefix(tok, "ya29.c.") || len(tok) < 1000 {
		t.Fatalf("JWT-bearer token: %.12s... (%d chars), want ya29.c. and 1000+", tok, len(tok))
	}

	e := sb.Endpoints()
	conf := &oauth2.Config{ClientID: sb.OAuthClientID(), ClientSecret: sb.OAuthClientSecret(),
		Endpoint:    oauth2.Endpoint{AuthURL: e.AuthURL, TokenURL: e.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: "http://127.0.0.1/callback", Scopes: []string{core.ScopeMail}}
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(conf.AuthCodeURL("st", oauth2.SetAuthURLParam("login_hint", user)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("auto-consent did not redirect with a code: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	byCode, err := conf.Exchange(ctx, loc.Query().Get("code"))
	if err != nil || byCode.RefreshToken == "" {
		t.Fatalf("code exchange: %v %+v", err, byCode)
	}
	// A refresh long after: the cached token has expired, a new one is issued.
	byRefresh, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: byCode.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh grant: %v", err)
	}
	for grant, tok := range map[string]string{"authorization_code": byCode.AccessToken, "refresh_token": byRefresh.AccessToken} {
		if !strings.HasPrefix(tok, "ya29.a0") || len(tok) < 200 || len(tok) > 260 {
			t.Errorf("%s grant token: %.12s... (%d chars), want ya29.a0 and 200-260", grant, tok, len(tok))
		}
		if info := tokeninfo(t, sb, tok); info["email"] != user {
			t.Errorf("tokeninfo of the %s grant's token: %v", grant, info)
		}
	}
	if byCode.AccessToken == byRefresh.AccessToken {
		t.Fatal("the refresh grant returned the same access token")
	}
}
