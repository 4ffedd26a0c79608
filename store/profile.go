package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

// profileRecord is the clear part of a profile as stored; the secrets are
// sealed under their own keys beside it.
type profileRecord struct {
	Profile   core.Profile `json:"profile"`
	Revision  int64        `json:"revision"`
	UpdatedBy string       `json:"updated_by"`
}

func normDomain(domain string) (string, error) {
	return core.NormalizeDomain(domain)
}

func (s *Store) readProfile(b *bolt.Bucket, domain string) (profileRecord, error) {
	var rec profileRecord
	raw := b.Get([]byte(profileKey))
	if raw == nil {
		return rec, &RecordError{Record: RecordProfile, Domain: domain, Path: s.path, Err: errors.New("no settings")}
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return rec, &RecordError{Record: RecordProfile, Domain: domain, Path: s.path, Err: err}
	}
	prefix := domainsBucket + "/" + domain + "/"
	if v := b.Get([]byte(credentialKey)); v != nil {
		plain, err := s.unseal(prefix+credentialKey, v)
		if err != nil {
			return rec, err
		}
		rec.Profile.Credential = plain
	}
	if rec.Profile.CredentialKind == "" {
		// Written before the kind was kept in the clear: derive it.
		rec.Profile.CredentialKind = core.SniffCredentialKind(rec.Profile.Credential)
	}
	if v := b.Get([]byte(p12PasswordKey)); v != nil {
		plain, err := s.unseal(prefix+p12PasswordKey, v)
		if err != nil {
			return rec, err
		}
		rec.Profile.P12Password = string(plain)
	}
	rec.Profile.Domain = domain
	return rec, nil
}

