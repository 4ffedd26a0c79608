package store

import bolt "go.etcd.io/bbolt"

// The way to a profile's buckets (domains/<domain>/<name>, see the layout
// in migrate.go) is written once, here; the rest of the package reaches
// them through these helpers. Migrations alone spell out their buckets:
// each must go on working on the layout of its own schema.

// domains returns the bucket holding every profile, or nil in a file not
// yet migrated.
func domains(tx *bolt.Tx) *bolt.Bucket {
	return tx.Bucket([]byte(domainsBucket))
}

// domainBucket returns domains/<domain>, or nil.
func domainBucket(tx *bolt.Tx, domain string) *bolt.Bucket {
	d := domains(tx)
	if d == nil {
		return nil
	}
	return d.Bucket([]byte(domain))
}

// knownDomains lists the profiles' domains, sorted.
func knownDomains(tx *bolt.Tx) []string {
	var out []string
	if d := domains(tx); d != nil {
		_ = d.ForEachBucket(func(k []byte) error {
			out = append(out, string(k))
			return nil
		})
	}
	return out
}

// profileSub returns the bucket name of domain's profile, or nil when the
// profile or the bucket does not exist.
func profileSub(tx *bolt.Tx, domain, name string) *bolt.Bucket {
	if b := domainBucket(tx, domain); b != nil {
		return b.Bucket([]byte(name))
	}
	return nil
}

// deleteIn removes key from the bucket name of domain's profile; a missing
// profile, bucket or key is no error.
func deleteIn(tx *bolt.Tx, domain, name, key string) error {
	if b := domainBucket(tx, domain); b != nil {
		return deleteFrom(b, name, key)
	}
	return nil
}

// deleteFrom removes key from b's nested bucket name; a missing bucket or
// key is no error.
func deleteFrom(b *bolt.Bucket, name, key string) error {
	if nb := b.Bucket([]byte(name)); nb != nil {
		return nb.Delete([]byte(key))
	}
	return nil
}

// putIn puts key in b's nested bucket name, created if missing.
func putIn(b *bolt.Bucket, name, key string, value []byte) error {
	nb, err := b.CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return err
	}
	return nb.Put([]byte(key), value)
}

// noProfile is the ErrNotFound error for a missing domain.
func (s *Store) noProfile(tx *bolt.Tx, domain string) error {
	return &ProfileError{Path: s.path, Domain: domain, Known: knownDomains(tx)}
}

// profileBucket returns the bucket of domain (normalised by the caller) or
// the ErrNotFound sentence.
func (s *Store) profileBucket(tx *bolt.Tx, domain string) (*bolt.Bucket, error) {
	b := domainBucket(tx, domain)
	if b == nil {
		return nil, s.noProfile(tx, domain)
	}
	return b, nil
}

// viewProfile runs fn in a read transaction on the bucket of the profile of
// domain (normalised by the caller); without that profile it returns the
// ErrNotFound sentence and fn does not run. fn reaches the transaction
// with b.Tx().
func (s *Store) viewProfile(domain string, fn func(b *bolt.Bucket) error) error {
	return s.view(func(tx *bolt.Tx) error { return s.inProfile(tx, domain, fn) })
}

// updateProfile is viewProfile in a write transaction.
func (s *Store) updateProfile(domain string, fn func(b *bolt.Bucket) error) error {
	return s.update(func(tx *bolt.Tx) error { return s.inProfile(tx, domain, fn) })
}

// inProfile runs fn on the bucket of domain's profile inside tx, or returns
// the ErrNotFound sentence.
func (s *Store) inProfile(tx *bolt.Tx, domain string, fn func(b *bolt.Bucket) error) error {
	b, err := s.profileBucket(tx, domain)
	if err != nil {
		return err
	}
	return fn(b)
}
