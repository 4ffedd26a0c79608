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
	sb, err := sandbox.Start(sandbox.Options{Users: 1, Delegate: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })

	// An IMAPS server that notes the key exchange and says BYE, trusted
	// beside the sandbox's CA.
	hs := httptest.NewUnstartedServer(nil)
	hs.StartTLS()
	hs.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: hs.TLS.Certificates})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	curves := make(chan tls.CurveID, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			_ = tc.SetDeadline(time.Now().Add(30 * time.Second))
			if tc.Handshake() == nil {
				curves <- tc.ConnectionState().CurveID
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

	p := &core.Profile{Domain: sb.Domain(), DefaultSender: "admin@" + sb.Domain(), Credential: sb.ServiceAccountJSON(), Endpoints: ep}
	tester, err := core.NewTester(p, &core.MemoryTokenCache{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r := tester.Check(ctx, "user1@"+sb.Domain(), []core.CheckName{core.CheckToken, core.CheckIMAP}); r.OK {
		t.Fatal("the IMAP check passed against a server that says BYE")
	}
	select {
	case got := <-curves:
		if got != tls.X25519 {
			t.Fatalf("the IMAP check's connection used %v, want X25519", got)
		}
	case <-ctx.Done():
		t.Fatal("the IMAP check never completed a TLS handshake")
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
