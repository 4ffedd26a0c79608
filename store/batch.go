package store

import (
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Group commit for the many small concurrent writes of a bulk run (each
// mailbox's freshly minted token): the writes that arrive while a commit is
// under way are committed together in the next transaction, with one fsync
// instead of one each. A call returns only once its own write is committed,
// so nothing reported saved can be lost. Unlike bbolt's Batch no timer
// delays a lone write that is waited for, and every transaction runs under
// guard, which turns a damaged file into a sentence (on a caller's
// goroutine, or for batchLater writes on the leader's own).
//
// A write that need not be waited for at once (batchLater: a minted token,
// whose mailbox goes on to its IMAP and SMTP checks) is committed when
// some caller needs one of the pending writes done (its wait, or a batch
// write), at the latest laterWindow after it came, or by Close: a bulk
// run's tokens then share a transaction and its two fsyncs as many as
// were minted while the first of them finished its checks, where the
// writes that happened to arrive during a commit were about six. Its
// caller waits for the commit before it reports the write done.

// laterWindow is the longest a batchLater write waits for others to share
// its commit; laterMax pending writes commit at once.
const (
	laterWindow = 250 * time.Millisecond
	laterMax    = 256
)

type groupCommit struct {
	mu       sync.Mutex
	pending  []*pendingWrite
	busy     bool          // a leader is committing, or lingering to
	kick     chan struct{} // non-nil: the lingering leader's window; close it to commit now
	flushing bool          // Close is waiting: a new window ends at once
	idle     *sync.Cond    // broadcast when busy turns false (on mu)
	commits  int           // transactions committed by batch (for tests)
	window   time.Duration // 0: laterWindow (tests set a longer one)
}

type pendingWrite struct {
	fn   func(tx *bolt.Tx) error
	done chan error    // the write's outcome
	lead chan struct{} // closed: commit what is pending now; nil for a batchLater write not waited for
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
	g.endWindow()
	g.mu.Unlock()
	if !leader {
		select {
		case err := <-w.done:
			return err
		case <-w.lead:
		}
	}
	s.commitPending()
	return <-w.done
}

// batchLater queues fn like batch but returns at once; wait returns its
// outcome once it is committed (it may be called any number of times).
func (s *Store) batchLater(fn func(tx *bolt.Tx) error) (wait func() error) {
	g := &s.group
	w := &pendingWrite{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, w)
	if !g.busy {
		g.busy = true
		s.linger()
	} else if len(g.pending) >= laterMax {
		g.endWindow()
	}
	g.mu.Unlock()
	return sync.OnceValue(func() error {
		select {
		case err := <-w.done:
			return err
		default:
		}
		// Needed now: no need to wait out the window. Without a lingering
		// leader a commit is in flight; had it not taken w, its leader
		// would linger after it, so w asks to lead the next commit, as a
		// batch write does.
		g.mu.Lock()
		if g.kick == nil && slices.Contains(g.pending, w) {
			w.lead = make(chan struct{})
		}
		g.endWindow()
		lead := w.lead
		g.mu.Unlock()
		select {
		case err := <-w.done:
			return err
		case <-lead: // nil (never ready) unless w asked to lead
		}
		s.commitPending()
		return <-w.done
	})
}

// linger starts a leader that commits what is pending once laterWindow
// has passed or the window is ended; s.group.mu is held.
func (s *Store) linger() {
	kick := make(chan struct{})
	s.group.kick = kick
	if s.group.flushing {
		s.group.endWindow()
	}
	window := s.group.window
	if window == 0 {
		window = laterWindow
	}
	go func() {
		t := time.NewTimer(window)
		defer t.Stop()
		select {
		case <-t.C:
		case <-kick:
		}
		s.commitPending()
	}()
}

// endWindow makes a lingering leader commit now; g.mu is held.
func (g *groupCommit) endWindow() {
	if g.kick != nil {
		close(g.kick)
		g.kick = nil
	}
}

// commitPending commits every pending write in one transaction, then hands
// the lead on: to the first write that arrived meanwhile and is waited for,
// else, when only batchLater writes arrived, to a new lingering leader.
func (s *Store) commitPending() {
	g := &s.group
	g.mu.Lock()
	g.kick = nil
	writes := g.pending
	g.pending = nil
	g.mu.Unlock()
	s.commitGroup(writes)
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, w := range g.pending {
		if w.lead != nil {
			close(w.lead)
			return
		}
	}
	if len(g.pending) > 0 {
		s.linger()
		return
	}
	g.busy = false
	g.cond().Broadcast()
}

// flushGroup commits the pending writes now and returns once none is left
// (Close: a batchLater write is never dropped by closing the store).
func (s *Store) flushGroup() {
	g := &s.group
	g.mu.Lock()
	defer g.mu.Unlock()
	// A write that arrives while a commit is in flight would otherwise
	// make its leader linger, and nothing would wake Close to end that.
	g.flushing = true
	defer func() { g.flushing = false }()
	for g.busy {
		g.endWindow()
		g.cond().Wait()
	}
}

func (g *groupCommit) cond() *sync.Cond {
	if g.idle == nil {
		g.idle = sync.NewCond(&g.mu)
	}
	return g.idle
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
