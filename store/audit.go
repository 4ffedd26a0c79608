package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditEntry is one change recorded in the append-only audit log.
type AuditEntry struct {
	Time time.Time `json:"time"`
	// Domain is the profile changed.
	Domain string `json:"domain"`
	// Actor is who changed it, e.g. "cli root@host" (see LocalActor).
	Actor string `json:"actor"`
	// Action is e.g. "profile.save", "profile.delete", "mailbox.add",
	// "mailbox.update", "mailbox.import", "mailbox.remove".
	Action string `json:"action"`
	// Detail says what changed; it never holds a secret.
	Detail string `json:"detail"`
}

// appendAudit records one entry inside the caller's transaction.
func appendAudit(tx *bolt.Tx, domain, actor, action, detail string) error {
	b, err := tx.CreateBucketIfNotExists([]byte(auditBucket))
	if err != nil {
		return err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	if actor == "" {
		actor = "unknown"
	}
	raw, err := json.Marshal(AuditEntry{Time: time.Now().UTC(), Domain: domain, Actor: actor, Action: action, Detail: detail})
	if err != nil {
		return err
	}
	b.FillPercent = 1 // keys only ever grow
	return b.Put(binary.BigEndian.AppendUint64(nil, seq), raw)
}

// Audit returns up to limit entries (all when limit <= 0), newest first, for
// the domain, or for every domain when domain is "".
func (s *Store) Audit(domain string, limit int) ([]AuditEntry, error) {
	if domain != "" {
		if d, err := normDomain(domain); err == nil {
			domain = d
		}
	}
	var out []AuditEntry
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(auditBucket))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("audit entry %x in store %s is damaged (%v); restore the store from a backup to read it", k, s.path, err)
			}
			if domain != "" && e.Domain != domain {
				continue
			}
			out = append(out, e)
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	return out, err
}
