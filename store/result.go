package store

import (
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

// SaveResult keeps r as the last result of its mailbox.
func (s *Store) SaveResult(domain string, r core.MailboxResult) error {
	return s.SaveResults(domain, []core.MailboxResult{r})
}

// SaveResults keeps each result as the last of its mailbox and adds it to
// the mailbox's check history (pruned to its bounds), all in one
// transaction.
func (s *Store) SaveResults(domain string, rs []core.MailboxResult) error {
	domain, err := normDomain(domain)
	if err != nil {
		return err
	}
	keys := make([][]byte, len(rs))
	vals := make([][]byte, len(rs))
	for i, r := range rs {
		if strings.TrimSpace(r.Mailbox) == "" {
			return fmt.Errorf("result %d of %d names no mailbox; nothing was saved", i+1, len(rs))
		}
		raw, err := json.Marshal(r)
		if err != nil {
			return err
		}
		keys[i], vals[i] = []byte(strings.ToLower(strings.TrimSpace(r.Mailbox))), raw
	}
	return s.updateProfile(domain, func(b *bolt.Bucket) error {
		rb, err := b.CreateBucketIfNotExists([]byte(resultBucket))
		if err != nil {
			return err
		}
		for i := range keys {
			if err := rb.Put(keys[i], vals[i]); err != nil {
				return err
			}
			if err := appendHistory(b, rs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Results returns the last result of every mailbox checked, by address.
func (s *Store) Results(domain string) (map[string]core.MailboxResult, error) {
	domain, err := normDomain(domain)
	if err != nil {
		return nil, err
	}
	out := map[string]core.MailboxResult{}
	err = s.viewProfile(domain, func(b *bolt.Bucket) error {
		rb := b.Bucket([]byte(resultBucket))
		if rb == nil {
			return nil
		}
		return rb.ForEach(func(k, v []byte) error {
			var r core.MailboxResult
			if err := json.Unmarshal(v, &r); err != nil {
				return &RecordError{Record: RecordResult, Mailbox: string(k), Path: s.path, Err: err}
			}
			out[string(k)] = r
			return nil
		})
	})
	return out, err
}
