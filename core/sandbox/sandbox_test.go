package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/coretest"
	"github.com/mailoauth/mailoauth/core/mailproto"
)

func start(t *testing.T, opts Options) *Sandbox {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	sb, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

func tlsConfig(t *testing.T, sb *Sandbox) *tls.Config {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(sb.CAPEM()) {
		t.Fatal("CAPEM holds no certificate")
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// mint gets a token the way the wizard does: JWTConfigFromJSON + Subject.
func mint(sb *Sandbox, subject string, scopes ...string) (*oauth2.Token, error) {
	conf, err := google.JWTConfigFromJSON(sb.ServiceAccountJSON(), scopes...)
	if err != nil {
		return nil, err
	}
	conf.Subject = subject
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return conf.TokenSource(ctx).Token()
}

func mustMint(t *testing.T, sb *Sandbox, subject string, scopes ...string) string {
	t.Helper()
	tok, err := mint(sb, subject, scopes...)
	if err != nil {
		t.Fatalf("minting a token for %s: %v", subject, err)
	}
	return tok.AccessToken
}

// mailSandbox starts a sandbox whose service account is delegated and
// mints u a mail token there.
func mailSandbox(t *testing.T, u string) (*Sandbox, string) {
	t.Helper()
	sb := start(t, Options{Delegate: true})
	return sb, mustMint(t, sb, u, core.ScopeMail)
}

func wantOAuthError(t *testing.T, err error, code, desc string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want %s error, got %v", code, err)
	}
	// x/oauth2/jwt leaves ErrorCode empty; the JSON body is Google's.
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(re.Body, &body); err != nil {
		t.Fatalf("error body %q: %v", re.Body, err)
	}
	if body.Error != code || body.Description != desc {
		t.Fatalf("got %q %q, want %q %q", body.Error, body.Description, code, desc)
	}
	wantStatus := http.StatusBadRequest
	if code == core.OAuthUnauthorizedClient || code == core.OAuthDisabledClient {
		wantStatus = http.StatusUnauthorized
	}
	if re.Response.StatusCode != wantStatus {
		t.Fatalf("HTTP status %d, want %d", re.Response.StatusCode, wantStatus)
	}
}

// xoauth2 is a test-local SASL client. twoStep sends no initial response
// (the server's empty 334 asks for it), as needed for SMTP with long tokens.
type xoauth2 struct {
	user, token string
	twoStep     bool
	sent        bool
	challenges  [][]byte
}

func (c *xoauth2) resp() []byte {
	return []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01")
}

func (c *xoauth2) Start() (string, []byte, error) {
	if c.twoStep {
		return "XOAUTH2", nil, nil
	}
	c.sent = true
	return "XOAUTH2", c.resp(), nil
}

func (c *xoauth2) Next(challenge []byte) ([]byte, error) {
	if !c.sent {
		c.sent = true
		return c.resp(), nil
	}
	c.challenges = append(c.challenges, challenge)
	return []byte{}, nil
}

type oauthbearer struct {
	user, token string
	challenges  [][]byte
}

func (c *oauthbearer) Start() (string, []byte, error) {
	return "OAUTHBEARER", []byte("n,a=" + c.user + ",\x01host=127.0.0.1\x01port=993\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

func (c *oauthbearer) Next(challenge []byte) ([]byte, error) {
	c.challenges = append(c.challenges, challenge)
	return []byte{0x01}, nil
}

func dialIMAP(t *testing.T, sb *Sandbox, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	if opts == nil {
		opts = &imapclient.Options{}
	}
	opts.TLSConfig = tlsConfig(t, sb)
	c, err := imapclient.DialTLS(sb.Endpoints().IMAP, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func wantIMAPError(t *testing.T, err error, code imap.ResponseCode, text string) {
	t.Helper()
	var ie *imap.Error
	if !errors.As(err, &ie) {
		t.Fatalf("want IMAP NO [%s] %s, got %v", code, text, err)
	}
	if ie.Type != imap.StatusResponseTypeNo || ie.Code != code || ie.Text != text {
		t.Fatalf("got %s [%s] %q, want NO [%s] %q", ie.Type, ie.Code, ie.Text, code, text)
	}
}

func dialSMTP(t *testing.T, sb *Sandbox) *smtp.Client {
	t.Helper()
	c, err := smtp.DialTLS(sb.Endpoints().SMTP, tlsConfig(t, sb))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

const testMessage = "From: user1@example.test\r\nTo: user1@example.test\r\nSubject: mailoauth round trip\r\n\r\nhello\r\n"

func TestRoundTrip(t *testing.T) {
	u := "user1@example.test"
	sb, tok := mailSandbox(t, u)
	if !strings.HasPrefix(tok, "ya29.c.") || len(tok) < 1000 {
		t.Fatalf("token %q... (%d chars) does not look like Google's", tok[:12], len(tok))
	}
	if sb.TokensMinted() != 1 {
		t.Fatalf("TokensMinted = %d", sb.TokensMinted())
	}

	ic := dialIMAP(t, sb, nil)
	if err := ic.Authenticate(&xoauth2{user: u, token: tok}); err != nil {
		t.Fatalf("IMAP refused a good token: %v", err)
	}
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	sc := dialSMTP(t, sb)
	if ok, params := sc.Extension("AUTH"); !ok || !strings.Contains(params, "XOAUTH2") || !strings.Contains(params, "OAUTHBEARER") {
		t.Fatalf("EHLO AUTH = %v %q", ok, params)
	}
	if err := sc.Auth(&xoauth2{user: u, token: tok, twoStep: true}); err != nil {
		t.Fatalf("SMTP refused a good token: %v", err)
	}
	if err := sc.SendMail(u, []string{u}, strings.NewReader(testMessage)); err != nil {
		t.Fatal(err)
	}
	if n := sb.MessageCount(u); n != 1 {
		t.Fatalf("INBOX has %d messages", n)
	}
	if err := ic.Noop().Wait(); err != nil { // learn about the new message
		t.Fatal(err)
	}
	msgs, err := ic.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].Envelope.Subject != "mailoauth round trip" {
		t.Fatalf("fetch: %v %+v", err, msgs)
	}
	data, err := ic.Search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "round trip"}}}, nil).Wait()
	if err != nil || len(data.AllSeqNums()) != 1 {
		t.Fatalf("search: %v %v", err, data)
	}

	// OAUTHBEARER works too.
	ic2 := dialIMAP(t, sb, nil)
	if err := ic2.Authenticate(&oauthbearer{user: u, token: tok}); err != nil {
		t.Fatalf("OAUTHBEARER: %v", err)
	}
	// Each accepted login is counted by its mechanism.
	if got := sb.Logins(); got[mailproto.XOAUTH2] != 2 || got[mailproto.OAUTHBEARER] != 1 || len(got) != 2 {
		t.Fatalf("Logins() = %v, want 2 by XOAUTH2 (IMAP, SMTP) and 1 by OAUTHBEARER", got)
	}
	// Tokeninfo describes the token.
	info := tokeninfo(t, sb, tok)
	if info["email"] != u || info["scope"] != core.ScopeMail || info["azp"] != sb.ClientID() {
		t.Fatalf("tokeninfo = %v", info)
	}
	// Unknown recipient in the domain.
	err = sc.SendMail(u, []string{"nobody@example.test"}, strings.NewReader(testMessage))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || !strings.Contains(se.Message, "does not exist") {
		t.Fatalf("unknown recipient: %v", err)
	}
	if err := sc.Reset(); err != nil {
		t.Fatal(err)
	}
	// Other domains: accepted and discarded.
	if err := sc.SendMail(u, []string{"someone@elsewhere.test"}, strings.NewReader(testMessage)); err != nil {
		t.Fatal(err)
	}
}

func TestIdleSeesNewMail(t *testing.T) {
	u := "user2@example.test"
	sb, tok := mailSandbox(t, u)
	sizes, arrived := coretest.MailboxSizes()
	ic := dialIMAP(t, sb, &imapclient.Options{UnilateralDataHandler: sizes})
	idle := idleInbox(t, ic, u, tok)
	sc := dialSMTP(t, sb)
	if err := sc.Auth(&xoauth2{user: u, token: tok, twoStep: true}); err != nil {
		t.Fatal(err)
	}
	if err := sc.SendMail(u, []string{u}, strings.NewReader(testMessage)); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-arrived:
		if n != 1 {
			t.Fatalf("EXISTS %d", n)
		}
	case <-time.After(30 * time.Second): // a liveness bound, generous for -race on a loaded machine
		t.Fatal("IDLE did not report the new message")
	}
	coretest.StopIdle(t, idle)
}

func TestTokenEndpointErrors(t *testing.T) {
	sb := start(t, Options{Delegate: true})
	u := "user1@example.test"

	t.Run("undelegated", func(t *testing.T) {
		sb2 := start(t, Options{})
		_, err := mint(sb2, u, core.ScopeMail)
		wantOAuthError(t, err, core.OAuthUnauthorizedClient, core.DescUnauthorizedClient)
	})
	t.Run("scope without trailing slash", func(t *testing.T) {
		_, err := mint(sb, u, "https://mail.google.com")
		wantOAuthError(t, err, core.OAuthUnauthorizedClient, core.DescUnauthorizedClient)
	})
	t.Run("delegated without trailing slash", func(t *testing.T) {
		sb2 := start(t, Options{})
		sb2.Authorize(sb2.ClientID(), []string{"https://mail.google.com"})
		_, err := mint(sb2, u, core.ScopeMail)
		wantOAuthError(t, err, core.OAuthUnauthorizedClient, core.DescUnauthorizedClient)
	})
	t.Run("delegated to client e-mail", func(t *testing.T) {
		sb2 := start(t, Options{})
		sb2.Authorize(sb2.ClientEmail(), []string{core.ScopeMail})
		_, err := mint(sb2, u, core.ScopeMail)
		wantOAuthError(t, err, core.OAuthUnauthorizedClient, core.DescUnauthorizedClient)
	})
	t.Run("scope not delegated", func(t *testing.T) {
		_, err := mint(sb, u, core.ScopeMail, core.ScopeCalendar)
		wantOAuthError(t, err, core.OAuthUnauthorizedClient, core.DescUnauthorizedClient)
	})
	t.Run("malformed scope", func(t *testing.T) {
		_, err := mint(sb, u, "mail.google.com")
		wantOAuthError(t, err, core.OAuthInvalidScope, core.DescInvalidScope)
		_, err = mint(sb, u)
		wantOAuthError(t, err, core.OAuthInvalidScope, core.DescInvalidScope)
	})
	t.Run("unknown user", func(t *testing.T) {
		_, err := mint(sb, "ghost@example.test", core.ScopeMail)
		wantOAuthError(t, err, core.OAuthInvalidGrant, core.DescInvalidEmail)
		_, err = mint(sb, "user1@other.test", core.ScopeMail)
		wantOAuthError(t, err, core.OAuthInvalidGrant, core.DescInvalidEmail)
	})
	t.Run("suspended", func(t *testing.T) {
		yes := true
		if err := sb.SetUser(UserUpdate{Email: "user3@example.test", Suspended: &yes}); err != nil {
			t.Fatal(err)
		}
		_, err := mint(sb, "user3@example.test", core.ScopeMail)
		wantOAuthError(t, err, core.OAuthInvalidGrant, core.DescAccountDisabled)
	})
	t.Run("clock", func(t *testing.T) {
		sb2 := start(t, Options{Delegate: true})
		sb2.SetClockSkew(-10 * time.Minute) // our iat is 10 min in Google's future
		_, err := mint(sb2, u, core.ScopeMail)
		wantOAuthError(t, err, core.OAuthInvalidGrant, core.DescShortLivedToken)
		sb2.SetClockSkew(+10 * time.Minute) // 10 min behind: exp still ahead, accepted as at Google
		if _, err := mint(sb2, u, core.ScopeMail); err != nil {
			t.Fatalf("+10 min: %v", err)
		}
		sb2.SetClockSkew(+90 * time.Minute) // exp already passed
		_, err = mint(sb2, u, core.ScopeMail)
		wantOAuthError(t, err, core.OAuthInvalidGrant, core.DescShortLivedToken)
	})
	t.Run("lifetime over an hour", func(t *testing.T) {
		conf, err := google.JWTConfigFromJSON(sb.ServiceAccountJSON(), core.ScopeMail)
		if err != nil {
			t.Fatal(err)
		}
		conf.Subject = u
		conf.Expires = 2 * time.Hour
		_, err = conf.TokenSource(context.Background()).Token()
		wantOAuthError(t, err, core.OAuthInvalidGrant, core.DescShortLivedToken)
	})
	t.Run("audience", func(t *testing.T) {
		conf, _ := google.JWTConfigFromJSON(sb.ServiceAccountJSON(), core.ScopeMail)
		conf.Subject = u
		conf.Audience = core.GoogleTokenURL
		_, err := conf.TokenSource(context.Background()).Token()
		wantOAuthError(t, err, core.OAuthInvalidGrant, core.DescAudience)
	})
	t.Run("unknown account", func(t *testing.T) {
		conf, _ := google.JWTConfigFromJSON(sb.ServiceAccountJSON(), core.ScopeMail)
		conf.Subject = u
		conf.Email = "someone@else.iam.gserviceaccount.com"
		_, err := conf.TokenSource(context.Background()).Token()
		wantOAuthError(t, err, core.OAuthInvalidGrant, core.DescAccountNotFound)
	})
	t.Run("disabled and blocked client", func(t *testing.T) {
		sb2 := start(t, Options{Delegate: true})
		sb2.SetClient(ClientState{ClientID: sb2.ClientID(), Disabled: true})
		_, err := mint(sb2, u, core.ScopeMail)
		wantOAuthError(t, err, core.OAuthDisabledClient, core.DescDisabledClient)
		sb2.SetClient(ClientState{ClientID: sb2.ClientID(), PolicyBlocked: true})
		_, err = mint(sb2, u, core.ScopeMail)
		wantOAuthError(t, err, core.OAuthAdminPolicyEnforced, core.DescAdminPolicy)
		sb2.SetClient(ClientState{ClientID: sb2.ClientID()})
		if _, err := mint(sb2, u, core.ScopeMail); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("deleted key", func(t *testing.T) {
		sb2 := start(t, Options{Delegate: true})
		sb2.DeleteKey(sb2.KeyID())
		_, err := mint(sb2, u, core.ScopeMail)
		wantOAuthError(t, err, core.OAuthInvalidGrant, core.DescInvalidSignature)
	})
	t.Run("forged signature", func(t *testing.T) {
		sb2 := start(t, Options{Delegate: true})
		// Sign with sb's key (the same process key) but claim sb2's account: the
		// key ID is unknown to sb2, so the signature cannot be checked.
		var f map[string]any
		_ = json.Unmarshal(sb.ServiceAccountJSON(), &f)
		f["client_email"] = sb2.ClientEmail()
		f["token_uri"] = sb2.Endpoints().TokenURL
		b, _ := json.Marshal(f)
		conf, err := google.JWTConfigFromJSON(b, core.ScopeMail)
		if err != nil {
			t.Fatal(err)
		}
		conf.Subject = u
		_, err = conf.TokenSource(context.Background()).Token()
		wantOAuthError(t, err, core.OAuthInvalidGrant, core.DescInvalidSignature)
	})
	if n := sb.TokensMinted(); n != 0 {
		t.Fatalf("TokensMinted = %d after only failures", n)
	}
}

func TestIMAPScopeAndSMTP(t *testing.T) {
	sb := start(t, Options{})
	sb.Authorize(sb.ClientID(), []string{core.ScopeGmailModify})
	u := "user1@example.test"
	tok := mustMint(t, sb, u, core.ScopeGmailModify)

	ic := dialIMAP(t, sb, nil)
	cl := &xoauth2{user: u, token: tok}
	err := ic.Authenticate(cl)
	wantIMAPError(t, err, imap.ResponseCodeAuthenticationFailed, core.IMAPInvalidCredentials)
	if len(cl.challenges) != 1 {
		t.Fatalf("challenges %q", cl.challenges)
	}
	var ch mailproto.Challenge
	if err := json.Unmarshal(cl.challenges[0], &ch); err != nil || ch != core.GmailSASLError {
		t.Fatalf("challenge %q: %v", cl.challenges[0], err)
	}
	// LOGIN is refused as for any OAuth-only Gmail account.
	ic2 := dialIMAP(t, sb, nil)
	wantIMAPError(t, ic2.Login(u, "password").Wait(), imap.ResponseCodeAuthenticationFailed, core.IMAPInvalidCredentials)

	// SMTP takes gmail.modify.
	sc := dialSMTP(t, sb)
	if err := sc.Auth(&xoauth2{user: u, token: tok, twoStep: true}); err != nil {
		t.Fatalf("SMTP refused a gmail.modify token: %v", err)
	}
	// ... but not for another user.
	sc2 := dialSMTP(t, sb)
	cl2 := &xoauth2{user: "user2@example.test", token: tok, twoStep: true}
	err = sc2.Auth(cl2)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 535 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 8}) ||
		!strings.Contains(se.Message, "Username and Password not accepted") || !strings.Contains(se.Message, "?p=BadCredentials") {
		t.Fatalf("want 535 5.7.8, got %#v", err)
	}
	if len(cl2.challenges) != 1 || !bytes.Contains(cl2.challenges[0], []byte(`"status":"400"`)) {
		t.Fatalf("challenges %q", cl2.challenges)
	}
	// Without AUTH there is no MAIL.
	sc3 := dialSMTP(t, sb)
	err = sc3.Mail(u, nil)
	if !errors.As(err, &se) || se.Code != 530 {
		t.Fatalf("MAIL before AUTH: %v", err)
	}
	// PLAIN (app password) is refused.
	sc4 := dialSMTP(t, sb)
	err = sc4.Auth(sasl.NewPlainClient("", u, "app-password"))
	if !errors.As(err, &se) || se.Code != 535 {
		t.Fatalf("PLAIN: %v", err)
	}
}

// rawSMTP speaks SMTP by hand over implicit TLS, to see exact lines.
func rawSMTP(t *testing.T, sb *Sandbox) *textproto.Conn {
	t.Helper()
	nc, err := tls.Dial("tcp", sb.Endpoints().SMTP, tlsConfig(t, sb))
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := textproto.NewConn(nc)
	t.Cleanup(func() { c.Close() })
	if _, _, err := c.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	if err := c.PrintfLine("EHLO test"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadResponse(250); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSMTPLongAuthLine(t *testing.T) {
	u := "user1@example.test"
	sb, tok := mailSandbox(t, u)
	ir := base64.StdEncoding.EncodeToString([]byte("user=" + u + "\x01auth=Bearer " + tok + "\x01\x01"))

	c := rawSMTP(t, sb)
	_ = c.PrintfLine("AUTH XOAUTH2 %s", ir)
	line, err := c.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, "555 5.5.2 "+core.SMTPLineTooLong) {
		t.Fatalf("one-line AUTH got %q", line)
	}
	// Not authenticated.
	_ = c.PrintfLine("MAIL FROM:<%s>", u)
	if code, _, _ := c.ReadResponse(250); code != 530 {
		t.Fatalf("MAIL after 555 got %d", code)
	}
	// The two-step form works on the same connection.
	_ = c.PrintfLine("AUTH XOAUTH2")
	if code, msg, err := c.ReadResponse(334); err != nil || msg != "" {
		t.Fatalf("AUTH XOAUTH2: %d %q %v", code, msg, err)
	}
	_ = c.PrintfLine("%s", ir)
	if code, msg, err := c.ReadResponse(235); err != nil {
		t.Fatalf("two-step AUTH: %d %q %v", code, msg, err)
	}

	// A refused token: challenge, then the two-line 535.
	c2 := rawSMTP(t, sb)
	_ = c2.PrintfLine("AUTH XOAUTH2")
	_, _, _ = c2.ReadResponse(334)
	_ = c2.PrintfLine("%s", base64.StdEncoding.EncodeToString([]byte("user="+u+"\x01auth=Bearer ya29.bogus\x01\x01")))
	l, _ := c2.ReadLine()
	want := "334 " + base64.StdEncoding.EncodeToString(gmailChallenge())
	if l != want {
		t.Fatalf("got %q, want %q", l, want)
	}
	_ = c2.PrintfLine("")
	l1, _ := c2.ReadLine()
	l2, _ := c2.ReadLine()
	if l1 != "535-5.7.8 Username and Password not accepted. For more information, go to" ||
		!strings.HasPrefix(l2, "535 5.7.8  https://support.google.com/mail/?p=BadCredentials") {
		t.Fatalf("got %q / %q", l1, l2)
	}
}

func TestSMTPStartTLS(t *testing.T) {
	u := "user1@example.test"
	sb, tok := mailSandbox(t, u)
	// Plain: no AUTH before STARTTLS.
	c, err := smtp.Dial(sb.SMTPStartTLSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("no STARTTLS offered")
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Fatal("AUTH offered before STARTTLS")
	}
	c2, err := smtp.DialStartTLS(sb.SMTPStartTLSAddr(), tlsConfig(t, sb))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Auth(&xoauth2{user: u, token: tok, twoStep: true}); err != nil {
		t.Fatal(err)
	}
	if err := c2.SendMail(u, []string{u}, strings.NewReader(testMessage)); err != nil {
		t.Fatal(err)
	}
	if sb.MessageCount(u) != 1 {
		t.Fatal("message not delivered")
	}
	// IMAP STARTTLS.
	ic, err := imapclient.DialStartTLS(sb.IMAPStartTLSAddr(), &imapclient.Options{TLSConfig: tlsConfig(t, sb)})
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	if err := ic.Authenticate(&xoauth2{user: u, token: tok}); err != nil {
		t.Fatal(err)
	}
}

func tokeninfo(t *testing.T, sb *Sandbox, tok string) map[string]string {
	t.Helper()
	resp, err := http.Get(sb.Endpoints().TokeninfoURL + "?access_token=" + url.QueryEscape(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRevoke(t *testing.T) {
	u := "user1@example.test"
	sb, tok := mailSandbox(t, u)
	sb.Revoke(u)
	ic := dialIMAP(t, sb, nil)
	wantIMAPError(t, ic.Authenticate(&xoauth2{user: u, token: tok}), imap.ResponseCodeAuthenticationFailed, core.IMAPInvalidCredentials)
	info := tokeninfo(t, sb, tok)
	if info["error"] != core.OAuthInvalidToken || info["error_description"] != core.DescInvalidValue {
		t.Fatalf("tokeninfo of revoked token: %v", info)
	}
	// A new token works again.
	tok2 := mustMint(t, sb, u, core.ScopeMail)
	if err := dialIMAP(t, sb, nil).Authenticate(&xoauth2{user: u, token: tok2}); err != nil {
		t.Fatal(err)
	}
	// Expired on the sandbox clock.
	sb.SetClockSkew(time.Hour)
	if err := dialIMAP(t, sb, nil).Authenticate(&xoauth2{user: u, token: tok2}); err == nil {
		t.Fatal("expired token accepted")
	}
}

func TestIMAPLimitsAndSwitches(t *testing.T) {
	u := "user1@example.test"
	sb, tok := mailSandbox(t, u)
	var conns []*imapclient.Client
	for i := 0; i < core.MaxIMAPConnectionsPerAccount; i++ {
		c := dialIMAP(t, sb, nil)
		if err := c.Authenticate(&xoauth2{user: u, token: tok}); err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		conns = append(conns, c)
	}
	wantIMAPError(t, dialIMAP(t, sb, nil).Authenticate(&xoauth2{user: u, token: tok}), imap.ResponseCodeAlert, core.IMAPTooManyConnections)
	// Closing one frees a slot.
	if err := conns[0].Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	conns[0].Close()
	deadline := time.Now().Add(30 * time.Second) // waits for a visible state; a hang guard
	for {
		err := dialIMAP(t, sb, nil).Authenticate(&xoauth2{user: u, token: tok})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	u2 := "user2@example.test"
	tok2 := mustMint(t, sb, u2, core.ScopeMail)
	no := false
	if err := sb.SetUser(UserUpdate{Email: u2, IMAP: &no}); err != nil {
		t.Fatal(err)
	}
	wantIMAPError(t, dialIMAP(t, sb, nil).Authenticate(&xoauth2{user: u2, token: tok2}), imap.ResponseCodeAlert, core.IMAPUserDisabled)
	sb.SetDomainIMAP(false)
	wantIMAPError(t, dialIMAP(t, sb, nil).Authenticate(&xoauth2{user: u2, token: tok2}), imap.ResponseCodeAlert, core.IMAPDomainDisabled)
}

func adminPost(t *testing.T, sb *Sandbox, path, body string) {
	t.Helper()
	resp, err := http.Post(sb.Endpoints().AdminURL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"ok": true`) {
		t.Fatalf("POST %s %s: %d %s", path, body, resp.StatusCode, b)
	}
}

func TestAdminHTTPAndDate(t *testing.T) {
	sb := start(t, Options{})
	u := "new@example.test"
	adminPost(t, sb, "/users", `{"email":"`+u+`"}`)
	_, err := mint(sb, u, core.ScopeMail)
	wantOAuthError(t, err, core.OAuthUnauthorizedClient, core.DescUnauthorizedClient)
	adminPost(t, sb, "/delegation", fmt.Sprintf(`{"client_id":%q,"scopes":[%q]}`, sb.ClientID(), core.ScopeMail))
	tok := mustMint(t, sb, u, core.ScopeMail)
	adminPost(t, sb, "/users", `{"email":"`+u+`","suspended":true}`)
	_, err = mint(sb, u, core.ScopeMail)
	wantOAuthError(t, err, core.OAuthInvalidGrant, core.DescAccountDisabled)
	adminPost(t, sb, "/users", `{"email":"`+u+`","suspended":false,"imap":false}`)
	wantIMAPError(t, dialIMAP(t, sb, nil).Authenticate(&xoauth2{user: u, token: tok}), imap.ResponseCodeAlert, core.IMAPUserDisabled)
	adminPost(t, sb, "/domain", `{"imap":false}`)
	adminPost(t, sb, "/revoke", `{"email":"`+u+`"}`)
	if info := tokeninfo(t, sb, tok); info["error"] != core.OAuthInvalidToken {
		t.Fatalf("revoked via admin: %v", info)
	}
	adminPost(t, sb, "/clients", fmt.Sprintf(`{"client_id":%q,"disabled":true}`, sb.ClientID()))
	_, err = mint(sb, u, core.ScopeMail)
	wantOAuthError(t, err, core.OAuthDisabledClient, core.DescDisabledClient)
	adminPost(t, sb, "/clients", fmt.Sprintf(`{"client_id":%q}`, sb.ClientID()))

	req, _ := http.NewRequest(http.MethodDelete, sb.Endpoints().AdminURL+"/delegation?client_id="+sb.ClientID(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("DELETE delegation: %v %v", err, resp)
	}
	resp.Body.Close()
	_, err = mint(sb, u, core.ScopeMail)
	wantOAuthError(t, err, core.OAuthUnauthorizedClient, core.DescUnauthorizedClient)

	// Date follows the skew.
	adminPost(t, sb, "/clock", `{"skew_seconds":-7200}`)
	resp, err = http.Get(sb.Endpoints().AdminURL + "/state")
	if err != nil {
		t.Fatal(err)
	}
	var st stateDump
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(date); d < 119*time.Minute || d > 121*time.Minute {
		t.Fatalf("Date %v is %v behind, want 2h", date, d)
	}
	if st.SkewSeconds != -7200 || st.DomainIMAP || len(st.Users) != 5 {
		t.Fatalf("state %+v", st)
	}

	// Bad requests answer 400 with an error (another domain's address is
	// fine: see TestUserOutsideTheDomain).
	resp, err = http.Post(sb.Endpoints().AdminURL+"/users", "application/json", strings.NewReader(`{"email":"x@other..test"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), `"error"`) {
		t.Fatalf("bad user: %d %s", resp.StatusCode, b)
	}

	adminPost(t, sb, "/faults", `{"latency_ms":150}`)
	t0 := time.Now()
	tokeninfo(t, sb, "x")
	if time.Since(t0) < 150*time.Millisecond {
		t.Fatal("latency fault not applied")
	}
}

func TestFaults(t *testing.T) {
	sb := start(t, Options{Delegate: true})
	sb.SetFaults(Faults{SMTPDrop: true})
	if c, err := smtp.DialTLS(sb.Endpoints().SMTP, tlsConfig(t, sb)); err == nil {
		c.Close()
		t.Fatal("SMTP connection not dropped")
	}
	sb.SetFaults(Faults{IMAPStall: true})
	cfg := tlsConfig(t, sb)
	nc, err := tls.Dial("tcp", sb.Endpoints().IMAP, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 10)
	if n, err := nc.Read(buf); err == nil || n > 0 {
		t.Fatalf("stalled IMAP sent %q", buf[:n])
	}
	sb.SetFaults(Faults{})
	// A stalled connection does not keep Close from returning.
}

func TestDirFiles(t *testing.T) {
	dir := t.TempDir()
	sb := start(t, Options{Dir: dir, Domain: "corp.test", Users: 1})
	if got := sb.Users(); len(got) != 2 || got[0] != "admin@corp.test" || got[1] != "user1@corp.test" {
		t.Fatalf("users %v", got)
	}
	for name, mode := range map[string]os.FileMode{"service-account.json": 0o600, "oauth-client.json": 0o600, "ca.pem": 0o644, "endpoints.json": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Fatalf("%s mode %v", name, fi.Mode())
		}
	}
	ep, err := core.LoadEndpoints(context.Background(), filepath.Join(dir, "endpoints.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ep != sb.Endpoints() || ep.CAFile == "" {
		t.Fatalf("endpoints %+v vs %+v", ep, sb.Endpoints())
	}
	if _, err := ep.TLSConfig(ep.IMAP); err != nil {
		t.Fatal(err)
	}
	cred, _, err := core.LoadCredentialFile(context.Background(), filepath.Join(dir, "service-account.json"), core.CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cred.ClientID != sb.ClientID() || len(cred.ClientID) != 21 || cred.TokenURI != ep.TokenURL || cred.PrivateKeyID != sb.KeyID() {
		t.Fatalf("credential %+v", cred)
	}
	oc, _, err := core.LoadCredentialFile(context.Background(), filepath.Join(dir, "oauth-client.json"), core.CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if oc.Kind != core.KindOAuthClient || !strings.HasSuffix(oc.ClientID, ".apps.googleusercontent.com") {
		t.Fatalf("oauth client %+v", oc)
	}
}

func TestRegisteredKey(t *testing.T) {
	sb := start(t, Options{Delegate: true})
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(other)
	var f map[string]any
	_ = json.Unmarshal(sb.ServiceAccountJSON(), &f)
	f["private_key"] = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	f["private_key_id"] = "p12key"
	keyJSON, _ := json.Marshal(f)
	try := func() error {
		conf, err := google.JWTConfigFromJSON(keyJSON, core.ScopeMail)
		if err != nil {
			t.Fatal(err)
		}
		conf.Subject = "user1@example.test"
		_, err = conf.TokenSource(context.Background()).Token()
		return err
	}
	wantOAuthError(t, try(), core.OAuthInvalidGrant, core.DescInvalidSignature)
	sb.RegisterKey(sb.ClientEmail(), sb.ClientID(), &other.PublicKey, "p12key")
	if err := try(); err != nil {
		t.Fatalf("registered key refused: %v", err)
	}
	sb.DeleteKey("p12key")
	wantOAuthError(t, try(), core.OAuthInvalidGrant, core.DescInvalidSignature)
	// The generated key still works.
	mustMint(t, sb, "user1@example.test", core.ScopeMail)
}

// TestCloseLeavesNothing opens every kind of connection, including a stalled
// one and a client in IDLE, and checks Close ends all the sandbox's goroutines.
func TestCloseLeavesNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	sb, err := Start(Options{Delegate: true})
	if err != nil {
		t.Fatal(err)
	}
	u := "user1@example.test"
	tok := mustMint(t, sb, u, core.ScopeMail)
	cfg := tlsConfig(t, sb)
	ic, err := imapclient.DialTLS(sb.Endpoints().IMAP, &imapclient.Options{TLSConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	idle := idleInbox(t, ic, u, tok)
	sc, err := smtp.DialTLS(sb.Endpoints().SMTP, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Hello("x"); err != nil {
		t.Fatal(err)
	}
	sb.SetFaults(Faults{IMAPStall: true})
	stalled, err := tls.Dial("tcp", sb.Endpoints().IMAP, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { sb.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // a deadline for a hang, not a speed goal
		t.Fatal("Close hangs")
	}
	_ = idle.Wait()
	ic.Close()
	sc.Close()
	stalled.Close()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second) // goroutines end on their own schedule; a hang guard
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// idleInbox logs ic in as u with tok, selects INBOX and starts IDLE.
func idleInbox(t *testing.T, ic *imapclient.Client, u, tok string) *imapclient.IdleCommand {
	t.Helper()
	if err := ic.Authenticate(&xoauth2{user: u, token: tok}); err != nil {
		t.Fatal(err)
	}
	_, idle := coretest.IdleInbox(t, ic)
	return idle
}

// A sandbox that cannot listen reports why, having closed what it started
// (before, the cleanup of the failed Start dereferenced nil and panicked).
func TestStartFailsCleanly(t *testing.T) {
	// 192.0.2.1 (TEST-NET-1) is no address of this machine
	sb, err := Start(Options{Addr: "192.0.2.1"})
	if err == nil {
		sb.Close()
		t.Fatal("Start on an address of no local interface succeeded")
	}
	if sb != nil || !strings.Contains(err.Error(), "192.0.2.1") {
		t.Fatalf("Start: %v, %v; want no sandbox and an error naming the address", sb, err)
	}
}

// freePort is a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Options.Ports puts the listeners on the ports asked for, and a port
// already taken fails Start, naming it, rather than moving elsewhere.
func TestFixedPorts(t *testing.T) {
	httpPort, imapPort, smtpPort := freePort(t), freePort(t), freePort(t)
	sb := start(t, Options{Delegate: true, Ports: Ports{HTTP: httpPort, IMAP: imapPort, SMTP: smtpPort}})
	ep := sb.Endpoints()
	if want := fmt.Sprintf("127.0.0.1:%d", imapPort); ep.IMAP != want {
		t.Errorf("IMAP at %s, want %s", ep.IMAP, want)
	}
	if want := fmt.Sprintf("127.0.0.1:%d", smtpPort); ep.SMTP != want {
		t.Errorf("SMTP at %s, want %s", ep.SMTP, want)
	}
	if want := fmt.Sprintf("http://127.0.0.1:%d/token", httpPort); ep.TokenURL != want {
		t.Errorf("token URL %s, want %s", ep.TokenURL, want)
	}
	mustMint(t, sb, "admin@example.test", core.ScopeMail) // the token endpoint answers there

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	port := taken.Addr().(*net.TCPAddr).Port
	if sb2, err := Start(Options{Ports: Ports{SMTP: port}}); err == nil {
		sb2.Close()
		t.Fatalf("Start with SMTP on the taken %s succeeded", addr)
	} else if !strings.Contains(err.Error(), addr) {
		t.Fatalf("Start with SMTP on the taken %s: %v, want the address named", addr, err)
	}
}
