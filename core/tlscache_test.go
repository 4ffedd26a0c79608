package core_test

import (
	"bufio"
	"crypto/tls"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core/sandbox"
)

// TestTLSSessionResumedPerEndpoint: the second connection to a server
// resumes the first one's TLS session (no certificate chain sent, signed or
// verified again); a server under another CA file does not share it.
func TestTLSSessionResumedPerEndpoint(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Options{Users: 1, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	ep := sb.Endpoints()
	dial := func() bool {
		t.Helper()
		cfg, err := ep.TLSConfig(ep.IMAP)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tls.Dial("tcp", ep.IMAP, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // hang guard
		// Reading the greeting takes in the session ticket sent after the handshake.
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		return c.ConnectionState().DidResume
	}
	if dial() {
		t.Fatal("the first connection resumed a session")
	}
	if !dial() {
		t.Fatal("the second connection to the same server did a full handshake again")
	}
	// Another sandbox (another CA, another server) starts afresh.
	sb2, err := sandbox.Start(sandbox.Options{Users: 1, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb2.Close() })
	ep = sb2.Endpoints()
	if dial() {
		t.Fatal("a session was resumed across servers and CA files")
	}
}
