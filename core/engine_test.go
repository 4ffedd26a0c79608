package core_test

import (
	"context"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/mailproto"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

type env struct {
	sb      *sandbox.Sandbox
	profile *core.Profile
	tester  *core.Tester
	cache   *core.MemoryTokenCache
}

func newEnv(t *testing.T, users int, delegate bool, scopes ...string) *env {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Options{Users: users, Delegate: delegate, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	e := &env{sb: sb, cache: &core.MemoryTokenCache{}}
	e.profile = &core.Profile{Domain: sb.Domain(), DefaultSender: "admin@" + sb.Domain(),
		Credential: sb.ServiceAccountJSON(), Endpoints: sb.Endpoints(), Scopes: scopes}
	e.rebuild(t)
	return e
}

// rebuild makes a new Tester from the (changed) profile, keeping the cache.
func (e *env) rebuild(t *testing.T) {
	t.Helper()
	tester, err := core.NewTester(e.profile, e.cache)
	if err != nil {
		t.Fatal(err)
	}
	tester.Timeout = 5 * time.Second
	tester.RoundtripTimeout = 10 * time.Second
	e.tester = tester
}

func (e *env) user(i int) string { return "user" + strconv.Itoa(i) + "@" + e.sb.Domain() }

func (e *env) check(t *testing.T, mailbox string, checks ...core.CheckName) core.MailboxResult {
	t.Helper()
	return e.tester.Check(context.Background(), mailbox, checks)
}

func wantCode(t *testing.T, r core.MailboxResult, code core.Code) *core.Finding {
	t.Helper()
	if r.OK || r.Finding == nil || r.Finding.Code != code {
		t.Fatalf("%s: want finding %s, got ok=%v finding=%+v checks=%+v", r.Mailbox, code, r.OK, r.Finding, r.Checks)
	}
	if r.Finding.Summary == "" || r.Finding.Fix == "" {
		t.Fatalf("finding without summary or fix: %+v", r.Finding)
	}
	t.Logf("%s: %s %s", r.Finding.Code, r.Finding.Summary, r.Finding.Fix)
	return r.Finding
}

func wantOK(t *testing.T, r core.MailboxResult) {
	t.Helper()
	if !r.OK || r.Finding != nil {
		t.Fatalf("%s: want ok, got finding=%+v checks=%+v", r.Mailbox, r.Finding, r.Checks)
	}
}

func TestEngineFiftyMailboxesPassAndCache(t *testing.T) {
	e := newEnv(t, 50, true)
	boxes := e.sb.Users()
	if len(boxes) != 51 {
		t.Fatalf("sandbox has %d users", len(boxes))
	}
	var mu sync.Mutex
	var started, checkDone, finished int
	lastDone := 0
	opts := core.RunOptions{OnEvent: func(ev core.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch ev.Kind {
		case core.EventStarted:
			started++
		case core.EventCheckDone:
			checkDone++
		case core.EventFinished:
			finished++
			if ev.Done != lastDone+1 || ev.Total != 51 || ev.Result == nil {
				t.Errorf("finished event %+v after done=%d", ev, lastDone)
			}
			lastDone = ev.Done
		}
	}}
	start := time.Now()
	res := core.RunAll(context.Background(), e.tester, boxes, opts)
	t.Logf("51 mailboxes, all checks: %v", time.Since(start))
	for i, r := range res {
		if r.Mailbox != boxes[i] {
			t.Fatalf("result %d is for %s, want %s", i, r.Mailbox, boxes[i])
		}
		wantOK(t, r)
		if len(r.Checks) != 4 {
			t.Fatalf("%s: %d checks", r.Mailbox, len(r.Checks))
		}
		im, _ := r.Check(core.CheckIMAP)
		rt, _ := r.Check(core.CheckRoundtrip)
		if !regexp.MustCompile(`^INBOX has \d+ messages$`).MatchString(im.Detail) || !regexp.MustCompile(`^delivered in \d+ ms$`).MatchString(rt.Detail) {
			t.Fatalf("details %q / %q", im.Detail, rt.Detail)
		}
		for _, c := range r.Checks {
			if c.Duration <= 0 {
				t.Fatalf("%s %s has no duration", r.Mailbox, c.Name)
			}
		}
	}
	if started != 51 || finished != 51 || checkDone != 51*4 {
		t.Fatalf("events: started %d, check_done %d, finished %d", started, checkDone, finished)
	}
	minted := e.sb.TokensMinted()
	if minted != 51 {
		t.Fatalf("minted %d tokens for 51 mailboxes", minted)
	}
	if n := e.sb.MessageCount(e.user(7)); n != 0 {
		t.Fatalf("the round-trip message was not deleted: %d messages left", n)
	}
	// A re-test inside the hour mints nothing new.
	res = core.RunAll(context.Background(), e.tester, boxes, core.RunOptions{Checks: []core.CheckName{core.CheckToken, core.CheckIMAP, core.CheckSMTP}})
	for _, r := range res {
		wantOK(t, r)
		if tc, _ := r.Check(core.CheckToken); !strings.HasPrefix(tc.Detail, "cached token") {
			t.Fatalf("second run token detail %q", tc.Detail)
		}
	}
	if e.sb.TokensMinted() != minted {
		t.Fatalf("second run minted %d more tokens", e.sb.TokensMinted()-minted)
	}
}

func TestEngineRunAllDuplicatesAndCancel(t *testing.T) {
	e := newEnv(t, 3, true)
	boxes := []string{e.user(1), e.user(2), strings.ToUpper(e.user(1)), e.user(3)}
	res := core.RunAll(context.Background(), e.tester, boxes, core.RunOptions{Checks: []core.CheckName{core.CheckToken}, Concurrency: 2})
	if len(res) != 4 || res[0].Mailbox != e.user(1) || res[2].Mailbox != e.user(1) {
		t.Fatalf("results %+v", res)
	}
	if e.sb.TokensMinted() != 3 {
		t.Fatalf("duplicate checked twice: %d tokens", e.sb.TokensMinted())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = core.RunAll(ctx, e.tester, boxes, core.RunOptions{})
	for _, r := range res {
		wantCode(t, r, core.CodeCancelled)
	}
}

func TestEngineMechanismsAndStartTLS(t *testing.T) {
	e := newEnv(t, 2, true)
	e.tester.Mechanism = mailproto.OAUTHBEARER
	wantOK(t, e.check(t, e.user(1)))

	e.profile.Endpoints.IMAP = e.sb.IMAPStartTLSAddr()
	e.profile.Endpoints.IMAPSecurity = core.SecurityStartTLS
	e.profile.Endpoints.SMTP = e.sb.SMTPStartTLSAddr()
	e.profile.Endpoints.SMTPSecurity = core.SecurityStartTLS
	e.rebuild(t)
	wantOK(t, e.check(t, e.user(2)))
}

func TestEngineFindings(t *testing.T) {
	t.Run("delegation removed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1, true)
		e.sb.Deauthorize(e.sb.ClientID())
		f := wantCode(t, e.check(t, e.user(1)), core.CodeDelegationNotAuthorized)
		want := "add client ID " + e.sb.ClientID() + " with scope https://mail.google.com/"
		if !strings.Contains(f.Fix, "admin.google.com > Security > API controls > Domain-wide delegation") || !strings.Contains(f.Fix, want) || !strings.Contains(f.Fix, "hours") {
			t.Fatalf("fix %q", f.Fix)
		}
	})
	t.Run("clock behind", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1, true)
		e.sb.SetClockSkew(-10 * time.Minute)
		f := wantCode(t, e.check(t, e.user(1)), core.CodeClockSkew)
		if !regexp.MustCompile(`clock is (599|600|601) s ahead of Google's`).MatchString(f.Summary) || !strings.Contains(f.Fix, "NTP") {
			t.Fatalf("finding %+v", f)
		}
	})
	t.Run("user suspended, imap off for user and domain", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 3, true)
		for _, u := range []sandbox.UserUpdate{{Email: e.user(1), Suspended: new(true)}, {Email: e.user(2), IMAP: new(false)}} {
			if err := e.sb.SetUser(u); err != nil {
				t.Fatal(err)
			}
		}
		f := wantCode(t, e.check(t, e.user(1)), core.CodeUserSuspended)
		if !strings.Contains(f.Fix, "Reactivate") || !strings.Contains(f.Summary, e.user(1)) {
			t.Fatalf("suspended finding %+v", f)
		}
		f = wantCode(t, e.check(t, e.user(2)), core.CodeIMAPDisabled)
		if !strings.Contains(f.Fix, "Forwarding and POP/IMAP") {
			t.Fatalf("user finding %+v", f)
		}
		e.sb.SetDomainIMAP(false)
		f = wantCode(t, e.check(t, e.user(3)), core.CodeIMAPDisabled)
		if !strings.Contains(f.Fix, "End User Access > POP and IMAP access") || !strings.Contains(f.Summary, e.sb.Domain()) {
			t.Fatalf("domain finding %+v", f)
		}
	})
	t.Run("imap stalls", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1, true)
		e.tester.Timeout = 700 * time.Millisecond
		e.sb.SetFaults(sandbox.Faults{IMAPStall: true})
		start := time.Now()
		r := e.check(t, e.user(1), core.CheckToken, core.CheckIMAP)
		f := wantCode(t, r, core.CodeTimeout)
		if el := time.Since(start); el > 3*time.Second {
			t.Fatalf("timeout took %v", el)
		}
		if !strings.Contains(f.Summary, e.sb.Endpoints().IMAP) || !strings.Contains(f.Summary, "700ms") {
			t.Fatalf("finding %+v", f)
		}
	})
	t.Run("smtp drops", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1, true)
		e.sb.SetFaults(sandbox.Faults{SMTPDrop: true})
		r := e.check(t, e.user(1), core.CheckToken, core.CheckSMTP)
		if r.OK || r.Finding == nil || (r.Finding.Code != core.CodeConnectFailed && r.Finding.Code != core.CodeTLSUntrusted) {
			t.Fatalf("finding %+v", r.Finding)
		}
	})
	t.Run("untrusted CA", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1, true)
		e.profile.Endpoints.CAFile = otherCA(t)
		e.rebuild(t)
		f := wantCode(t, e.check(t, e.user(1)), core.CodeTLSUntrusted)
		if !strings.Contains(f.Summary, e.sb.Endpoints().IMAP) || !strings.Contains(f.Fix, "ca_file") {
			t.Fatalf("finding %+v", f)
		}
		// A missing CA file: the token endpoint (plain HTTP) still works,
		// IMAP cannot be trusted.
		e.profile.Endpoints.CAFile = filepath.Join(t.TempDir(), "missing.pem")
		e.rebuild(t)
		r := e.check(t, e.user(1))
		wantCode(t, r, core.CodeTLSUntrusted)
		if tc, _ := r.Check(core.CheckToken); !tc.OK {
			t.Fatalf("token check failed with a missing CA: %+v", r)
		}
		// No CA at all: the system roots do not know the sandbox CA.
		e.profile.Endpoints.CAFile = ""
		e.rebuild(t)
		wantCode(t, e.check(t, e.user(1), core.CheckIMAP), core.CodeTLSUntrusted)
	})
	t.Run("revoked token is replaced once", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1, true)
		wantOK(t, e.check(t, e.user(1), core.CheckToken, core.CheckIMAP, core.CheckSMTP))
		before := e.sb.TokensMinted()
		e.sb.Revoke(e.user(1))
		r := e.check(t, e.user(1))
		wantOK(t, r)
		if len(r.Notes) != 1 || r.Notes[0] != core.NoteTokenRefreshed {
			t.Fatalf("notes %q", r.Notes)
		}
		if n := e.sb.TokensMinted() - before; n != 1 {
			t.Fatalf("minted %d tokens after the revocation, want 1", n)
		}
		// SMTP alone notices too.
		e.sb.Revoke(e.user(1))
		r = e.check(t, e.user(1), core.CheckSMTP)
		wantOK(t, r)
		if len(r.Notes) != 1 || e.sb.TokensMinted()-before != 2 {
			t.Fatalf("smtp after revoke: notes %q, minted %d", r.Notes, e.sb.TokensMinted()-before)
		}
	})
	t.Run("gmail.modify only", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1, false, core.ScopeGmailModify)
		e.sb.Authorize(e.sb.ClientID(), []string{core.ScopeGmailModify})
		wantOK(t, e.check(t, e.user(1), core.CheckToken, core.CheckSMTP))
		f := wantCode(t, e.check(t, e.user(1), core.CheckIMAP), core.CodeScopeInsufficient)
		if !strings.Contains(f.Summary, core.ScopeGmailModify) || !strings.Contains(f.Fix, core.ScopeMail) {
			t.Fatalf("finding %+v", f)
		}
	})
	t.Run("unknown user and service account", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1, true)
		f := wantCode(t, e.check(t, "nobody@"+e.sb.Domain()), core.CodeUnknownUser)
		if !strings.Contains(f.Summary, "nobody@"+e.sb.Domain()) {
			t.Fatalf("finding %+v", f)
		}
		before := e.sb.TokensMinted()
		wantCode(t, e.check(t, e.sb.ClientEmail()), core.CodeServiceAccountAsMailbox)
		if e.sb.TokensMinted() != before {
			t.Fatal("a token was minted for the service account address")
		}
	})
	t.Run("console states", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1, true)
		e.sb.SetClient(sandbox.ClientState{ClientID: e.sb.ClientID(), Disabled: true})
		wantCode(t, e.check(t, e.user(1)), core.CodeClientDisabled)
		e.sb.SetClient(sandbox.ClientState{ClientID: e.sb.ClientID(), PolicyBlocked: true})
		wantCode(t, e.check(t, e.user(1)), core.CodeAdminPolicyEnforced)
		e.sb.SetClient(sandbox.ClientState{ClientID: e.sb.ClientID()})
		e.sb.DeleteKey(e.sb.KeyID())
		wantCode(t, e.check(t, e.user(1)), core.CodeKeySignatureRejected)
	})
	t.Run("too many connections", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1, true)
		tok, _, err := e.tester.Tokens.Token(context.Background(), e.user(1))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := e.profile.Endpoints.TLSConfig(e.profile.Endpoints.IMAP)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < core.MaxIMAPConnectionsPerAccount; i++ {
			c, err := imapclient.DialTLS(e.profile.Endpoints.IMAP, &imapclient.Options{TLSConfig: cfg})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			if err := c.Authenticate(mailproto.NewOAuthClient(mailproto.XOAUTH2, e.user(1), tok.AccessToken)); err != nil {
				t.Fatalf("connection %d: %v", i+1, err)
			}
		}
		before := e.sb.TokensMinted()
		wantCode(t, e.check(t, e.user(1), core.CheckIMAP), core.CodeTooManyConnections)
		if e.sb.TokensMinted() != before {
			t.Fatal("a refusal for too many connections minted a new token")
		}
	})
	t.Run("invalid scope", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1, true, "mail.google.com")
		wantCode(t, e.check(t, e.user(1)), core.CodeInvalidScope)
	})
}

