package proxy

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// rawIMAP is a client of the proxy's implicit-TLS IMAP listener that reads
// and writes lines itself, greeting read.
func (f *fixture) rawIMAP(t testing.TB) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := tls.Dial("tcp", f.imapTLS, f.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "* OK") {
		t.Fatalf("greeting: %q %v", line, err)
	}
	return conn, br
}

// TestProxyTagOnlyLinesDisconnect: a client that is not logged in and
// sends line after line with a tag and no command gets a BAD for each up to
// the bad-command limit and is then disconnected, and the proxy goes on
// serving other clients.
func TestProxyTagOnlyLinesDisconnect(t *testing.T) {
	f := startFixture(t, Config{})
	conn, br := f.rawIMAP(t)
	const lines = 10000
	bads, closed := 0, false
	for i := 0; i < lines && !closed; i++ {
		if _, err := fmt.Fprintf(conn, "a%d\r\n", i); err != nil {
			closed = true
			break
		}
		line, err := br.ReadString('\n')
		switch {
		case err == io.EOF:
			closed = true
		case err != nil:
			t.Fatalf("after %d tag-only lines: %v", i, err)
		case line == fmt.Sprintf("a%d BAD missing command\r\n", i):
			bads++
		case line == "* BYE mailoauth proxy: too many bad commands\r\n":
			if _, err := br.ReadString('\n'); err != io.EOF {
				t.Fatalf("after the BYE the connection should be closed, got %v", err)
			}
			closed = true
		default:
			t.Fatalf("tag-only line %d: unexpected reply %q", i, line)
		}
	}
	if !closed || bads != maxBadCommands {
		t.Fatalf("want %d BAD replies and the connection closed, got %d BAD replies (closed: %v) after up to %d tag-only lines", maxBadCommands, bads, closed, lines)
	}
	user := f.sb.Users()[0]
	c := f.loggedIn(t, user)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("another client after the disconnect: %v", err)
	}
}
