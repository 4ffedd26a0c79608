package tui

import (
	"context"
	"time"
)

// fileReadBound bounds reading a file the user named in a field (a key, a
// CSV list). core.ReadUserFile reads only regular files up to a cap, so it
// matters only on a file system that hangs.
const fileReadBound = 10 * time.Second

// maxFieldChars bounds every text field of the wizard (a path, an address,
// a name, a pasted consent answer all fit; PATH_MAX is 4096), so a paste
// of megabytes over SSH does not grow the server.
const maxFieldChars = 4096

// fileContext is the context of such a read.
func fileContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), fileReadBound)
}
