package proxy

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// rawSocket reads and writes a relayed TCP socket by the system call
// itself (syscall.RawSyscall) instead of net.Conn's, which tells the Go
// scheduler that the goroutine entered a system call that may block.
// The socket is non-blocking, so its reads and writes do not block: one
// that would returns EAGAIN, and the wait for the socket is the poller's,
// through syscall.RawConn, as for net.Conn. What the announced system
// call costs is the scheduler's monitor thread (sysmon): every one wakes
// it when it sleeps because the process was idle, after which it polls
// every 20 µs again, and it takes the processor of one that lasts a tick
// and hands it to another thread. For a relay that does six system calls
// per command and is idle between commands, those wake-ups cost more than
// the calls (BenchmarkProxyImaplib: the monitor thread used a third to a
// half of the proxy's CPU time).
type rawSocket struct {
	rc syscall.RawConn
	// rd and wr are the system calls of the socket's reader and of its
	// writer, their functions made once rather than a closure (three
	// allocations) per call. One goroutine reads and one writes at a
	// time: the relay's two, and crypto/tls holds its own read and write
	// locks around its calls.
	rd, wr rawCall
}

// rawCall is one read or write system call on the socket: its buffer and
// its outcome, and fn, what syscall.RawConn calls with the descriptor.
type rawCall struct {
	b     []byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// newRawSocket is c's raw reads and writes; nil when c is not a TCP
// connection (a test's pipe; a TLS connection: rawRelay).
func newRawSocket(c net.Conn) io.ReadWriter {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawSocket{rc: rc}
	r.rd.fn, r.wr.fn = r.rd.read, r.wr.write
	return r
}

// read reads once into b; false (wait for the poller) when nothing is
// there yet.
func (c *rawCall) read(fd uintptr) bool {
	for {
		r1, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&c.b[0])), uintptr(len(c.b)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		c.n, c.errno = int(r1), e
		return true
	}
}

// write writes all of b, from c.n on; false (wait for the poller) when
// the send buffer is full.
func (c *rawCall) write(fd uintptr) bool {
	for c.n < len(c.b) {
		r1, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&c.b[c.n])), uintptr(len(c.b)-c.n))
		switch e {
		case 0:
			c.n += int(r1)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.errno = e
			return true
		}
	}
	return true
}

// do runs c on the socket by op (RawConn's Read or Write) for b and
// returns its outcome; the buffer is not kept.
func (c *rawCall) do(op func(func(uintptr) bool) error, b []byte) (int, syscall.Errno, error) {
	c.b, c.n, c.errno = b, 0, 0
	err := op(c.fn)
	c.b = nil
	return c.n, c.errno, err
}

func (r *rawSocket) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, errno, err := r.rd.do(r.rc.Read, b)
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: errno}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (r *rawSocket) Write(b []byte) (int, error) {
	n, errno, err := r.wr.do(r.rc.Write, b)
	if err == nil && errno != 0 {
		err = &net.OpError{Op: "write", Net: "tcp", Err: errno}
	}
	return n, err
}
