package core_test

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// TestCheckConnectionsUseClassicalKeyExchange: the IMAP check's TLS
// connection offers X25519 without the post-quantum hybrid (its key share
// was about 40% of the client's TLS work per connection), while SendMessage, which
// carries real mail, and TLSConfig, which the token endpoint and the proxy
// use, keep Go's default hybrid.
func TestCheckConnectionsUseClassicalKeyExchange(t *testing.T) {
	sb, ep, curves := curveServer(t, nil)
	tester := curveTester(t, sb, ep)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if got := imapCheckCurve(ctx, t, tester, sb, curves); got != tls.X25519 {
		t.Fatalf("the IMAP check's connection used %v, want X25519", got)
	}

	hybrid := func(what string) {
		t.Helper()
		if got := <-curves; got != tls.X25519MLKEM768 {
			t.Fatalf("%s used %v, want Go's default X25519MLKEM768", what, got)
		}
	}
	if err := tester.SendMessage(ctx, "user1@"+sb.Domain(), []string{"user1@" + sb.Domain()}, []byte("Subject: x\r\n\r\nx\r\n")); err == nil {
		t.Fatal("SendMessage succeeded against a server that says BYE")
	}
	hybrid("SendMessage's connection")
	cfg, err := ep.TLSConfig(ep.IMAP)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", ep.IMAP, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	hybrid("TLSConfig's connection")
}

// TestCheckConnectionsWorkWithoutX25519: the checks send an X25519 key
// share alone, but still offer P-256, P-384 and P-521, so a server that
// cannot do X25519 (a configured endpoint need not be Google's) is checked
// as any other, at the cost of one more round trip (a HelloRetryRequest).
func TestCheckConnectionsWorkWithoutX25519(t *testing.T) {
	for _, curve := range []tls.CurveID{tls.CurveP256, tls.CurveP384} {
		sb, ep, curves := curveServer(t, []tls.CurveID{curve})
		tester := curveTester(t, sb, ep)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if got := imapCheckCurve(ctx, t, tester, sb, curves); got != curve {
			t.Fatalf("against a server with %v only, the IMAP check's connection used %v", curve, got)
		}
	}
}

// curveServer starts the sandbox and an IMAPS server (with the key
// exchanges curves; nil: Go's default) that notes the key exchange of each
// connection and says BYE, trusted beside the sandbox's CA; ep is the
// sandbox's endpoints with IMAP and SMTP at that server.
func curveServer(t *testing.T, curves []tls.CurveID) (*sandbox.Sandbox, core.Endpoints, chan tls.CurveID) {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Options{Users: 1, Delegate: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	hs := httptest.NewUnstartedServer(nil)
	hs.StartTLS()
	hs.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: hs.TLS.Certificates, CurvePreferences: curves})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	used := make(chan tls.CurveID, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			_ = tc.SetDeadline(time.Now().Add(30 * time.Second))
			if tc.Handshake() == nil {
				used <- tc.ConnectionState().CurveID
				_, _ = tc.Write([]byte("* BYE not today\r\n"))
			}
			tc.Close()
		}
	}()
	ca, err := os.ReadFile(sb.Endpoints().CAFile)
	if err != nil {
		t.Fatal(err)
	}
	ca = append(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})...)
	ep := sb.Endpoints()
	ep.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ep.CAFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	ep.IMAP = ln.Addr().String()
	ep.SMTP = ep.IMAP
	return sb, ep, used
}

func curveTester(t *testing.T, sb *sandbox.Sandbox, ep core.Endpoints) *core.Tester {
	t.Helper()
	p := &core.Profile{Domain: sb.Domain(), DefaultSender: "admin@" + sb.Domain(), Credential: sb.ServiceAccountJSON(), Endpoints: ep}
	tester, err := core.NewTester(p, &core.MemoryTokenCache{})
	if err != nil {
		t.Fatal(err)
	}
	return tester
}

// imapCheckCurve runs the IMAP check against curveServer's server and
// returns the key exchange its connection agreed.
func imapCheckCurve(ctx context.Context, t *testing.T, tester *core.Tester, sb *sandbox.Sandbox, curves chan tls.CurveID) tls.CurveID {
	t.Helper()
	r := tester.Check(ctx, "user1@"+sb.Domain(), []core.CheckName{core.CheckToken, core.CheckIMAP})
	if r.OK {
		t.Fatal("the IMAP check passed against a server that says BYE")
	}
	// the server notes the handshake before it says BYE, so by now it has
	select {
	case got := <-curves:
		return got
	case <-time.After(5 * time.Second):
		t.Fatalf("the IMAP check never completed a TLS handshake: %s", r.Finding.Summary)
	}
	return 0
}
