package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

// migrateHistoryToRuns is migration 2 -> 3: each profile's schema-2 check
// history (domains/<domain>/history/<email>, keys "e" CHECK 0x00 TIME
// holding JSON entries and "n" CHECK counts) becomes runs in the
// history.open and history.sealed buckets (history.go), every entry kept:
// the entries of one time are one run, the newest historyChunkRuns or
// fewer runs the open record, the older ones full sealed chunks, and each
// check whose last entry is a failure carries its start forward. An entry
// that no longer decodes is left out rather than failing the upgrade: the
// history is a record of past checks, not configuration.
func migrateHistoryToRuns(tx *bolt.Tx) error {
	domains := tx.Bucket([]byte("domains"))
	if domains == nil {
		return nil
	}
	var names [][]byte // collected first: no writes while iterating
	if err := domains.ForEachBucket(func(k []byte) error {
		names = append(names, slices.Clone(k))
		return nil
	}); err != nil {
		return err
	}
	for _, d := range names {
		b := domains.Bucket(d)
		old := b.Bucket([]byte("history"))
		if old == nil {
			continue
		}
		ob, sb, err := historyBuckets(b)
		if err != nil {
			return err
		}
		if err := old.ForEachBucket(func(mailbox []byte) error {
			return migrateMailboxHistory(old.Bucket(mailbox), slices.Clone(mailbox), ob, sb)
		}); err != nil {
			return err
		}
		if err := b.DeleteBucket([]byte("history")); err != nil {
			return err
		}
	}
	return nil
}

// schema2Entry is a history entry as schema 2 stored it.
type schema2Entry struct {
	Time  int64     `json:"t"`
	OK    bool      `json:"ok,omitempty"`
	MS    int64     `json:"ms"`
	Code  core.Code `json:"code,omitempty"`
	Since int64     `json:"since,omitempty"`
}

func migrateMailboxHistory(mb *bolt.Bucket, mailbox []byte, ob, sb *bolt.Bucket) error {
	byTime := map[int64]*histRun{}
	last := map[core.CheckName]schema2Entry{}
	if err := mb.ForEach(func(k, v []byte) error {
		if len(k) < 10 || k[0] != 'e' {
			return nil // a count, or not an entry
		}
		check, _, ok := bytes.Cut(k[1:], []byte{0})
		var e schema2Entry
		if !ok || json.Unmarshal(v, &e) != nil {
			return nil
		}
		name := core.CheckName(check)
		r := byTime[e.Time]
		if r == nil {
			r = &histRun{time: e.Time}
			byTime[e.Time] = r
		}
		r.checks = append(r.checks, histCheck{check: name, ok: e.OK, ms: e.MS, code: e.Code, since: e.Since})
		if l, seen := last[name]; !seen || e.Time > l.Time {
			last[name] = e
		}
		return nil
	}); err != nil {
		return err
	}
	if len(byTime) == 0 {
		return nil
	}
	runs := make([]histRun, 0, len(byTime))
	for _, r := range byTime {
		sort.SliceStable(r.checks, func(i, j int) bool { return checkOrder(r.checks[i].check, r.checks[j].check) })
		runs = append(runs, *r)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].time < runs[j].time })
	open := histOpen{}
	for check, e := range last {
		if !e.OK && e.Since != 0 {
			open.carry = append(open.carry, histCarry{check: check, code: e.Code, since: e.Since})
		}
	}
	sort.Slice(open.carry, func(i, j int) bool { return checkOrder(open.carry[i].check, open.carry[j].check) })
	sealedRuns := len(runs) - ((len(runs)-1)%historyChunkRuns + 1)
	for i := 0; i < sealedRuns; i += historyChunkRuns {
		chunk := runs[i : i+historyChunkRuns]
		key := binary.BigEndian.AppendUint64(historySealedPrefix(mailbox), uint64(chunk[len(chunk)-1].time))
		if err := sb.Put(key, appendRuns(nil, chunk)); err != nil {
			return err
		}
		open.sealed++
	}
	open.runs = runs[sealedRuns:]
	return ob.Put(mailbox, open.encode())
}

// checkOrder orders checks as they run (core.AllChecks), any other after
// them by name.
func checkOrder(a, b core.CheckName) bool {
	i, j := slices.Index(core.AllChecks, a), slices.Index(core.AllChecks, b)
	switch {
	case i >= 0 && j >= 0:
		return i < j
	case i >= 0 || j >= 0:
		return i >= 0
	}
	return a < b
}
