package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
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
// wrong and, where there is one, the fix at this path; it names no command
// or flag: a caller that lets the user name another path (the command
// line's --db), or that has its own way to set a store up, words that way
// out where it reports the error.
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

// ProfileError is a profile the store cannot find, or cannot pick alone.
// Its sentence names no command or flag: the command line words its own
// way out (--profile, `mailoauth setup --domain`) from these fields.
type ProfileError struct {
	Path string // the store's file
	// Domain is the domain asked for; "" when none was named and the
	// store had to pick one.
	Domain string
	Known  []string // the store's domains, sorted
	// What is, with no Domain and several Known, the mailbox (or "these
	// mailboxes") that could belong to several profiles; "" when the
	// command named no mailbox.
	What string
}

// Problem is what is wrong, with no way out.
func (e *ProfileError) Problem() string {
	switch {
	case e.Domain != "" && len(e.Known) == 0:
		return fmt.Sprintf("store %s has no profile yet", e.Path)
	case e.Domain != "":
		return fmt.Sprintf("there is no profile for %s; known domains: %s", e.Domain, strings.Join(e.Known, ", "))
	case len(e.Known) == 0:
		return fmt.Sprintf("the store %s holds no domain yet", e.Path)
	case e.What == "":
		return fmt.Sprintf("the store holds several domains (%s)", strings.Join(e.Known, ", "))
	}
	return fmt.Sprintf("%s could belong to several profiles (%s)", e.What, strings.Join(e.Known, ", "))
}

func (e *ProfileError) Error() string {
	switch {
	case e.Domain != "" && len(e.Known) == 0:
		return e.Problem() + "; set one up for " + e.Domain + " first"
	case e.Domain != "":
		return e.Problem() + " (choose one of them, or set up " + e.Domain + " first)"
	case len(e.Known) == 0:
		return e.Problem() + "; set one up first"
	}
	return e.Problem() + "; choose one of them"
}

// Unwrap is ErrNotFound for a domain that was asked for.
func (e *ProfileError) Unwrap() error {
	if e.Domain != "" {
		return ErrNotFound
	}
	return nil
}

// MailboxError is an address that is not a mailbox of the profile. Its
// sentence names no command: the command line adds its own.
type MailboxError struct {
	Mailbox, Domain string
	// Add says the mailbox must be added first (to set something of
	// it); else the caller named a mailbox that is not there.
	Add bool
}

// Problem is what is wrong, with no way out.
func (e *MailboxError) Problem() string {
	return fmt.Sprintf("%s is not a mailbox of %s", e.Mailbox, e.Domain)
}

func (e *MailboxError) Error() string {
	if e.Add {
		return e.Problem() + "; add it first"
	}
	return e.Problem() + "; check the address against the profile's mailboxes"
}

func (e *MailboxError) Unwrap() error { return ErrNotFound }

// DamagedError is a damaged store file (ErrDamaged): what is wrong, and the
// last good backup beside it with the shell command that puts it back.
// Without a backup the sentence says to start a new store but names no
// command: the command line adds its own (Sentence).
type DamagedError struct {
	Path, What string
	Aside      string // the shell command that moves the damaged file aside
	// Backup is the last good backup, written at When, and Restore the
	// shell command that puts it back; all empty when none was found.
	Backup, Restore string
	When            time.Time
}

// Sentence is the error's sentence; startNew is how to start a new store
// when there is no backup ("set up a new store" in Error).
func (e *DamagedError) Sentence(startNew string) string {
	msg := fmt.Sprintf("this store is damaged (%s): %s", e.What, e.Path)
	if e.Backup != "" {
		return msg + fmt.Sprintf("; the last good backup is %s (%s); to restore it: %s", e.Backup, e.When.UTC().Format("2006-01-02 15:04:05 UTC"), e.Restore)
	}
	return msg + fmt.Sprintf("; no good backup of it was found beside it: restore it from your own backups, or move it aside (%s) and %s", e.Aside, startNew)
}

func (e *DamagedError) Error() string { return e.Sentence("set up a new store") }
func (e *DamagedError) Unwrap() error { return ErrDamaged }

// Record names a record that RecordError says is damaged.
type Record int

const (
	// RecordResult is a mailbox's last check result; a new test
	// replaces it.
	RecordResult Record = iota + 1
	// RecordPendingLogin is the legacy login of a mailbox not yet
	// switched; importing the legacy configuration again replaces it.
	RecordPendingLogin
	// RecordProfile is a profile's settings; only deleting the profile
	// and setting it up again replaces them.
	RecordProfile
)

// RecordError is a record that does not decode. Its sentence says how to
// make the record again but names no command or flag: the command line
// words its own.
type RecordError struct {
	Record Record
	// Mailbox is the mailbox whose record it is; Domain the profile's
	// for RecordProfile.
	Mailbox, Domain, Path string
	Err                   error // why it does not decode
}

// Problem is what is wrong, with no way out.
func (e *RecordError) Problem() string {
	switch e.Record {
	case RecordProfile:
		return fmt.Sprintf("profile %s in store %s is damaged (%v)", e.Domain, e.Path, e.Err)
	case RecordPendingLogin:
		return fmt.Sprintf("the pending login of %s in store %s is damaged (%v)", e.Mailbox, e.Path, e.Err)
	}
	return fmt.Sprintf("the last result of %s in store %s is damaged (%v)", e.Mailbox, e.Path, e.Err)
}

func (e *RecordError) Error() string {
	switch e.Record {
	case RecordProfile:
		return e.Problem() + "; delete it and set it up again"
	case RecordPendingLogin:
		return e.Problem() + "; run the upgrade again with the legacy configuration"
	}
	return e.Problem() + "; run the test again"
}
