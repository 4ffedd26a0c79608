package store

import (
	"encoding/json"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

// ProfileStates returns the state of every profile (core.ProfileState),
// sorted by domain, read in one transaction: whatever face did the work,
// this is where it stands.
func (s *Store) ProfileStates() ([]core.ProfileState, error) {
	return eachProfile(s, s.profileState)
}

func (s *Store) profileState(b *bolt.Bucket, domain string) (core.ProfileState, error) {
	rec, err := s.readProfile(b, domain)
	if err != nil {
		return core.ProfileState{}, err
	}
	p := rec.Profile
	st := core.ProfileState{Domain: domain, DefaultSender: p.DefaultSender, WizardStep: p.WizardStep, Updated: p.Updated}
	if len(p.Credential) > 0 {
		st.Kind = p.CredentialKind
	}
	mb := b.Bucket([]byte(mailboxBucket))
	if mb != nil {
		st.Mailboxes = mb.Stats().KeyN
	}
	rb := b.Bucket([]byte(resultBucket))
	sender := strings.ToLower(strings.TrimSpace(p.DefaultSender))
	// Only the mailboxes it still holds: a removed mailbox's old result
	// says nothing about the profile now.
	count := func(k []byte) {
		var r core.MailboxResult
		if rb == nil {
			st.Untested++
			return
		}
		raw := rb.Get(k)
		if raw == nil || json.Unmarshal(raw, &r) != nil { // damaged: not tested
			st.Untested++
			return
		}
		st.Count(r)
	}
	if sender != "" && (mb == nil || mb.Get([]byte(sender)) == nil) {
		count([]byte(sender))
	}
	if mb != nil {
		_ = mb.ForEach(func(k, _ []byte) error {
			count(k)
			return nil
		})
	}
	return st, nil
}
