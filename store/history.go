package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

// The check history (schema 3) is kept per profile in two flat buckets,
// keyed by mailbox, each run of a mailbox (the outcome of every check of
// one save, history_codec.go) one record:
//
//	history.open    email -> the mailbox's open record: its newest runs,
//	                up to historyChunkRuns, and the failures carried forward
//	history.sealed  email 0x00 TIME (8 bytes BE, Unix ns of the chunk's
//	                last run) -> a full chunk of historyChunkRuns older runs
//
// Why this shape: a bulk run saves 500 results per transaction, and bbolt
// rewrites every page a transaction touches. Schema 2 kept a bucket per
// mailbox with a key per check per run, so each save rewrote several pages
// of each mailbox (about 9 pages a result at the cap). Here a save
// rewrites only its mailbox's small open record, and the open records of
// neighbouring addresses share pages; a chunk is sealed, and the oldest
// one deleted, once every historyChunkRuns runs.
const (
	historyOpenBucket   = "history.open"
	historySealedBucket = "history.sealed"
)

// History bounds: a mailbox keeps its last HistoryMaxRuns runs, none older
// than HistoryMaxAge before its newest. Sealed chunks beyond them are
// deleted in the transaction that writes; reads apply the bounds exactly,
// so up to historyChunkRuns more runs may lie in the file. README
// ("Keep it working", History) gives the sizes behind these numbers.
const (
	HistoryMaxAge    = 30 * 24 * time.Hour
	HistoryMaxRuns   = 300
	historyChunkRuns = 32
)

// historySealedPrefix is where a mailbox's sealed chunks begin.
func historySealedPrefix(mailbox []byte) []byte {
	return append(append([]byte(nil), mailbox...), 0)
}

// appendHistory adds r as a run of its mailbox's history in the profile
// bucket b and prunes what falls out of the bounds; it runs inside
// SaveResults' transaction.
func appendHistory(b *bolt.Bucket, r core.MailboxResult) error {
	entries := core.HistoryEntries(r)
	if len(entries) == 0 {
		return nil
	}
	ob, sb, err := historyBuckets(b)
	if err != nil {
		return err
	}
	name := []byte(entries[0].Mailbox)
	prefix := historySealedPrefix(name)
	var open histOpen
	if raw := ob.Get(name); raw != nil {
		if open, err = decodeOpen(raw); err != nil {
			// A damaged open record must not stop the results from
			// being saved: its runs are lost, the sealed ones kept.
			open = histOpen{sealed: countPrefix(sb, prefix)}
		}
	}
	t := entries[0].Time.UnixNano()
	if n := len(open.runs); n > 0 && t <= open.runs[n-1].time { // never overwrite nor go back in time
		t = open.runs[n-1].time + 1
	}
	run := histRun{time: t, checks: make([]histCheck, 0, len(entries))}
	for _, e := range entries {
		run.checks = append(run.checks, open.carryOn(e, t))
	}
	if n := len(open.runs); n >= historyChunkRuns {
		key := binary.BigEndian.AppendUint64(slices.Clone(prefix), uint64(open.runs[n-1].time))
		if err := sb.Put(key, appendRuns(nil, open.runs)); err != nil {
			return err
		}
		open.sealed++
		open.runs = nil
	}
	open.runs = append(open.runs, run)
	if err := open.prune(sb, prefix, t); err != nil {
		return err
	}
	return ob.Put(name, open.encode())
}

// historyBuckets returns the profile bucket b's history buckets, created
// if missing.
func historyBuckets(b *bolt.Bucket) (open, sealed *bolt.Bucket, err error) {
	if open, err = b.CreateBucketIfNotExists([]byte(historyOpenBucket)); err == nil {
		sealed, err = b.CreateBucketIfNotExists([]byte(historySealedBucket))
	}
	return open, sealed, err
}

// carryOn turns e, in a run at t, into its check's outcome: a failure with
// the same code as the check's last one goes on from that one's start.
func (o *histOpen) carryOn(e core.HistoryEntry, t int64) histCheck {
	c := histCheck{check: e.Check, ok: e.OK, ms: e.Duration.Milliseconds(), code: e.Code}
	i := slices.IndexFunc(o.carry, func(x histCarry) bool { return x.check == e.Check })
	switch {
	case e.OK && i >= 0:
		o.carry = slices.Delete(o.carry, i, i+1)
	case !e.OK:
		c.since = t
		if i >= 0 && o.carry[i].code == e.Code {
			c.since = o.carry[i].since
		}
		if i < 0 {
			o.carry = append(o.carry, histCarry{})
			i = len(o.carry) - 1
		}
		o.carry[i] = histCarry{check: e.Check, code: e.Code, since: c.since}
	}
	return c
}

// prune deletes the mailbox's oldest sealed chunks while the runs after
// them are still HistoryMaxRuns, or while they end before the age bound
// (newest is the newest run).
func (o *histOpen) prune(sb *bolt.Bucket, prefix []byte, newest int64) error {
	c := sb.Cursor()
	for o.sealed > 0 {
		k, _ := c.Seek(prefix)
		if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+8 {
			o.sealed = 0 // none left: the count was off
			return nil
		}
		kept := (o.sealed-1)*historyChunkRuns + uint64(len(o.runs))
		if kept < HistoryMaxRuns && int64(binary.BigEndian.Uint64(k[len(prefix):])) >= newest-int64(HistoryMaxAge) {
			return nil
		}
		if err := c.Delete(); err != nil {
			return err
		}
		o.sealed--
	}
	return nil
}

