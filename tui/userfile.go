package tui

import (
	"context"
	"time"
)

// fileReadBound bounds reading a file the user named in a field (a key, a
// CSV list). core.ReadUserFile reads only regular files up to a cap, so it
// matters only on a file system that hangs.
const fileReadBound = 10 * time.Second

// fileContext is the context of such a read.
func fileContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), fileReadBound)
}
