package proxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tcpPair is a loopback TCP connection, both ends.
func tcpPair(t testing.TB) (accepted, dialed net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	dialed, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted = <-acc
	t.Cleanup(func() { accepted.Close(); dialed.Close() })
	return accepted, dialed
}

// tlsPair is a TLS connection over loopback TCP, both ends, handshake done.
func tlsPair(t testing.TB) (server, client *tls.Conn) {
	t.Helper()
	cert, pool := testCertificate(t)
	accepted, raw := tcpPair(t)
	client = tls.Client(&readyConn{Conn: raw}, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	server = tls.Server(accepted, &tls.Config{Certificates: []tls.Certificate{cert}})
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// writes records every Write to a net.Conn.
type writes struct {
	net.Conn
	mu  sync.Mutex
	all [][]byte
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.all = append(w.all, bytes.Clone(p))
	w.mu.Unlock()
	return len(p), nil
}

func (w *writes) got() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all
}

// TestCopyConnCoalescesRecords: what the login's reader still holds goes
// first; TLS records that arrived together (a FETCH response and its
// tagged OK) leave in one write, not one each; a record that comes later
// is relayed when it comes, and the end of the source ends the copy.
func TestCopyConnCoalescesRecords(t *testing.T) {
	server, client := tlsPair(t)
	for _, rec := range []string{"* 1 FETCH (FLAGS ())\r\n", "A1 OK FETCH completed\r\n"} {
		if _, err := server.Write([]byte(rec)); err != nil { // one record each
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // both are in the client's socket
	dst := &writes{}
	br := bufio.NewReader(strings.NewReader("* OK left from the login\r\n"))
	br.Peek(1)
	var last atomic.Int64
	done := make(chan error, 1)
	go func() { done <- copyConn(dst, client, br, &last, nil) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(dst.got()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := server.Write([]byte("* 2 EXISTS\r\n")); err != nil {
		t.Fatal(err)
	}
	for len(dst.got()) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	server.Close()
	if err := <-done; err != io.EOF {
		t.Fatalf("copyConn ended with %v, want EOF", err)
	}
	want := []string{"* OK left from the login\r\n", "* 1 FETCH (FLAGS ())\r\nA1 OK FETCH completed\r\n", "* 2 EXISTS\r\n"}
	got := dst.got()
	if len(got) != len(want) {
		t.Fatalf("writes: got %q, want %q", got, want)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Fatalf("write %d: got %q, want %q", i, got[i], want[i])
		}
	}
	if last.Load() == 0 {
		t.Fatal("the reads were not recorded as activity")
	}
}

// BenchmarkRelayRoundTrip: the relay's own cost per command, without a
// mail server or an IMAP client: a client writes a FETCH-sized command
// over plain loopback TCP, copyConn relays it to a TLS server that answers
// with a 2 KB response and a tagged OK (two records, as an IMAP server
// writes them), and copyConn relays that back. It reports the process's
// CPU time per round trip (client, relay and server; only the relay
// changes between versions of copyConn) next to ns/op.
func BenchmarkRelayRoundTrip(b *testing.B) {
	server, upstream := tlsPair(b)
	proxySide, client := tcpPair(b)
	var last atomic.Int64
	relayClient, relayServer := rawRelay(proxySide), rawRelay(upstream) // as session.relay
	go copyConn(relayServer, relayClient, bufio.NewReader(strings.NewReader("")), &last, nil)
	go copyConn(relayClient, relayServer, bufio.NewReader(strings.NewReader("")), &last, nil)
	fetch := append([]byte("* 1 FETCH (BODY[] {2000}\r\n"), bytes.Repeat([]byte{'a'}, 2000)...)
	fetch = append(fetch, ")\r\n"...)
	ok := []byte("A1 OK FETCH completed\r\n")
	go func() {
		br := bufio.NewReader(server)
		for {
			if _, err := br.ReadSlice('\n'); err != nil {
				return
			}
			if _, err := server.Write(fetch); err != nil {
				return
			}
			if _, err := server.Write(ok); err != nil {
				return
			}
		}
	}()
	cmd := []byte("A1 FETCH 1 (BODY.PEEK[])\r\n")
	buf := make([]byte, 64*1024)
	want := len(fetch) + len(ok)
	roundTrip := func() {
		if _, err := client.Write(cmd); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < want; {
			n, err := client.Read(buf)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
	for i := 0; i < 100; i++ {
		roundTrip()
	}
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		roundTrip()
	}
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
}

// TestRawRelayLargeReplyAndClose: relayed the way session.relay does
// (rawRelay: on Linux the sockets' own read and write system calls), a
// command reaches the server, and a reply of 8 MB from a TLS server to a
// plain TCP client that does not read at first arrives whole and in
// order: the relay's writes that find the client's socket full wait for
// the poller and go on where they stopped. Closing the sockets, as the
// idle timeout and the shutdown do, ends both directions, the one waiting
// for the client included.
func TestRawRelayLargeReplyAndClose(t *testing.T) {
	server, upstream := tlsPair(t)
	proxySide, client := tcpPair(t)
	relayClient, relayServer := rawRelay(proxySide), rawRelay(upstream)
	if runtime.GOOS == "linux" {
		if _, ok := relayClient.(*rawTCP); !ok {
			t.Fatalf("the plain TCP side is relayed by %T, not by its raw system calls", relayClient)
		}
		if upstream.NetConn().(*readyConn).raw == nil {
			t.Fatal("the TLS side's socket is not relayed by its raw system calls")
		}
	}
	var last atomic.Int64
	empty := func() *bufio.Reader { return bufio.NewReader(strings.NewReader("")) }
	commands, replies := make(chan error, 1), make(chan error, 1)
	go func() { commands <- copyConn(relayServer, relayClient, empty(), &last, nil) }()
	go func() { replies <- copyConn(relayClient, relayServer, empty(), &last, nil) }()

	cmd := "A1 FETCH 1 (BODY.PEEK[])\r\n"
	if _, err := client.Write([]byte(cmd)); err != nil {
		t.Fatal(err)
	}
	if got, err := bufio.NewReader(server).ReadString('\n'); err != nil || got != cmd {
		t.Fatalf("the server read %q (%v), want %q", got, err, cmd)
	}
	reply := make([]byte, 8<<20)
	for i := range reply {
		reply[i] = byte(i*7 + i>>13)
	}
	sent := make(chan error, 1)
	go func() {
		_, err := server.Write(reply)
		sent <- err
	}()
	time.Sleep(200 * time.Millisecond) // the client's socket and the relay's fill up
	got := make([]byte, len(reply))
	_ = client.SetReadDeadline(time.Now().Add(30 * time.Second)) // a lost byte fails, not hangs
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatalf("the client read %v", err)
	}
	if !bytes.Equal(got, reply) {
		i := 0
		for i < len(got) && got[i] == reply[i] {
			i++
		}
		t.Fatalf("the 8 MB reply came through changed from byte %d on", i)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}

	proxySide.Close()
	upstream.Close()
	for name, done := range map[string]chan error{"commands": commands, "replies": replies} {
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("the %s direction ended without an error", name)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("closing the sockets did not end the %s direction of the relay", name)
		}
	}
}