// eachProfile is fn of every profile's bucket, sorted by domain, read in
// one transaction.
func eachProfile[T any](s *Store, fn func(b *bolt.Bucket, domain string) (T, error)) ([]T, error) {
	var out []T
	err := s.view(func(tx *bolt.Tx) error {
		for _, d := range knownDomains(tx) {
			v, err := fn(domainBucket(tx, d), d)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// ListProfiles returns every profile, secrets unsealed, sorted by domain.
func (s *Store) ListProfiles() ([]core.Profile, error) {
	return eachProfile(s, func(b *bolt.Bucket, domain string) (core.Profile, error) {
		rec, err := s.readProfile(b, domain)
		return rec.Profile, err
	})
}

// Profile returns the profile of domain with its secrets unsealed, or an
// error matching ErrNotFound that lists the known domains.
func (s *Store) Profile(domain string) (core.Profile, error) {
	p, _, err := s.profileRev(domain)
	return p, err
}

// ProfileRevision returns the profile's revision: it starts at 1 and grows
// by one with every save. Pass it to SaveProfileIfUnchanged.
func (s *Store) ProfileRevision(domain string) (int64, error) {
	_, rev, err := s.profileRev(domain)
	return rev, err
}

// ProfileWithRevision returns the profile and its revision read together.
func (s *Store) ProfileWithRevision(domain string) (core.Profile, int64, error) {
	return s.profileRev(domain)
}

func (s *Store) profileRev(domain string) (core.Profile, int64, error) {
	domain, err := normDomain(domain)
	if err != nil {
		return core.Profile{}, 0, err
	}
	var rec profileRecord
	err = s.viewProfile(domain, func(b *bolt.Bucket) error {
		rec, err = s.readProfile(b, domain)
		return err
	})
	return rec.Profile, rec.Revision, err
}

// SaveProfile creates or overwrites the profile of p.Domain (normalised),
// sealing its credential and P12 password, sets p.Updated to now, bumps the
// revision and records actor in the audit log.
func (s *Store) SaveProfile(p core.Profile, actor string) error {
	return s.saveProfile(p, -1, actor)
}

// SaveProfileIfUnchanged saves p only if the stored revision still equals
// loadedRev (0 = the profile must not exist yet); otherwise it returns an
// error matching ErrConflict that says who changed it and when.
func (s *Store) SaveProfileIfUnchanged(p core.Profile, loadedRev int64, actor string) error {
	if loadedRev < 0 {
		loadedRev = 0
	}
	return s.saveProfile(p, loadedRev, actor)
}

func (s *Store) saveProfile(p core.Profile, loadedRev int64, actor string) error {
	domain, err := normDomain(p.Domain)
	if err != nil {
		return err
	}
	p.Domain = domain
	p.Updated = time.Now().UTC().Truncate(time.Second)
	// The credential decides, whatever the caller's copy of the field says.
	p.CredentialKind = core.SniffCredentialKind(p.Credential)
	return s.update(func(tx *bolt.Tx) error {
		b := domainBucket(tx, domain)
		var old profileRecord
		exists := b != nil
		if exists {
			var err error
			if old, err = s.readProfile(b, domain); err != nil && loadedRev >= 0 {
				return err
			}
		}
		if loadedRev >= 0 && old.Revision != loadedRev {
			if !exists {
				return errorf(ErrConflict, "profile %s was deleted since you loaded it; reload and set it up again", domain)
			}
			if loadedRev == 0 {
				return errorf(ErrConflict, "profile %s was created by %s at %s while you were setting it up; reload it and apply your change again", domain, old.UpdatedBy, old.Profile.Updated.Local().Format(time.DateTime))
			}
			return errorf(ErrConflict, "profile %s was changed by %s at %s since you loaded it (revision %d, you had %d); reload it and apply your change again", domain, old.UpdatedBy, old.Profile.Updated.Local().Format(time.DateTime), old.Revision, loadedRev)
		}
		if exists && old.Profile.CredentialKind == core.KindOAuthClient && p.CredentialKind != core.KindOAuthClient {
			if err := outsideMailboxes(b, p); err != nil {
				return err
			}
		}
		if !exists {
			var err error
			if b, err = domains(tx).CreateBucket([]byte(domain)); err != nil {
				return err
			}
		}
		rec := profileRecord{Profile: p, Revision: old.Revision + 1, UpdatedBy: actor}
		rec.Profile.CredentialLoaded = p.Updated
		if exists && bytes.Equal(old.Profile.Credential, p.Credential) {
			rec.Profile.CredentialLoaded = old.Profile.CredentialLoaded // zero: saved before it was kept
		}
		rec.Profile.Credential, rec.Profile.P12Password = nil, ""
		raw, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(profileKey), raw); err != nil {
			return err
		}
		prefix := domainsBucket + "/" + domain + "/"
		if err := s.putSealed(b, prefix, credentialKey, p.Credential); err != nil {
			return err
		}
		if err := s.putSealed(b, prefix, p12PasswordKey, []byte(p.P12Password)); err != nil {
			return err
		}
		action, detail := "profile.save", "created"
		if exists {
			detail = profileChanges(old.Profile, p)
		}
		return appendAudit(tx, domain, actor, action, fmt.Sprintf("revision %d: %s", rec.Revision, detail))
	})
}

// outsideMailboxes refuses to give up the OAuth client while the profile
// holds mailboxes that only it can serve: the new credential's rule must
// accept every stored mailbox.
func outsideMailboxes(b *bolt.Bucket, p core.Profile) error {
	mb := b.Bucket([]byte(mailboxBucket))
	if mb == nil {
		return nil
	}
	rule := p.MailboxRule()
	var out []string
	n := 0
	_ = mb.ForEach(func(k, _ []byte) error {
		if _, err := rule.Address(string(k)); err != nil {
			if n++; len(out) < 3 {
				out = append(out, string(k))
			}
		}
		return nil
	})
	if n == 0 {
		return nil
	}
	list := strings.Join(out, ", ")
	if n > len(out) {
		list += fmt.Sprintf(" and %d more", n-len(out))
	}
	return core.OutsideMailboxesKept(p.Domain, n, list)
}

// putSealed seals value under key, or deletes key when value is empty.
func (s *Store) putSealed(b *bolt.Bucket, prefix, key string, value []byte) error {
	if len(value) == 0 {
		return b.Delete([]byte(key))
	}
	sealed, err := s.seal(prefix+key, value)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), sealed)
}

// profileChanges names the fields that differ, never their secret values.
func profileChanges(a, b core.Profile) string {
	var ch []string
	add := func(changed bool, name string) {
		if changed {
			ch = append(ch, name)
		}
	}
	add(a.DefaultSender != b.DefaultSender, "default sender "+b.DefaultSender)
	add(!bytes.Equal(a.Credential, b.Credential), "credential replaced")
	add(a.P12Password != b.P12Password, "P12 password replaced")
	add(a.P12ClientEmail != b.P12ClientEmail, "P12 client e-mail "+b.P12ClientEmail)
	add(a.P12ClientID != b.P12ClientID, "P12 client ID "+b.P12ClientID)
	add(a.Endpoints != b.Endpoints, "endpoints")
	add(!slices.Equal(a.Scopes, b.Scopes), "scopes "+strings.Join(b.Scopes, " "))
	add(a.RedirectURI != b.RedirectURI, "redirect URI "+b.RedirectURI)
	add(a.ConsentUserType != b.ConsentUserType || a.ConsentPublishing != b.ConsentPublishing, "consent screen "+b.ConsentUserType+" "+b.ConsentPublishing)
	add(a.WizardStep != b.WizardStep, fmt.Sprintf("wizard step %d", b.WizardStep))
	if len(ch) == 0 {
		return "no change"
	}
	return strings.Join(ch, ", ")
}

// DeleteProfile removes the profile of domain with its mailboxes, tokens and
// results; the audit log keeps its history.
func (s *Store) DeleteProfile(domain, actor string) error {
	domain, err := normDomain(domain)
	if err != nil {
		return err
	}
	return s.updateProfile(domain, func(b *bolt.Bucket) error {
		tx := b.Tx()
		n := 0
		if mb := b.Bucket([]byte(mailboxBucket)); mb != nil {
			n = mb.Stats().KeyN
		}
		if err := domains(tx).DeleteBucket([]byte(domain)); err != nil {
			return err
		}
		return appendAudit(tx, domain, actor, "profile.delete", fmt.Sprintf("with %d mailbox(es), their tokens and results", n))
	})
}
