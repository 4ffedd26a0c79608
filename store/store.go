package store

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/mailoauth/mailoauth/core"
)

// lockTimeout is how long Open, and a call that has to take the database
// back, wait for another process to release it before giving up with
// ErrLocked: under the two seconds a second mailoauth may wait.
const lockTimeout = LockTimeout

// LockTimeout is the wait for a busy store before ErrLocked (README: "waits
// up to 1.5 s, then exits 3"); every command waits for it once.
const LockTimeout = 1500 * time.Millisecond

// defaultIdleRelease is how long a Store keeps the database file, and with
// it the lock, after its last transaction (Options.IdleRelease). bbolt
// locks the file for as long as it is open, so a store kept open all day
// (serve, the wizard) would lock out `mailoauth token`, the helper mail
// programs call; released, it only blocks others for the length of its
// transactions. Long enough that a burst of calls (an import, a test run's
// progress) shares one open.
const defaultIdleRelease = 250 * time.Millisecond

// maxHold and yieldGap keep a busy store from locking others out: the wizard
// testing hundreds of mailboxes never idles for its idle release, yet `mailoauth
// token` must get in. A store open for maxHold lets go after its current
// transactions and waits yieldGap before taking the file back, longer than
// bbolt's 50 ms between attempts at the lock, so a process waiting for it
// gets its turn well within its own lockTimeout.
const (
	maxHold  = time.Second
	yieldGap = 60 * time.Millisecond
)

// Options tune Open.
type Options struct {
	// KeyPath is the sealing key file; empty means "<db>.key" beside the
	// database. MAILOAUTH_KEY, when set, wins over the file.
	KeyPath string
	// ReadOnly opens an existing database without taking the writer's lock
	// exclusively (many readers share it); every change then fails with
	// ErrReadOnly.
	ReadOnly bool
	// Backup writes a timestamped copy of an existing database beside it
	// (<db>.<UTC time>.bak) before anything changes, migrations included;
	// BackupPath names it. `mailoauth upgrade` asks for it.
	Backup bool
	// MustExist opens only a database that is already there: a missing
	// one is ErrNoStore and nothing (directory, database, key file) is
	// created. Every command that reads a profile asks for it, so a typo
	// in --db or MAILOAUTH_DB leaves no empty store behind. ReadOnly
	// implies it.
	MustExist bool
	// IdleRelease is how long the Store keeps the file after its last
	// transaction before letting go of it; zero means 250 ms. Tests set it
	// per store.
	IdleRelease time.Duration
	// Program is the name the user runs the program holding the store by
	// ("mailoauth"), for the sentences that say to restart it or run it as
	// another user, as a flag.FlagSet's name words its errors: the store
	// names no program of its own. "" says "the program".
	Program string

	// The fields below are for the package's own tests, set per store so
	// that no test swaps package state and the tests can run in parallel.

	// migrations replaces the package's migrations when not nil, to
	// exercise the mechanism with a fake one.
	migrations []migration
	// afterImportRow, when set, runs after the i-th mailbox of
	// PutMailboxes is written, to fail an import half-way.
	afterImportRow func(i int) error
	// committed, when set, is told the statistics of every write
	// transaction committed (the history benchmark's pages per commit).
	committed func(bolt.TxStats)
}

// Store is an open mailoauth database. It is safe for concurrent use by many
// goroutines; bbolt serialises the writers.
//
// A Store holds the database file (and its lock) only while it is used: it
// lets go of it after Options.IdleRelease without a transaction and takes it back,
// transparently, on the next call. All goroutines of the process share the
// one open file and its idle timer. A call that has to take the file back
// while another process is in a transaction waits up to lockTimeout, then
// fails with ErrLocked.
type Store struct {
	path      string
	keyPath   string
	keySource string
	aead      cipher.AEAD
	readOnly  bool
	backup    string
	idle      time.Duration
	program   string // Options.Program, or "the program"
	// migrations bring the schema up to date; their number is the schema
	// this Store writes (Options.migrations, else the package's list).
	migrations     []migration
	afterImportRow func(i int) error
	committed      func(bolt.TxStats)

	mu       sync.Mutex
	turn     *sync.Cond // on mu: signalled when the file is let go
	db       *bolt.DB   // nil while released
	opened   time.Time  // when db was opened
	users    int        // transactions in flight
	draining bool       // held for maxHold: no new transaction until released
	pinned   bool       // Open is settling key and schema: hold the file throughout
	yieldEnd time.Time  // no taking the file back before then
	lastUse  time.Time
	timer    *time.Timer
	armed    bool // the timer will fire
	closed   bool
	failed   time.Time // when the last attempt to take the file back failed
	failErr  error
	closeErr error       // of an idle release, reported by Close
	group    groupCommit // batched writes of concurrent callers (batch.go)
}

