// Package coretest holds helpers for the tests of mailoauth's packages, as
// net/http/httptest and testing/iotest do for the standard library's: the
// small pieces that tests in more than one package need.
//
// It is imported by _test.go files only, never by non-test code, and
// imports nothing of the project (core's own tests import it, so it must
// never import core).
package coretest

import (
	"bytes"
	"context"
	"io"
	"net"
	"os/exec"
	"sync"
	"testing"
)

// Buffer is a bytes.Buffer one goroutine may write (a process's stderr, a
// server's log) while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// lockedReader is the reader LockedReader returns.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

// LockedReader returns a reader that lets several goroutines drain r, one
// Read at a time (a bufio.Reader is not safe for that; a tls.Conn is).
func LockedReader(r io.Reader) io.Reader { return &lockedReader{r: r} }

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// StartPiped starts cmd with a pipe to its stdin and one from its stdout,
// for a helper process the test talks to line by line; a pipe or start
// that fails ends the test.
func StartPiped(t testing.TB, cmd *exec.Cmd) (stdin io.WriteCloser, stdout io.ReadCloser) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if stdout, err = cmd.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return stdin, stdout
}

// ServeConns accepts ln's connections until it is closed, serving each
// with serve in a goroutine of its own; when the test ends (before its
// cleanups run) the listener and every connection are closed, so that
// servers blocked in a read return.
func ServeConns(t testing.TB, ln net.Listener, serve func(net.Conn)) {
	ended := t.Context()
	context.AfterFunc(ended, func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			context.AfterFunc(ended, func() { c.Close() })
			go serve(c)
		}
	}()
}
