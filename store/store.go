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
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// lockTimeout is how long Open waits for another process to release the
// database before it gives up with ErrLocked.
const lockTimeout = 1500 * time.Millisecond

// Options tune Open.
type Options struct {
	// KeyPath is the sealing key file; empty means "<db>.key" beside the
	// database. MAILOAUTH_KEY, when set, wins over the file.
	KeyPath string
	// ReadOnly opens an existing database without taking the writer's lock
	// exclusively; every change then fails with ErrReadOnly.
	ReadOnly bool
	// Backup writes a timestamped copy of an existing database beside it
	// (<db>.<UTC time>.bak) before anything changes, migrations included;
	// BackupPath names it. `mailoauth upgrade` asks for it.
	Backup bool
}

// Store is an open mailoauth database. It is safe for concurrent use by many
// goroutines; bbolt serialises the writers.
type Store struct {
	db        *bolt.DB
	path      string
	keySource string
	aead      cipher.AEAD
	readOnly  bool
	backup    string
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
// 0700) and its key file on first use, and upgrades its schema. When another
// process holds the database it returns an error matching ErrLocked within
// two seconds.
func Open(path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("the store path is empty; pass --db PATH or set MAILOAUTH_DB")
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	keyPath := opts.KeyPath
	if keyPath == "" {
		keyPath = path + ".key"
	}
	if opts.ReadOnly {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, errorf(ErrNotFound, "there is no store at %s; run `mailoauth setup` first or pass the right --db", path)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the directory of store %s: %v; create it or pass another --db", path, unwrapPath(err))
	}

	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: opts.ReadOnly,
		// Address space only: spares the remaps (each re-reading every
		// dirty node) while a large import grows the file.
		InitialMmapSize: 64 << 20})
	if err != nil {
		return nil, openError(path, err)
	}
	// With the large mmap bbolt would otherwise grow the file in 16 MB steps.
	db.AllocSize = 256 << 10
	s := &Store{db: db, path: path, readOnly: opts.ReadOnly}
	if opts.Backup && !opts.ReadOnly {
		if err := s.timestampedBackup(); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	if err := s.init(keyPath); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

func openError(path string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return errorf(ErrLocked, "store is in use by another mailoauth (%s): %s; wait for it to finish or stop it, then retry", lockHolder(path), path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("cannot open store %s: permission denied; run mailoauth as the user that owns it or pass another --db", path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return fmt.Errorf("%s is not a mailoauth store or is damaged (%v); restore it from a backup or pass another --db", path, err)
	default:
		return fmt.Errorf("cannot open store %s: %v; check the path or pass another --db", path, unwrapPath(err))
	}
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// init fixes the file mode, loads the key, checks it and migrates.
func (s *Store) init(keyPath string) error {
	if fi, err := os.Stat(s.path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(s.path, 0o600); err != nil && !s.readOnly {
			return fmt.Errorf("store %s is readable by others and cannot be made private: %v; run chmod 600 %s", s.path, unwrapPath(err), s.path)
		}
	}
	version, check, err := s.readMeta()
	if err != nil {
		return err
	}
	target := uint64(len(migrationList))
	if version > target {
		return errorf(ErrNewerSchema, "store %s has schema version %d but this mailoauth knows only up to %d; upgrade mailoauth to open it", s.path, version, target)
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

// timestampedBackup copies a database that already holds data to
// <db>.<UTC time>.bak; a brand-new file has nothing to keep.
func (s *Store) timestampedBackup() error {
	version, _, err := s.readMeta()
	if err != nil || version == 0 {
		return err
	}
	bak := s.path + "." + time.Now().UTC().Format("20060102T150405.000Z") + ".bak"
	if err := s.view(func(tx *bolt.Tx) error { return tx.CopyFile(bak, 0o600) }); err != nil {
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
func (s *Store) SchemaVersion() int { return len(migrationList) }

// Close releases the database and its lock.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
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

// view and update run a transaction and turn bbolt's errors into sentences.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	return s.txError(s.db.View(fn))
}

func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	if s.readOnly {
		return errorf(ErrReadOnly, "store %s is open read-only; run the command without read-only to change it", s.path)
	}
	return s.txError(s.db.Update(fn))
}

func (s *Store) txError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return fmt.Errorf("store %s is closed; open it again", s.path)
	case errors.Is(err, berrors.ErrDatabaseReadOnly):
		return errorf(ErrReadOnly, "store %s is open read-only; run the command without read-only to change it", s.path)
	}
	return err
}
