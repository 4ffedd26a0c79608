package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// view and update run a transaction on the database, taken back first if it
// was released, and turn bbolt's errors into sentences.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	db, err := s.acquire()
	if err != nil {
		return err
	}
	defer s.release()
	return s.txError(guard(s.path, func() error { return db.View(fn) }))
}

func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	if s.readOnly {
		return errorf(ErrReadOnly, "store %s is open read-only; run the command without read-only to change it", s.path)
	}
	db, err := s.acquire()
	if err != nil {
		return err
	}
	defer s.release()
	if s.committed != nil {
		inner := fn
		fn = func(tx *bolt.Tx) error {
			tx.OnCommit(func() { s.committed(tx.Stats()) })
			return inner(tx)
		}
	}
	return s.txError(guard(s.path, func() error { return db.Update(fn) }))
}

func (s *Store) closedError() error {
	return fmt.Errorf("store %s is closed; open it again", s.path)
}

func (s *Store) txError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return s.closedError()
	case errors.Is(err, berrors.ErrDatabaseReadOnly):
		return errorf(ErrReadOnly, "store %s is open read-only; run the command without read-only to change it", s.path)
	}
	return err
}

// acquire returns the open database for one transaction, taking the file
// back if it was released; release must follow.
func (s *Store) acquire() (*bolt.DB, error) {
	asked := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.closed {
			return nil, s.closedError()
		}
		if s.db != nil && !s.pinned && (s.draining || time.Since(s.opened) >= maxHold) {
			// Held long enough: let the transactions in flight end,
			// release, and give the other processes their turn.
			if s.users > 0 {
				s.draining = true
				s.turn.Wait()
				continue
			}
			s.letGo(true)
		}
		if s.db != nil {
			break
		}
		if wait := time.Until(s.yieldEnd); wait > 0 {
			s.mu.Unlock()
			time.Sleep(wait)
			s.mu.Lock()
			continue
		}
		// Callers that queued behind an attempt that failed take its
		// answer instead of each waiting lockTimeout again in turn.
		if s.failErr != nil && s.failed.After(asked) {
			return nil, s.failErr
		}
		db, err := s.reopen()
		if err != nil {
			s.failErr, s.failed = err, time.Now()
			return nil, err
		}
		s.db, s.opened, s.failErr = db, time.Now(), nil
	}
	s.users++
	return s.db, nil
}

// letGo closes the open database (mu held); yield keeps it closed for
// yieldGap.
func (s *Store) letGo(yield bool) {
	if err := s.db.Close(); err != nil && s.closeErr == nil {
		s.closeErr = err
	}
	s.db, s.draining = nil, false
	if yield {
		s.yieldEnd = time.Now().Add(yieldGap)
	}
	s.turn.Broadcast()
}

// release ends one transaction; the last one starts the idle countdown, or
// lets go at once when the store was held for maxHold.
func (s *Store) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users--
	if s.users > 0 || s.closed || s.db == nil {
		return
	}
	if s.draining || time.Since(s.opened) >= maxHold {
		s.letGo(true)
		return
	}
	s.lastUse = time.Now()
	if s.armed {
		return // idleClose measures from lastUse and waits for the rest
	}
	s.armed = true
	if s.timer == nil {
		s.timer = time.AfterFunc(s.idle, s.idleClose)
	} else {
		s.timer.Reset(s.idle)
	}
}

// idleClose releases the database once no transaction ran for s.idle.
func (s *Store) idleClose() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = false
	if s.closed || s.db == nil || s.users > 0 {
		return
	}
	if wait := s.idle - time.Since(s.lastUse); wait > 0 {
		s.armed = true
		s.timer.Reset(wait)
		return
	}
	s.letGo(false)
}

// reopen takes the file back after an idle release. The key and schema were
// settled by Open; what is checked is that the file is still the store Open
// settled them for: not removed (bbolt would quietly create an empty one),
// not replaced by one sealed with another key, not upgraded by a newer
// mailoauth in the meantime.
func (s *Store) reopen() (*bolt.DB, error) {
	if _, err := os.Stat(s.path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store %s was removed while %s was using it; restore it from a backup, or restart %[2]s to start a new one", s.path, s.program)
	}
	db, err := s.openDB()
	if err != nil {
		return nil, err
	}
	var version uint64
	var check []byte
	err = guard(s.path, func() error {
		return db.View(func(tx *bolt.Tx) error {
			version, check, err = s.readMetaTx(tx)
			return err
		})
	})
	target := uint64(len(s.migrations))
	switch {
	case err != nil:
	case version > target:
		err = s.newerSchema(version, target)
	case version < target || check == nil:
		err = fmt.Errorf("store %s was replaced by an older or empty file while %s was using it; restart %[2]s to upgrade it, or restore the right file", s.path, s.program)
	default:
		err = s.verifyKey(check)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}
