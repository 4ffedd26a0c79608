package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

// Mailboxes returns the profile's mailboxes sorted by address.
func (s *Store) Mailboxes(domain string) ([]core.Mailbox, error) {
	domain, err := normDomain(domain)
	if err != nil {
		return nil, err
	}
	out := []core.Mailbox{}
	err = s.viewProfile(domain, func(b *bolt.Bucket) error {
		mb := b.Bucket([]byte(mailboxBucket))
		if mb == nil {
			return nil
		}
		out = make([]core.Mailbox, 0, mb.Stats().KeyN)
		return mb.ForEach(func(k, v []byte) error {
			var m core.Mailbox
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("mailbox %s of %s in store %s is damaged (%v); remove it and add it again", k, domain, s.path, err)
			}
			out = append(out, m)
			return nil
		})
	})
	return out, err
}

// MailboxCount returns how many mailboxes the profile has.
func (s *Store) MailboxCount(domain string) (int, error) {
	domain, err := normDomain(domain)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.viewProfile(domain, func(b *bolt.Bucket) error {
		if mb := b.Bucket([]byte(mailboxBucket)); mb != nil {
			n = mb.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// HasMailbox reports whether the address is assigned in the domain.
func (s *Store) HasMailbox(domain, email string) (bool, error) {
	domain, err := normDomain(domain)
	if err != nil {
		return false, err
	}
	found := false
	err = s.viewProfile(domain, func(b *bolt.Bucket) error {
		if mb := b.Bucket([]byte(mailboxBucket)); mb != nil {
			found = mb.Get([]byte(strings.ToLower(strings.TrimSpace(email)))) != nil
		}
		return nil
	})
	return found, err
}

// mailboxRule is the profile's core.MailboxRule, read in the transaction
// that writes the mailboxes so a credential replaced meanwhile cannot slip
// an outside mailbox past it. The kind is kept in the clear; only a record
// written before it was unseals the credential to derive it.
func (s *Store) mailboxRule(b *bolt.Bucket, domain string) (core.MailboxRule, error) {
	var rec profileRecord
	if raw := b.Get([]byte(profileKey)); raw != nil {
		if err := json.Unmarshal(raw, &rec); err != nil {
			return core.MailboxRule{}, &RecordError{Record: RecordProfile, Domain: domain, Path: s.path, Err: err}
		}
	}
	kind := rec.Profile.CredentialKind
	if v := b.Get([]byte(credentialKey)); kind == "" && v != nil {
		plain, err := s.unseal(domainsBucket+"/"+domain+"/"+credentialKey, v)
		if err != nil {
			return core.MailboxRule{}, err
		}
		kind = core.SniffCredentialKind(plain)
	}
	return core.MailboxRule{Domain: domain, Kind: kind}, nil
}

// PutMailbox validates m under the profile's mailbox rule
// (core.MailboxRule: any domain for an OAuth client, the profile's own for
// a service account) and adds it, or replaces the mailbox with the same
// address.
func (s *Store) PutMailbox(domain string, m core.Mailbox, actor string) error {
	domain, err := normDomain(domain)
	if err != nil {
		return err
	}
	return s.updateProfile(domain, func(b *bolt.Bucket) error {
		tx := b.Tx()
		rule, err := s.mailboxRule(b, domain)
		if err != nil {
			return err
		}
		if err := rule.Mailbox(&m); err != nil {
			return err
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return err
		}
		mb, err := b.CreateBucketIfNotExists([]byte(mailboxBucket))
		if err != nil {
			return err
		}
		action := "mailbox.add"
		if mb.Get([]byte(m.Email)) != nil {
			action = "mailbox.update"
		}
		if err := mb.Put([]byte(m.Email), raw); err != nil {
			return err
		}
		return appendAudit(tx, domain, actor, action, mailboxDetail(m))
	})
}

func mailboxDetail(m core.Mailbox) string {
	d := m.Email + " (" + string(m.OwnerKind)
	if m.OwnerName != "" {
		d += " " + m.OwnerName
	}
	return d + ")"
}

// PutMailboxes adds or replaces many mailboxes in one transaction: either
// all of them are saved or, on any error, none. Every mailbox is validated
// under the profile's mailbox rule first (as PutMailbox); a duplicate
// address is an error.
func (s *Store) PutMailboxes(domain string, ms []core.Mailbox, actor string) error {
	domain, err := normDomain(domain)
	if err != nil {
		return err
	}
	type row struct {
		key, val []byte
	}
	return s.updateProfile(domain, func(b *bolt.Bucket) error {
		tx := b.Tx()
		rule, err := s.mailboxRule(b, domain)
		if err != nil {
			return err
		}
		rows := make([]row, len(ms))
		for i, m := range ms {
			if err := rule.Mailbox(&m); err != nil {
				return fmt.Errorf("%w (mailbox %d of %d; nothing was imported)", err, i+1, len(ms))
			}
			raw, err := json.Marshal(m)
			if err != nil {
				return err
			}
			rows[i] = row{[]byte(m.Email), raw}
		}
		slices.SortFunc(rows, func(a, b row) int { return bytes.Compare(a.key, b.key) })
		for i := 1; i < len(rows); i++ {
			if bytes.Equal(rows[i].key, rows[i-1].key) {
				return fmt.Errorf("%s appears twice in the import and nothing was imported; keep one of them and import again", rows[i].key)
			}
		}
		mb, err := b.CreateBucketIfNotExists([]byte(mailboxBucket))
		if err != nil {
			return err
		}
		if mb.Stats().KeyN == 0 {
			mb.FillPercent = 0.9 // sorted inserts into an empty bucket
		}
		updated := 0
		for i, r := range rows {
			if mb.Get(r.key) != nil {
				updated++
			}
			if err := mb.Put(r.key, r.val); err != nil {
				return fmt.Errorf("importing %s failed: %v; nothing was imported", r.key, err)
			}
			if s.afterImportRow != nil {
				if err := s.afterImportRow(i); err != nil {
					return err
				}
			}
		}
		return appendAudit(tx, domain, actor, "mailbox.import",
			fmt.Sprintf("%d mailbox(es): %d new, %d updated", len(rows), len(rows)-updated, updated))
	})
}

// DeleteMailbox removes the mailbox with its cached tokens and last result;
// an unknown address is an error matching ErrNotFound.
func (s *Store) DeleteMailbox(domain, email, actor string) error {
	domain, err := normDomain(domain)
	if err != nil {
		return err
	}
	if e, err := core.NormalizeMailbox(email, ""); err == nil {
		email = e
	}
	return s.updateProfile(domain, func(b *bolt.Bucket) error {
		tx := b.Tx()
		mb := b.Bucket([]byte(mailboxBucket))
		if mb == nil || mb.Get([]byte(email)) == nil {
			return &MailboxError{Mailbox: email, Domain: domain}
		}
		if err := mb.Delete([]byte(email)); err != nil {
			return err
		}
		// With its consent (refreshBucket): a re-added mailbox consents again.
		for _, name := range []string{resultBucket, upgradeBucket, proxyPasswordBucket, refreshBucket} {
			if err := deleteFrom(b, name, email); err != nil {
				return err
			}
		}
		if err := deleteHistory(b, email); err != nil {
			return err
		}
		if tb := b.Bucket([]byte(tokenBucket)); tb != nil {
			prefix := []byte(email + "\x00")
			c := tb.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		return appendAudit(tx, domain, actor, "mailbox.remove", email)
	})
}
