package store

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/mailoauth/mailoauth/core"
)

// Backups taken during an upgrade (`mailoauth upgrade`, before a mailbox
// switched) still hold the legacy passwords of the mailboxes pending then.
// Once the upgrade is complete the store's key must not open them any
// more: SealPasswordBackups re-seals every sealed record of such a backup
// under a key of its own, written beside it as <backup>.key (the same
// format as the store's key file, so a restore copies both), and
// PurgePasswordBackups removes them on request.

// BackupSealError is a backup that could not be sealed under a key of its
// own. Its sentence names no command: the callers add the way out
// (core.BackupSealSentence: remove the backup).
type BackupSealError struct {
	Path string
	Err  error
}

func (e *BackupSealError) Error() string {
	return fmt.Sprintf("cannot seal backup %s under its own key: %v", e.Path, e.Err)
}

func (e *BackupSealError) Unwrap() error { return e.Err }

// PasswordBackups lists the backups beside the store that hold legacy
// passwords, newest first.
func (s *Store) PasswordBackups() []core.PasswordBackup {
	var out []core.PasswordBackup
	for _, b := range Backups(s.path) {
		n, err := countPasswords(b)
		if err != nil {
			n = -1
		}
		if n == 0 {
			continue
		}
		pb := core.PasswordBackup{Path: b, Passwords: n}
		if ownKeyOpens(b) {
			pb.OwnKey = b + ".key"
		}
		out = append(out, pb)
	}
	return out
}

// countPasswords counts the pending password logins of every profile in a
// backup, reading it without its key.
func countPasswords(path string) (int, error) {
	if what := precheck(path, ""); what != "" {
		return 0, errors.New(what)
	}
	n := 0
	err := readOnlyView(path, func(tx *bolt.Tx) error {
		for _, d := range knownDomains(tx) {
			if ub := profileSub(tx, d, upgradeBucket); ub != nil {
				n += ub.Stats().KeyN
			}
		}
		return nil
	})
	return n, err
}

// ownKeyOpens tells whether <backup>.key opens the backup's key check (a
// key file left by a sealing that never finished does not).
func ownKeyOpens(bak string) bool {
	data, err := os.ReadFile(bak + ".key")
	if err != nil {
		return false
	}
	key, err := decodeKey(string(data))
	if err != nil {
		return false
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return false
	}
	var check []byte
	if err := readOnlyView(bak, func(tx *bolt.Tx) error {
		if m := tx.Bucket([]byte(metaBucket)); m != nil {
			check = append([]byte(nil), m.Get([]byte(metaKeyCheck))...)
		}
		return nil
	}); err != nil {
		return false
	}
	plain, err := unsealWith(aead, metaBucket+"/"+metaKeyCheck, check)
	return err == nil && string(plain) == string(keyCheckPlain)
}

// SealPasswordBackups re-seals every backup that holds legacy passwords
// and is still sealed with the store's key under a new key of its own
// (<backup>.key, 0600), so the store's key alone no longer opens it. The
// backup is rewritten as a fresh copy (no page of the old file, which the
// store's key opens, survives in it), synced, verified and renamed over
// the old one after its key file is in place; a crash in between leaves
// the old backup, which the next call seals. It returns every backup that
// holds passwords, sealed or not.
func (s *Store) SealPasswordBackups() ([]core.PasswordBackup, error) {
	bs := s.PasswordBackups()
	for i, b := range bs {
		if b.OwnKey != "" || b.Passwords < 0 {
			continue
		}
		if err := s.rekeyBackup(b.Path); err != nil {
			return bs, &BackupSealError{Path: b.Path, Err: err}
		}
		bs[i].OwnKey = b.Path + ".key"
	}
	return bs, nil
}

