package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
)

// forcedExitSentence is what a second Ctrl-C prints as it exits.
const forcedExitSentence = "mailoauth: interrupted again: stopped at once, without saving or printing what was left (every token a result was reported for is already saved); run the command again to finish"

// stopOnSignals is the context of a command run from a shell: the first
// signal on sigs (Ctrl-C or SIGTERM) ends it, asking the command to stop
// cleanly (a bulk test still saves and prints what finished); a second one
// while it does exits at once, as most command-line tools do, through exit
// with exitInterrupted. A forced exit is as safe as SIGKILL: a run reports
// a mailbox only once its token is on disk, and the store's transactions
// are atomic. stop ends the watch.
func stopOnSignals(parent context.Context, sigs <-chan os.Signal, stderr io.Writer, exit func(code int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	done := make(chan struct{})
	// over reports whether stop was called: a signal taken after it
	// (select picks at random among ready cases) is ignored.
	over := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		if over() {
			return
		}
		cancel()
		select {
		case <-sigs:
			if !over() {
				fmt.Fprintln(stderr, forcedExitSentence)
				exit(exitInterrupted)
			}
		case <-done:
		}
	}()
	return ctx, sync.OnceFunc(func() {
		close(done)
		cancel()
	})
}
