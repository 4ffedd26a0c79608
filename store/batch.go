package store

import (
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Group commit for the many small concurrent writes of a bulk run (each
// mailbox's freshly minted token): the writes that arrive while a commit is
// under way are committed together in the next transaction, with one fsync
// instead of one each. A call returns only once its own write is committed,
// so nothing reported saved can be lost. Unlike bbolt's Batch no timer
// delays a lone write, and every transaction runs on a caller's goroutine,
// where guard turns a damaged file into a sentence.

type groupCommit struct {
	mu      sync.Mutex
	pending []*pendingWrite
	busy    bool // a leader is committing
	commits int  // transactions committed by batch (for tests)
}

type pendingWrite struct {
	fn   func(tx *bolt.Tx) error
	done chan error    // the write's outcome
	lead chan struct{} // closed: commit what is pending now
}

// batch runs fn in a write transaction, possibly shared with concurrent
// calls. fn may run twice (alone after a shared transaction failed), so it
// must only put or delete.
func (s *Store) batch(fn func(tx *bolt.Tx) error) error {
	g := &s.group
	w := &pendingWrite{fn: fn, done: make(chan error, 1), lead: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, w)
	leader := !g.busy
	g.busy = true
	g.mu.Unlock()
	if !leader {
		select {
		case err := <-w.done:
			return err
		case <-w.lead:
		}
	}
	g.mu.Lock()
	writes := g.pending
	g.pending = nil
	g.mu.Unlock()
	s.commitGroup(writes)
	// Hand the lead to the first write that arrived meanwhile.
	g.mu.Lock()
	if len(g.pending) > 0 {
		close(g.pending[0].lead)
	} else {
		g.busy = false
	}
	g.mu.Unlock()
	return <-w.done
}

// commitGroup commits the writes in one transaction; if it fails, each is
// tried alone, so one bad write fails nobody else's.
func (s *Store) commitGroup(writes []*pendingWrite) {
	s.group.mu.Lock()
	s.group.commits++
	s.group.mu.Unlock()
	err := s.update(func(tx *bolt.Tx) error {
		for _, w := range writes {
			if err := w.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(writes) > 1 {
		for _, w := range writes {
			w.done <- s.update(w.fn)
		}
		return
	}
	for _, w := range writes {
		w.done <- err
	}
}
