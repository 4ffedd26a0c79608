package core

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// ListenFlag listens on the address a command-line flag gave (flag is its
// name, e.g. "--imap"; example a value that would do, e.g.
// "127.0.0.1:1993"). An address that is not HOST:PORT, and a listen that
// fails, come back as one sentence naming the flag and what to do, never
// as Go's network text.
func ListenFlag(flag, addr, example string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return nil, Inputf("%s %s is not HOST:PORT; use e.g. %s", flag, addr, example)
	}
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return ln, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, &InputError{Msg: fmt.Sprintf("%s %s is in use by another program; stop it, or choose a free port with %s (e.g. %s)", flag, addr, flag, example), Env: true, Err: err}
	case errors.Is(err, syscall.EACCES):
		return nil, &InputError{Msg: fmt.Sprintf("%s %s needs root (ports below 1024 are privileged); choose a port above 1023 with %s (e.g. %s)", flag, addr, flag, example), Env: true, Err: err}
	case errors.Is(err, syscall.EADDRNOTAVAIL) || isDNSError(err):
		return nil, &InputError{Msg: fmt.Sprintf("%s %s names a host %q that is not an address of this machine; use one of its addresses with %s (e.g. %s)", flag, addr, host, flag, example), Env: true, Err: err}
	}
	cause := err
	if u := errors.Unwrap(err); u != nil {
		cause = u
	}
	return nil, &InputError{Msg: fmt.Sprintf("%s %s cannot be listened on (%s); choose another address with %s (e.g. %s)", flag, addr, SafeText(cause.Error()), flag, example), Env: true, Err: err}
}

func isDNSError(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de)
}
