package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

// historyBucket holds, per profile, one nested bucket per mailbox with its
// check history: keys "e" CHECK 0x00 TIME (8 bytes, big-endian Unix
// nanoseconds) in time order, and "n" CHECK holding how many entries that
// check has, so pruning never scans.
const historyBucket = "history"

// History bounds, applied in the transaction that writes: an entry older
// than HistoryMaxAge (before the newest one of its check) or beyond
// HistoryMaxPerCheck entries of its mailbox and check is deleted. At a
// 15-minute watch interval that is three days of rounds; a failure's start
// is carried in each entry, so it outlives the pruning.
const (
	HistoryMaxAge      = 30 * 24 * time.Hour
	HistoryMaxPerCheck = 300
)

// historyRecord is an entry as stored (the mailbox and check are in the key).
type historyRecord struct {
	Time  int64     `json:"t"` // Unix nanoseconds
	OK    bool      `json:"ok,omitempty"`
	MS    int64     `json:"ms"`
	Code  core.Code `json:"code,omitempty"`
	Since int64     `json:"since,omitempty"` // Unix nanoseconds
}

func historyPrefix(check core.CheckName) []byte   { return []byte("e" + string(check) + "\x00") }
func historyCountKey(check core.CheckName) []byte { return []byte("n" + string(check)) }

// appendHistory adds r's entries to the profile bucket b's history and
// prunes what falls out of the bounds; it runs inside SaveResults'
// transaction.
func appendHistory(b *bolt.Bucket, r core.MailboxResult) error {
	entries := core.HistoryEntries(r)
	if len(entries) == 0 {
		return nil
	}
	hb, err := b.CreateBucketIfNotExists([]byte(historyBucket))
	if err != nil {
		return err
	}
	mb, err := hb.CreateBucketIfNotExists([]byte(entries[0].Mailbox))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := appendEntry(mb, e); err != nil {
			return err
		}
	}
	return nil
}

func appendEntry(mb *bolt.Bucket, e core.HistoryEntry) error {
	prefix := historyPrefix(e.Check)
	rec := historyRecord{Time: e.Time.UnixNano(), OK: e.OK, MS: e.Duration.Milliseconds(), Code: e.Code}
	c := mb.Cursor()
	// The newest entry of this check: a failure with the same code goes on
	// from its start.
	k, v := lastWithPrefix(c, prefix)
	if !e.OK {
		rec.Since = rec.Time
	}
	if k != nil && bytes.HasPrefix(k, prefix) {
		var last historyRecord
		if json.Unmarshal(v, &last) == nil {
			if !e.OK && !last.OK && last.Code == e.Code && last.Since != 0 {
				rec.Since = last.Since
			}
			if rec.Time <= last.Time { // never overwrite nor go back in time
				rec.Time = last.Time + 1
			}
		}
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	key := binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), uint64(rec.Time))
	if err := mb.Put(key, raw); err != nil {
		return err
	}
	n := uint64(1)
	if v := mb.Get(historyCountKey(e.Check)); len(v) == 8 {
		n += binary.BigEndian.Uint64(v)
	}
	cutoff := rec.Time - int64(HistoryMaxAge)
	for {
		k, _ := c.Seek(prefix)
		if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+8 {
			break
		}
		if n <= HistoryMaxPerCheck && int64(binary.BigEndian.Uint64(k[len(prefix):])) >= cutoff {
			break
		}
		if err := c.Delete(); err != nil {
			return err
		}
		n--
	}
	return mb.Put(historyCountKey(e.Check), binary.BigEndian.AppendUint64(nil, n))
}

