package store

import (
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

// ResolveProfile picks the profile a command works on, the one rule every
// command follows: the profile named (by --profile) when name is set; else
// the only one; else the one that holds every given mailbox (as a mailbox
// or as its default sender), or failing that the one whose domain they are
// in. A choice that stays open is an error naming the candidates and
// --profile, so a second (even a mistyped) profile breaks no command that
// names its mailbox.
func (s *Store) ResolveProfile(name string, mailboxes ...string) (core.Profile, error) {
	var p core.Profile
	err := s.view(func(tx *bolt.Tx) error {
		domain, err := s.resolveDomain(tx, name, mailboxes)
		if err != nil {
			return err
		}
		rec, err := s.readProfile(domainBucket(tx, domain), domain)
		p = rec.Profile
		return err
	})
	return p, err
}

func (s *Store) resolveDomain(tx *bolt.Tx, name string, mailboxes []string) (string, error) {
	if name != "" {
		d, err := normDomain(name)
		if err != nil {
			return "", err
		}
		if _, err := s.profileBucket(tx, d); err != nil {
			return "", err
		}
		return d, nil
	}
	known := knownDomains(tx)
	switch len(known) {
	case 0:
		return "", profileInput(&ProfileError{Path: s.path})
	case 1:
		return known[0], nil
	}
	var addrs []string
	for _, m := range mailboxes {
		// Any domain: the chosen profile's own rule judges it later.
		if a, err := (core.MailboxRule{}).Address(m); err == nil {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return "", profileInput(&ProfileError{Path: s.path, Known: known})
	}
	var holders, owners []string
	for _, d := range known {
		b := domainBucket(tx, d)
		if holdsAll(b, addrs) {
			holders = append(holders, d)
		}
		if inDomain(d, addrs) {
			owners = append(owners, d)
		}
	}
	switch {
	case len(holders) == 1:
		return holders[0], nil
	case len(holders) == 0 && len(owners) == 1:
		return owners[0], nil
	}
	cands := holders
	if len(cands) == 0 {
		cands = known
	}
	what := addrs[0]
	if len(addrs) > 1 {
		what = "these mailboxes"
	}
	return "", profileInput(&ProfileError{Path: s.path, Known: cands, What: what})
}

// profileInput is e as bad input: the caller must name the profile.
func profileInput(e *ProfileError) error {
	return &core.InputError{Msg: e.Error(), Err: e}
}

// holdsAll reports whether the profile in b holds every address as a
// mailbox or as its default sender.
func holdsAll(b *bolt.Bucket, addrs []string) bool {
	var rec profileRecord
	if raw := b.Get([]byte(profileKey)); raw != nil {
		_ = json.Unmarshal(raw, &rec)
	}
	mb := b.Bucket([]byte(mailboxBucket))
	for _, a := range addrs {
		if strings.EqualFold(rec.Profile.DefaultSender, a) {
			continue
		}
		if mb == nil || mb.Get([]byte(a)) == nil {
			return false
		}
	}
	return true
}

func inDomain(domain string, addrs []string) bool {
	for _, a := range addrs {
		if !strings.HasSuffix(a, "@"+domain) {
			return false
		}
	}
	return true
}

// TakeBackup writes a timestamped copy of the store beside it
// (<db>.<UTC time>.bak), as Options.Backup does at Open, before a change
// that cannot be undone; it returns the copy's path.
func (s *Store) TakeBackup() (string, error) {
	if s.readOnly {
		return "", errorf(ErrReadOnly, "store %s is open read-only; run the command without read-only to change it", s.path)
	}
	if err := s.timestampedBackup(); err != nil {
		return "", err
	}
	if s.backup == "" {
		return "", fmt.Errorf("store %s holds nothing to back up yet", s.path)
	}
	return s.backup, nil
}
