package watch

import "time"

// Clock is the watcher's time: the real one, or a fake in tests.
type Clock interface {
	Now() time.Time
	// After fires once d has passed (at once when d <= 0).
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
