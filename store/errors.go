package store

import (
	"errors"
	"fmt"
)

// Sentinel errors; match them with errors.Is. The errors the store returns
// carry a full sentence naming the thing and the fix.
var (
	// ErrLocked means another process is using the database (inside a
	// transaction, or holding it for longer than the wait allows); the
	// command line maps it to exit code 3.
	ErrLocked = errors.New("store is in use by another process")
	// ErrNotFound means the profile or mailbox does not exist.
	ErrNotFound = errors.New("not found in the store")
	// ErrNoStore means there is no database at the path and the caller
	// asked not to create one (Options.MustExist, ReadOnly); the command
	// line maps it to exit code 3.
	ErrNoStore = errors.New("there is no store at this path")
	// ErrConflict means a profile changed since the caller loaded it.
	ErrConflict = errors.New("profile changed since it was loaded")
	// ErrWrongKey means the sealing key does not open this database.
	ErrWrongKey = errors.New("the key does not open this store")
	// ErrNewerSchema means the database was written by a newer mailoauth.
	ErrNewerSchema = errors.New("store was written by a newer mailoauth")
	// ErrReadOnly means a change was attempted on a store opened read-only.
	ErrReadOnly = errors.New("store is open read-only")
	// ErrDamaged means the database file is damaged (cut short, a page
	// overwritten); the sentence names the last good backup beside it.
	ErrDamaged = errors.New("the store is damaged")
	// ErrBadKey means the key file or MAILOAUTH_KEY is malformed or missing.
	ErrBadKey = errors.New("the store key is unusable")
)

// storeError is a sentence for the user that still matches its sentinel.
type storeError struct {
	msg  string
	kind error
}

func (e *storeError) Error() string { return e.msg }
func (e *storeError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &storeError{msg: fmt.Sprintf(format, args...), kind: kind}
}

// PathError is a store path that cannot be used. Its sentence says what is
// wrong and, where there is one, the fix at this path; it names no flag: a
// caller that lets the user name another path (the command line's --db)
// adds that way out where it reports the error.
type PathError struct {
	Path string
	// Problem is what is wrong; Fix what to do at this path, empty when
	// only another path helps.
	Problem, Fix string
	kind         error // ErrNoStore, or nil
}

func (e *PathError) Error() string {
	if e.Fix == "" {
		return e.Problem
	}
	return e.Problem + "; " + e.Fix
}

func (e *PathError) Unwrap() error { return e.kind }
