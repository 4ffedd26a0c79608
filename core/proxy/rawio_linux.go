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
	return &rawSocket{rc: rc}
}

func (r *rawSocket) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			r1, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait for the poller
			}
			n, errno = int(r1), e
			return true
		}
	})
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
	var n int
	var errno syscall.Errno
	err := r.rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			r1, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n))
			switch e {
			case 0:
				n += int(r1)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // the send buffer is full: wait for the poller
			default:
				errno = e
				return true
			}
		}
		return true
	})
	if err == nil && errno != 0 {
		err = &net.OpError{Op: "write", Net: "tcp", Err: errno}
	}
	return n, err
}