// History returns the check history of one mailbox (or of every mailbox
// when mailbox is empty) since the given time (zero: all kept), oldest
// first per mailbox and check.
func (s *Store) History(domain, mailbox string, since time.Time) ([]core.HistoryEntry, error) {
	mailbox = strings.ToLower(strings.TrimSpace(mailbox))
	var out []core.HistoryEntry
	err := s.viewHistory(domain, func(hb *bolt.Bucket) error {
		read := func(name []byte, mb *bolt.Bucket) error {
			return mb.ForEach(func(k, v []byte) error {
				e, ok, err := s.historyEntry(name, k, v)
				if ok && !e.Time.Before(since) {
					out = append(out, e)
				}
				return err
			})
		}
		if mailbox != "" {
			if mb := hb.Bucket([]byte(mailbox)); mb != nil {
				return read([]byte(mailbox), mb)
			}
			return nil
		}
		return hb.ForEachBucket(func(k []byte) error {
			return read(append([]byte(nil), k...), hb.Bucket(k))
		})
	})
	return out, err
}

// viewHistory calls fn with the profile's history bucket in a read
// transaction, unless the profile has no history yet.
func (s *Store) viewHistory(domain string, fn func(hb *bolt.Bucket) error) error {
	domain, err := normDomain(domain)
	if err != nil {
		return err
	}
	return s.viewProfile(domain, func(b *bolt.Bucket) error {
		if hb := b.Bucket([]byte(historyBucket)); hb != nil {
			return fn(hb)
		}
		return nil
	})
}

// lastWithPrefix moves c to the last key under prefix (or before it, when
// there is none: the caller checks the prefix).
func lastWithPrefix(c *bolt.Cursor, prefix []byte) ([]byte, []byte) {
	k, _ := c.Seek(append(append([]byte(nil), prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
	if k == nil {
		return c.Last()
	}
	return c.Prev()
}

// historyEntry decodes one stored entry of mailbox name; ok is false for
// a key that is not an entry (the counts).
func (s *Store) historyEntry(name, k, v []byte) (core.HistoryEntry, bool, error) {
	if len(k) < 10 || k[0] != 'e' {
		return core.HistoryEntry{}, false, nil
	}
	check, _, ok := bytes.Cut(k[1:], []byte{0})
	if !ok {
		return core.HistoryEntry{}, false, nil
	}
	var rec historyRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return core.HistoryEntry{}, false, fmt.Errorf("the history of %s in store %s is damaged (%v); restore the store from its latest backup (`<db>.<time>.bak`)", name, s.path, err)
	}
	e := core.HistoryEntry{Mailbox: string(name), Check: core.CheckName(check), Time: time.Unix(0, rec.Time).UTC(), OK: rec.OK,
		Duration: time.Duration(rec.MS) * time.Millisecond, Code: rec.Code}
	if rec.Since != 0 {
		e.Since = time.Unix(0, rec.Since).UTC()
	}
	return e, true, nil
}

// RecentHistory returns the last perCheck entries of every mailbox's
// checks, oldest first per mailbox and check: what a screen shows, read
// without walking the whole history.
func (s *Store) RecentHistory(domain string, perCheck int) ([]core.HistoryEntry, error) {
	var out []core.HistoryEntry
	err := s.viewHistory(domain, func(hb *bolt.Bucket) error {
		return hb.ForEachBucket(func(name []byte) error {
			mb := hb.Bucket(name)
			for _, check := range core.AllChecks {
				prefix := historyPrefix(check)
				c := mb.Cursor()
				k, v := lastWithPrefix(c, prefix)
				var rev []core.HistoryEntry
				for ; k != nil && bytes.HasPrefix(k, prefix) && len(rev) < perCheck; k, v = c.Prev() {
					e, ok, err := s.historyEntry(name, k, v)
					if err != nil {
						return err
					}
					if ok {
						rev = append(rev, e)
					}
				}
				for i := len(rev) - 1; i >= 0; i-- {
					out = append(out, rev[i])
				}
			}
			return nil
		})
	})
	return out, err
}

// deleteHistory drops a mailbox's history (the mailbox was removed).
func deleteHistory(b *bolt.Bucket, mailbox string) error {
	hb := b.Bucket([]byte(historyBucket))
	if hb == nil || hb.Bucket([]byte(mailbox)) == nil {
		return nil
	}
	return hb.DeleteBucket([]byte(mailbox))
}
