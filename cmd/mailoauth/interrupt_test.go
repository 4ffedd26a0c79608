package main

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/mailoauth/mailoauth/core/coretest"
)

// The first Ctrl-C asks the command to stop cleanly (its context ends and
// nothing exits); a second one, while it saves and prints, exits at once
// with 130 and says so (issue 12 item 6).
func TestSecondInterruptExitsAtOnce(t *testing.T) {
	for _, first := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		sigs := make(chan os.Signal) // unbuffered: a send returns once it is taken
		exited := make(chan int, 1)
		var stderr coretest.Buffer
		ctx, stop := stopOnSignals(context.Background(), sigs, &stderr, func(code int) { exited <- code })
		sigs <- first
		<-ctx.Done()
		select {
		case code := <-exited:
			t.Fatalf("the first %v exited (%d) instead of asking for a clean stop", first, code)
		default:
		}
		sigs <- os.Interrupt
		if code := <-exited; code != exitInterrupted {
			t.Fatalf("a second interrupt exited %d, want %d", code, exitInterrupted)
		}
		if !strings.Contains(stderr.String(), "interrupted again: stopped at once") {
			t.Fatalf("the forced exit said %q", stderr.String())
		}
		stop()
	}
}

// Once the command is over (stop), no interrupt exits through the watch.
func TestInterruptAfterStopDoesNotExit(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	ctx, stop := stopOnSignals(context.Background(), sigs, &coretest.Buffer{}, func(code int) { t.Errorf("exited %d after stop", code) })
	stop()
	<-ctx.Done()
	sigs <- os.Interrupt
	sigs <- os.Interrupt
}