// countPrefix counts the keys of b under prefix.
func countPrefix(b *bolt.Bucket, prefix []byte) uint64 {
	n := uint64(0)
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// History returns the check history of one mailbox (or of every mailbox
// when mailbox is empty) since the given time (zero: all kept), oldest
// first per mailbox and check.
func (s *Store) History(domain, mailbox string, since time.Time) ([]core.HistoryEntry, error) {
	mailbox = strings.ToLower(strings.TrimSpace(mailbox))
	lower := int64(math.MinInt64)
	if !since.IsZero() {
		lower = since.UnixNano()
	}
	var out []core.HistoryEntry
	err := s.viewHistory(domain, func(ob, sb *bolt.Bucket) error {
		read := func(name, raw []byte) error {
			runs, err := s.readRuns(sb, name, raw, lower, nil)
			for _, r := range runs {
				out = appendEntries(out, name, r)
			}
			return err
		}
		if mailbox != "" {
			if raw := ob.Get([]byte(mailbox)); raw != nil {
				return read([]byte(mailbox), raw)
			}
			return nil
		}
		return ob.ForEach(read)
	})
	return out, err
}

// RecentHistory returns the last perCheck entries of every mailbox's
// checks, oldest first per mailbox and check: what a screen shows, read
// from the newest runs back only as far as needed.
func (s *Store) RecentHistory(domain string, perCheck int) ([]core.HistoryEntry, error) {
	var out []core.HistoryEntry
	if perCheck <= 0 {
		return out, nil
	}
	err := s.viewHistory(domain, func(ob, sb *bolt.Bucket) error {
		return ob.ForEach(func(name, raw []byte) error {
			per := make([][]core.HistoryEntry, len(core.AllChecks)) // newest first
			full := 0
			_, err := s.readRuns(sb, name, raw, math.MinInt64, func(r histRun) bool {
				for _, e := range appendEntries(nil, name, r) {
					i := slices.Index(core.AllChecks, e.Check)
					if i < 0 || len(per[i]) >= perCheck {
						continue
					}
					if per[i] = append(per[i], e); len(per[i]) == perCheck {
						full++
					}
				}
				return full == len(per)
			})
			for _, es := range per {
				for i := len(es) - 1; i >= 0; i-- {
					out = append(out, es[i])
				}
			}
			return err
		})
	})
	return out, err
}

// readRuns returns, oldest first, the runs of mailbox name (raw is its
// open record) within the bounds and not before lower, read from the
// newest back; it stops early once enough (if set) says so of a run.
func (s *Store) readRuns(sb *bolt.Bucket, name, raw []byte, lower int64, enough func(histRun) bool) ([]histRun, error) {
	open, err := decodeOpen(raw)
	if err != nil {
		return nil, s.historyDamaged(name, err)
	}
	if len(open.runs) == 0 {
		return nil, nil
	}
	lower = max(lower, open.runs[len(open.runs)-1].time-int64(HistoryMaxAge))
	var rev []histRun
	// take keeps r and says whether to read on.
	take := func(r histRun) bool {
		if r.time < lower || len(rev) >= HistoryMaxRuns {
			return false
		}
		rev = append(rev, r)
		return enough == nil || !enough(r)
	}
	reversed := func() []histRun {
		slices.Reverse(rev)
		return rev
	}
	for i := len(open.runs) - 1; i >= 0; i-- {
		if !take(open.runs[i]) {
			return reversed(), nil
		}
	}
	if sb == nil {
		return reversed(), nil
	}
	prefix := historySealedPrefix(name)
	c := sb.Cursor()
	for k, v := lastWithPrefix(c, prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		if len(k) == len(prefix)+8 && int64(binary.BigEndian.Uint64(k[len(prefix):])) < lower {
			break // this chunk and the older ones end before lower
		}
		runs, err := decodeRuns(v)
		if err != nil {
			return reversed(), s.historyDamaged(name, err)
		}
		for i := len(runs) - 1; i >= 0; i-- {
			if !take(runs[i]) {
				return reversed(), nil
			}
		}
	}
	return reversed(), nil
}

// appendEntries appends run r of mailbox name as history entries, one per
// check.
func appendEntries(out []core.HistoryEntry, name []byte, r histRun) []core.HistoryEntry {
	at := time.Unix(0, r.time).UTC()
	for _, c := range r.checks {
		e := core.HistoryEntry{Mailbox: string(name), Check: c.check, Time: at, OK: c.ok,
			Duration: time.Duration(c.ms) * time.Millisecond, Code: c.code}
		if c.since != 0 {
			e.Since = time.Unix(0, c.since).UTC()
		}
		out = append(out, e)
	}
	return out
}

func (s *Store) historyDamaged(name []byte, err error) error {
	return fmt.Errorf("the history of %s in store %s is damaged (%v); restore the store from its latest backup (`<db>.<time>.bak`)", name, s.path, err)
}

// viewHistory calls fn with the profile's history buckets (sb may be nil)
// in a read transaction, unless the profile has no history yet.
func (s *Store) viewHistory(domain string, fn func(ob, sb *bolt.Bucket) error) error {
	domain, err := normDomain(domain)
	if err != nil {
		return err
	}
	return s.viewProfile(domain, func(b *bolt.Bucket) error {
		if ob := b.Bucket([]byte(historyOpenBucket)); ob != nil {
			return fn(ob, b.Bucket([]byte(historySealedBucket)))
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

// deleteHistory drops a mailbox's history (the mailbox was removed).
func deleteHistory(b *bolt.Bucket, mailbox string) error {
	if ob := b.Bucket([]byte(historyOpenBucket)); ob != nil {
		if err := ob.Delete([]byte(mailbox)); err != nil {
			return err
		}
	}
	sb := b.Bucket([]byte(historySealedBucket))
	if sb == nil {
		return nil
	}
	prefix := historySealedPrefix([]byte(mailbox))
	c := sb.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
