//go:build unix

package core

import "syscall"

// openNonBlock makes opening a named pipe return at once instead of
// waiting for a writer; ReadUserFile then refuses it.
const openNonBlock = syscall.O_NONBLOCK