// DefaultPath is where the database lives when --db is not given:
// $MAILOAUTH_DB, else $XDG_DATA_HOME/mailoauth/mailoauth.db, else
// ~/.local/share/mailoauth/mailoauth.db.
func DefaultPath() string {
	if p := os.Getenv("MAILOAUTH_DB"); p != "" {
		return p
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "mailoauth", "mailoauth.db")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "share", "mailoauth", "mailoauth.db")
	}
	return "mailoauth.db"
}

// LocalActor names the local user for the audit log: face (e.g. "cli",
// "wizard") followed by user@hostname.
func LocalActor(face string) string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return strings.TrimSpace(face + " " + name + "@" + host)
}

// Open opens the database at path, creating it (mode 0600, parent directory
// 0700) and its key file on first use unless opts.MustExist or ReadOnly, and upgrades its schema; the key and
// the schema are dealt with here, once, not each time the file is taken
// back after an idle release. When another process is using the database
// it returns an error matching ErrLocked within two seconds.
func Open(path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, &PathError{Problem: "the store path is empty"}
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	keyPath := opts.KeyPath
	if keyPath == "" {
		keyPath = path + ".key"
	}
	if opts.ReadOnly || opts.MustExist {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, &PathError{Path: path, kind: ErrNoStore, Problem: "there is no store at " + path, Fix: "set one up first"}
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, &PathError{Path: path, Problem: fmt.Sprintf("cannot create the directory of store %s: %v", path, core.WithoutPath(err)), Fix: "create it"}
	}

	idle := opts.IdleRelease
	if idle <= 0 {
		idle = defaultIdleRelease
	}
	steps := opts.migrations
	if steps == nil {
		steps = migrations
	}
	program := opts.Program
	if program == "" {
		program = "the program"
	}
	s := &Store{path: path, keyPath: keyPath, readOnly: opts.ReadOnly, idle: idle, program: program,
		migrations: steps, afterImportRow: opts.afterImportRow, committed: opts.committed}
	s.turn = sync.NewCond(&s.mu)
	db, err := s.openDB()
	if err != nil {
		return nil, err
	}
	// Held from reading the schema to migrating it, so that no other
	// process (nor an idle release) comes in between.
	s.db, s.opened, s.users, s.pinned = db, time.Now(), 1, true
	if opts.Backup && !opts.ReadOnly {
		if err := s.timestampedBackup(); err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	if err := s.init(keyPath); err != nil {
		_ = s.Close()
		return nil, err
	}
	s.mu.Lock()
	s.pinned = false
	s.mu.Unlock()
	s.release()
	return s, nil
}

// openDB opens the bbolt file, waiting up to lockTimeout for its lock.
func (s *Store) openDB() (*bolt.DB, error) {
	if what := precheck(s.path, s.keyPath); what != "" {
		if notAStore(s.path, s.keyPath) {
			return nil, &PathError{Path: s.path, Problem: s.path + " is not a mailoauth store: it has no store header, and no key file or backup of a store is beside it"}
		}
		return nil, damagedError(s.path, what)
	}
	var db *bolt.DB
	err := guard(s.path, func() (err error) {
		db, err = bolt.Open(s.path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: s.readOnly,
			// Address space only: spares the remaps (each re-reading every
			// dirty node) while a large import grows the file.
			InitialMmapSize: 64 << 20})
		return err
	})
	if errors.Is(err, ErrDamaged) {
		return nil, err
	}
	if err != nil {
		return nil, openError(s.path, s.program, err)
	}
	// With the large mmap bbolt would otherwise grow the file in 16 MB steps.
	db.AllocSize = 256 << 10
	return db, nil
}

