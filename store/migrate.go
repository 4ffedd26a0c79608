package store

import (
	"encoding/binary"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// schemaVersion is the schema this program writes; it equals
// len(migrations).
const schemaVersion = 3

// Bucket layout (schema 3):
//
//	meta                      schema -> uint64 BE, keycheck -> sealed
//	audit                     NextSequence uint64 BE -> JSON AuditEntry
//	domains/<domain>          profile -> JSON profileRecord
//	                          credential, p12_password -> sealed
//	domains/<domain>/mailboxes  email -> JSON core.Mailbox
//	domains/<domain>/tokens     mailbox "\x00" scope key -> sealed JSON core.Token
//	domains/<domain>/results    email -> JSON core.MailboxResult
//	domains/<domain>/upgrade    email -> sealed JSON pendingLogin (schema 2):
//	                            a mailbox still on its legacy password
//	domains/<domain>/history.open, history.sealed (schema 3): the check
//	                            history, runs in a binary encoding (history.go)
const (
	metaBucket     = "meta"
	metaSchema     = "schema"
	metaKeyCheck   = "keycheck"
	auditBucket    = "audit"
	domainsBucket  = "domains"
	mailboxBucket  = "mailboxes"
	tokenBucket    = "tokens"
	resultBucket   = "results"
	upgradeBucket  = "upgrade"
	profileKey     = "profile"
	credentialKey  = "credential"
	p12PasswordKey = "p12_password"
)

// migrations[i] upgrades a database from schema i to i+1. They run in order,
// all in one transaction, on Open. Only ever append to this list.
var migrations = []migration{
	// 0 -> 1: the initial layout.
	func(tx *bolt.Tx) error {
		for _, name := range []string{metaBucket, auditBucket, domainsBucket} {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	},
	// 1 -> 2: every profile gets the bucket of the mailboxes waiting to move
	// from their legacy password to OAuth (`mailoauth upgrade`).
	func(tx *bolt.Tx) error {
		domains := tx.Bucket([]byte(domainsBucket))
		if domains == nil {
			return nil
		}
		var names [][]byte // collected first: no writes while iterating
		if err := domains.ForEachBucket(func(k []byte) error {
			names = append(names, append([]byte(nil), k...))
			return nil
		}); err != nil {
			return err
		}
		for _, k := range names {
			if _, err := domains.Bucket(k).CreateBucketIfNotExists([]byte(upgradeBucket)); err != nil {
				return err
			}
		}
		return nil
	},
	// 2 -> 3: the check history kept as runs, one record per mailbox and
	// chunk instead of one key per check and run (history_migrate.go).
	migrateHistoryToRuns,
}

// migration upgrades a database by one schema version, inside the
// transaction of all of them.
type migration func(tx *bolt.Tx) error

// readMeta returns the schema version (0 for a new file) and the sealed key
// check (nil when none was written yet).
func (s *Store) readMeta() (version uint64, check []byte, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		version, check, err = s.readMetaTx(tx)
		return err
	})
	return version, check, err
}

func (s *Store) readMetaTx(tx *bolt.Tx) (version uint64, check []byte, err error) {
	meta := tx.Bucket([]byte(metaBucket))
	if meta == nil {
		return 0, nil, nil
	}
	if v := meta.Get([]byte(metaSchema)); len(v) == 8 {
		version = binary.BigEndian.Uint64(v)
	} else if v != nil {
		return 0, nil, fmt.Errorf("store %s has a damaged schema version; restore it from a backup", s.path)
	}
	if c := meta.Get([]byte(metaKeyCheck)); c != nil {
		check = append([]byte(nil), c...)
	}
	return version, check, nil
}

// migrate upgrades from version to target in one transaction, after copying
// a database that already held data to <db>.schema<version>.bak.
func (s *Store) migrate(version, target uint64, writeCheck bool) error {
	if version > 0 && version < target {
		bak := fmt.Sprintf("%s.schema%d.bak", s.path, version)
		if err := s.view(func(tx *bolt.Tx) error { return writeBackup(tx, s.path, bak) }); err != nil {
			return fmt.Errorf("cannot back store %s up to %s before upgrading it: %v; free some space or fix the directory's permissions", s.path, bak, err)
		}
	}
	err := s.update(func(tx *bolt.Tx) error {
		for v := version; v < target; v++ {
			if err := s.migrations[v](tx); err != nil {
				return fmt.Errorf("upgrading store %s from schema %d to %d failed: %v; nothing was changed, report this with the store's backup", s.path, v, v+1, err)
			}
		}
		meta, err := tx.CreateBucketIfNotExists([]byte(metaBucket))
		if err != nil {
			return err
		}
		if err := meta.Put([]byte(metaSchema), binary.BigEndian.AppendUint64(nil, target)); err != nil {
			return err
		}
		if writeCheck {
			sealed, err := s.seal(metaBucket+"/"+metaKeyCheck, keyCheckPlain)
			if err != nil {
				return err
			}
			return meta.Put([]byte(metaKeyCheck), sealed)
		}
		return nil
	})
	if err != nil {
		return err
	}
	_ = os.Chmod(s.path, 0o600)
	return nil
}