func (s *Store) rekeyBackup(bak string) error {
	key := make([]byte, chacha20poly1305.KeySize)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	fresh, err := chacha20poly1305.NewX(key)
	if err != nil {
		return err
	}
	keyPath := bak + ".key"
	_ = os.Remove(keyPath) // a key left by an earlier attempt that never finished
	if err := writeKeyFile(keyPath, key); err != nil {
		return err
	}
	tmp := bak + ".rekey.partial"
	_ = os.Remove(tmp)
	defer os.Remove(tmp)
	if err := s.copyResealed(bak, tmp, fresh); err != nil {
		return err
	}
	if err := VerifyFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, bak); err != nil {
		return err
	}
	return syncDir(filepath.Dir(bak))
}

// copyResealed copies the database src into a new file dst, every value
// the store's key opens (a sealed record) sealed again with fresh.
func (s *Store) copyResealed(src, dst string, fresh cipher.AEAD) error {
	out, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return err
	}
	werr := out.Update(func(otx *bolt.Tx) error {
		return readOnlyView(src, func(tx *bolt.Tx) error {
			return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
				nb, err := otx.CreateBucket(bytes.Clone(name))
				if err != nil {
					return err
				}
				return s.copyBucket(b, nb, string(name), fresh)
			})
		})
	})
	if cerr := out.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

func (s *Store) copyBucket(src, dst *bolt.Bucket, path string, fresh cipher.AEAD) error {
	if err := dst.SetSequence(src.Sequence()); err != nil {
		return err
	}
	return src.ForEach(func(k, v []byte) error {
		if v == nil {
			nb, err := dst.CreateBucket(bytes.Clone(k))
			if err != nil {
				return err
			}
			return s.copyBucket(src.Bucket(k), nb, path+"/"+string(k), fresh)
		}
		ad := path + "/" + string(k)
		if plain, err := s.unsealRaw(ad, v); err == nil {
			sealed, err := sealWith(fresh, ad, plain)
			if err != nil {
				return err
			}
			v = sealed
		}
		// Cloned: the source is unmapped before this transaction commits.
		return dst.Put(bytes.Clone(k), bytes.Clone(v))
	})
}

func sealWith(aead cipher.AEAD, ad string, plain []byte) ([]byte, error) {
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(append([]byte{sealFormat}, nonce...), nonce, plain, []byte(ad)), nil
}

func unsealWith(aead cipher.AEAD, ad string, sealed []byte) ([]byte, error) {
	n := chacha20poly1305.NonceSizeX
	if len(sealed) < 1+n+chacha20poly1305.Overhead || sealed[0] != sealFormat {
		return nil, errors.New("not a sealed value")
	}
	return aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(ad))
}

// PurgePasswordBackups removes the given backups and their own key files.
func PurgePasswordBackups(bs []core.PasswordBackup) error {
	var errs []error
	for _, b := range bs {
		if err := os.Remove(b.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		if err := os.Remove(b.Path + ".key"); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("could not remove every backup: %v; remove them by hand", errors.Join(errs...))
	}
	return nil
}

// PasswordBackupsAfterSwitch implements core.UpgradeSwitcher: the backups
// that hold legacy passwords once mailboxes of domain switched to OAuth.
// done is store-wide, not domain's alone: the backups hold every
// profile's passwords, so only when no mailbox of any profile is pending
// does the store hold none, and only then are the backups sealed under
// keys of their own, as `mailoauth upgrade` does. A store that cannot say
// counts as not done.
func (s *Store) PasswordBackupsAfterSwitch(domain string) (backups []core.PasswordBackup, done bool, err error) {
	if s.anyPending() {
		return s.PasswordBackups(), false, nil
	}
	backups, err = s.SealPasswordBackups()
	return backups, true, err
}

// anyPending tells whether a mailbox of any profile still signs in with
// its legacy password (an unreadable store counts as yes).
func (s *Store) anyPending() bool {
	ps, err := s.ListProfiles()
	if err != nil {
		return true
	}
	for _, p := range ps {
		if left, err := s.PendingUpgrades(p.Domain); err != nil || len(left) > 0 {
			return true
		}
	}
	return false
}