func openError(path, program string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return errorf(ErrLocked, "store is in use by %s: %s; wait for it to finish or stop it, then retry", lockHolder(path), path)
	case errors.Is(err, fs.ErrPermission):
		return &PathError{Path: path, Problem: "cannot open store " + path + ": permission denied", Fix: "run " + program + " as the user that owns it"}
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return damagedError(path, fmt.Sprintf("not a mailoauth store, or its header is damaged: %v", err))
	default:
		return &PathError{Path: path, Problem: fmt.Sprintf("cannot open store %s: %v", path, core.WithoutPath(err)), Fix: "check the path"}
	}
}

// init fixes the file mode, loads the key, checks it and migrates.
func (s *Store) init(keyPath string) error {
	if fi, err := os.Stat(s.path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(s.path, 0o600); err != nil && !s.readOnly {
			return fmt.Errorf("store %s is readable by others and cannot be made private: %v; run chmod 600 %s", s.path, core.WithoutPath(err), s.path)
		}
	}
	version, check, err := s.readMeta()
	if err != nil {
		return err
	}
	target := uint64(len(s.migrations))
	if version > target {
		return s.newerSchema(version, target)
	}
	if err := s.loadKey(keyPath, check != nil); err != nil {
		return err
	}
	if check != nil {
		if err := s.verifyKey(check); err != nil {
			return err
		}
	}
	if version == target && check != nil {
		return nil
	}
	if s.readOnly {
		return errorf(ErrReadOnly, "store %s has schema version %d and needs %d; open it once without read-only to upgrade it", s.path, version, target)
	}
	return s.migrate(version, target, check == nil)
}

func (s *Store) newerSchema(version, target uint64) error {
	return errorf(ErrNewerSchema, "store %s has schema version %d but this mailoauth knows only up to %d; upgrade mailoauth to open it", s.path, version, target)
}

// timestampedBackup copies a database that already holds data to
// <db>.<UTC time>.bak; a brand-new file has nothing to keep.
func (s *Store) timestampedBackup() error {
	version, _, err := s.readMeta()
	if err != nil || version == 0 {
		return err
	}
	bak := s.path + "." + time.Now().UTC().Format("20060102T150405.000Z") + ".bak"
	if err := s.view(func(tx *bolt.Tx) error { return writeBackup(tx, s.path, bak) }); err != nil {
		return fmt.Errorf("cannot back store %s up to %s: %v; free some space or fix the directory's permissions", s.path, bak, err)
	}
	s.backup = bak
	return nil
}

// BackupPath is the copy written by Options.Backup, or "" when none was
// (a new store).
func (s *Store) BackupPath() string { return s.backup }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// KeySource names where the sealing key came from: the key file's path or
// "MAILOAUTH_KEY".
func (s *Store) KeySource() string { return s.keySource }

// SchemaVersion is the schema version of the open database.
func (s *Store) SchemaVersion() int { return len(s.migrations) }

// Close commits the writes saved for later (SaveTokenLater), stops the
// idle timer and releases the database and its lock, after the
// transactions in flight.
func (s *Store) Close() error {
	s.flushGroup() // the tokens saved for later are written first
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.turn.Broadcast()
	if s.timer != nil {
		s.timer.Stop()
	}
	db, err := s.db, s.closeErr
	s.db = nil
	s.mu.Unlock()
	if db != nil {
		// Outside the mutex: bbolt waits here for the transactions in
		// flight, which release the store when they end.
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("closing store %s failed: %v; the last change may not be saved, check the disk", s.path, err)
	}
	return nil
}

// Backup writes a consistent copy of the whole database to w while it stays
// in use. The copy holds only sealed secrets: keep the key (KeySource) with
// it, apart from it, or the copy cannot be opened.
func (s *Store) Backup(w io.Writer) error {
	return s.view(func(tx *bolt.Tx) error {
		if _, err := tx.WriteTo(w); err != nil {
			return fmt.Errorf("backup of store %s failed: %v; check where the backup is written", s.path, err)
		}
		return nil
	})
}