// otherCA writes a CA certificate that did not sign the sandbox's servers.
func otherCA(t *testing.T) string {
	t.Helper()
	ca, _ := makeCert(t, "Other CA", nil, nil)
	p := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// BenchmarkMailbox is one mailbox's whole test (a freshly minted token,
// IMAP, SMTP, round trip) against the in-process sandbox; it reports the
// server flights (round trips) each costs.
func BenchmarkMailbox(b *testing.B) {
	for _, fresh := range []bool{true, false} {
		name := "cached-token"
		if fresh {
			name = "fresh-token"
		}
		b.Run(name, func(b *testing.B) {
			sb, err := sandbox.Start(sandbox.Options{Users: 1, Delegate: true, Dir: b.TempDir(), RTT: time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			defer sb.Close()
			p := &core.Profile{Domain: sb.Domain(), DefaultSender: "admin@" + sb.Domain(), Credential: sb.ServiceAccountJSON(), Endpoints: sb.Endpoints()}
			tester, err := core.NewTester(p, &core.MemoryTokenCache{})
			if err != nil {
				b.Fatal(err)
			}
			tester.Fresh = fresh
			mailbox := "user1@" + sb.Domain()
			if r := tester.Check(context.Background(), mailbox, nil); !r.OK {
				b.Fatalf("%+v", r.Finding)
			}
			flights := sb.Flights()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if r := tester.Check(context.Background(), mailbox, nil); !r.OK {
					b.Fatalf("%+v", r.Finding)
				}
			}
			b.ReportMetric(float64(sb.Flights()-flights)/float64(b.N), "roundtrips/op")
		})
	}
}
