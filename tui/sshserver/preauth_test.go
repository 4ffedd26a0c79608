package sshserver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// rawConn opens a TCP connection that never logs in and reads the
// server's version line, which the server sends to every connection it
// keeps; ok is false when the server closed it instead.
func rawConn(t *testing.T, addr string) (net.Conn, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // hang guard
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("reading the server's first line: %v", err)
	}
	return c, strings.HasPrefix(line, "SSH-2.0-")
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// waitClosed reads until the server closes c (EOF), failing when the hang
// guard runs out first.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the server kept a connection that never logged in open")
	}
}

func TestPreauthConnectionsPerSourceAreCapped(t *testing.T) {
	var log logLines
	ts := startServer(t, Config{MaxPreauthPerSource: 2, MaxPreauth: 100, HandshakeTimeout: time.Hour, Logf: log.logf})
	first, ok1 := rawConn(t, ts.addr)
	_, ok2 := rawConn(t, ts.addr)
	if !ok1 || !ok2 {
		t.Fatal("the first two connections were not kept")
	}
	if _, ok := rawConn(t, ts.addr); ok {
		t.Fatal("a third connection from the same address, not logged in, was kept (limit 2)")
	}
	if !strings.Contains(log.text(), "refused a connection from 127.0.0.1: 2 connection(s) from it") {
		t.Errorf("the refusal was not logged:\n%s", log.text())
	}
	// A slot freed by a closed connection is free again.
	first.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, ok := rawConn(t, ts.addr); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slot of a closed connection was never freed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPreauthConnectionsInAllAreCapped(t *testing.T) {
	var log logLines
	ts := startServer(t, Config{MaxPreauthPerSource: 100, MaxPreauth: 3, HandshakeTimeout: time.Hour, Logf: log.logf})
	for i := 0; i < 3; i++ {
		if _, ok := rawConn(t, ts.addr); !ok {
			t.Fatalf("connection %d of 3 was not kept", i+1)
		}
	}
	if _, ok := rawConn(t, ts.addr); ok {
		t.Fatal("a fourth connection not logged in was kept (limit 3 in all)")
	}
}

func TestConnectionThatNeverLogsInIsClosed(t *testing.T) {
	var log logLines
	admin := newKey(t)
	ts := startServer(t, Config{HandshakeTimeout: 300 * time.Millisecond, Logf: log.logf}, admin)
	c, ok := rawConn(t, ts.addr)
	if !ok {
		t.Fatal("the connection was refused outright")
	}
	waitClosed(t, c)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(log.text(), "did not log in within 300ms") {
		if time.Now().After(deadline) {
			t.Fatalf("the closing was not logged:\n%s", log.text())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A client that logs in is not cut off by the bound: its session
	// outlives it.
	tm := openTerm(t, ts.login(t, "alice", admin), true)
	tm.waitFor(t, firstScreen)
	time.Sleep(600 * time.Millisecond) // twice the bound
	if _, err := tm.in.Write([]byte("\r")); err != nil {
		t.Fatal(err)
	}
	tm.waitFor(t, "Default sender")
}
