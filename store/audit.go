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

// The bounds of the proxy's login entries in the audit log. They are the
// only entries written at the clients' pace (a product that reconnects
// every minute writes 1,440 a day per mailbox), so unlike the changes,
// which are kept, they are pruned (PruneProxyLogins): the last 90 days and
// at most 200,000 of them (about 40 MB of the store), the oldest going
// first. bbolt reuses the pages freed; the file does not shrink.
const (
	ProxyLoginMaxAge     = 90 * 24 * time.Hour
	ProxyLoginMaxEntries = 200_000
)

// proxyLoginAction is the audit action of a proxy login.
const proxyLoginAction = "proxy.login"

// pruneBatch bounds the entries one transaction deletes, so that logins
// audited meanwhile wait for a short write, not for the whole prune.
const pruneBatch = 10_000

// PruneProxyLogins deletes the proxy login entries of the audit log that
// are older than ProxyLoginMaxAge at now or beyond the newest
// ProxyLoginMaxEntries, and returns how many it deleted. Every other entry
// stays.
func (s *Store) PruneProxyLogins(now time.Time) (int, error) {
	return s.pruneProxyLogins(now.Add(-ProxyLoginMaxAge), ProxyLoginMaxEntries, pruneBatch)
}

func (s *Store) pruneProxyLogins(before time.Time, keep, batch int) (int, error) {
	var old [][]byte
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(auditBucket))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		kept := 0
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var e struct {
				Time   time.Time `json:"time"`
				Action string    `json:"action"`
			}
			if json.Unmarshal(v, &e) != nil || e.Action != proxyLoginAction {
				continue // a damaged entry is Audit's to report
			}
			if kept < keep && !e.Time.Before(before) {
				kept++
				continue
			}
			old = append(old, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	deleted := 0
	for len(old) > 0 {
		n := min(batch, len(old))
		err := s.update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(auditBucket))
			if b == nil {
				return nil
			}
			for _, k := range old[:n] {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return deleted, err
		}
		deleted += n
		old = old[n:]
	}
	return deleted, nil
}
