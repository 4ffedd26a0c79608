package core_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// TestSandboxApproveConsent: the sandbox's Go call approves a consent as
// its page's Allow does (the wizard's sandbox mode uses it instead of
// reading the page): the address it returns carries a code that Finish
// stores; a suspended owner is refused as the page refuses, and a URL that
// is not the sandbox's consent page is not answered.
func TestSandboxApproveConsent(t *testing.T) {
	sb, a, rs, _ := oauthEnv(t, false)
	ctx := context.Background()
	mailbox := "user1@" + sb.Domain()
	p, err := a.Begin(ctx, mailbox, core.AuthorizeOptions{Paste: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
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
	p2, err := a.Begin(ctx, other, core.AuthorizeOptions{Paste: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
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
