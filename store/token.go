package store

import (
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

// tokenCache is core.TokenCache on the store, sealed, for one profile.
type tokenCache struct {
	s      *Store
	domain string
	err    error
}

// TokenCache returns a core.TokenCache that keeps the profile's access
// tokens sealed in the store. It is safe for concurrent use. Saving a token
// for a domain without a profile is an error matching ErrNotFound.
func (s *Store) TokenCache(domain string) core.TokenCache {
	d, err := normDomain(domain)
	if err != nil {
		d = strings.ToLower(strings.TrimSpace(domain))
	}
	return &tokenCache{s: s, domain: d, err: err}
}

func tokenKey(mailbox string, scopes []string) string {
	return strings.ToLower(strings.TrimSpace(mailbox)) + "\x00" + core.ScopeKey(scopes)
}

func (c *tokenCache) ad(key string) string {
	return domainsBucket + "/" + c.domain + "/" + tokenBucket + "/" + key
}

// loadSealed reads and unseals one JSON record of c's domain's nested
// bucket; a missing profile, bucket or key is not found, not an error.
// damaged words the error for a record that unseals but does not parse.
func loadSealed[T any](c *tokenCache, bucket, key, ad string, damaged func(error) error) (T, bool, error) {
	var v, zero T
	if c.err != nil {
		return zero, false, nil
	}
	found := false
	err := c.s.view(func(tx *bolt.Tx) error {
		nb := profileSub(tx, c.domain, bucket)
		if nb == nil {
			return nil
		}
		raw := nb.Get([]byte(key))
		if raw == nil {
			return nil
		}
		plain, err := c.s.unseal(ad, raw)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(plain, &v); err != nil {
			return damaged(err)
		}
		found = true
		return nil
	})
	if err != nil {
		return zero, false, err
	}
	return v, found, nil
}

// sealJSON is v as JSON, sealed for the associated data ad.
func (s *Store) sealJSON(ad string, v any) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return s.seal(ad, plain)
}

// LoadToken implements core.TokenCache.
func (c *tokenCache) LoadToken(mailbox string, scopes []string) (core.Token, bool, error) {
	key := tokenKey(mailbox, scopes)
	return loadSealed[core.Token](c, tokenBucket, key, c.ad(key), func(err error) error {
		return fmt.Errorf("the cached token of %s in store %s is damaged (%v); it will be fetched again", mailbox, c.s.path, err)
	})
}

// SaveToken implements core.TokenCache.
func (c *tokenCache) SaveToken(t core.Token) error {
	put, err := c.putToken(t)
	if err != nil {
		return err
	}
	return c.s.batch(put)
}

// SaveTokenLater implements core.TokenSaverLater: the token is committed
// with the others saved until some caller waits for one of them, at the
// latest about laterWindow (250 ms) after it came (batch.go).
func (c *tokenCache) SaveTokenLater(t core.Token) (wait func() error) {
	put, err := c.putToken(t)
	if err != nil {
		return func() error { return err }
	}
	return c.s.batchLater(put)
}

// putToken is the write that saves t, sealed.
func (c *tokenCache) putToken(t core.Token) (func(tx *bolt.Tx) error, error) {
	if c.err != nil {
		return nil, c.err
	}
	key := tokenKey(t.Mailbox, t.Scopes)
	sealed, err := c.s.sealJSON(c.ad(key), t)
	if err != nil {
		return nil, err
	}
	return func(tx *bolt.Tx) error {
		return c.s.inProfile(tx, c.domain, func(b *bolt.Bucket) error { return putIn(b, tokenBucket, key, sealed) })
	}, nil
}

// DeleteToken implements core.TokenCache.
func (c *tokenCache) DeleteToken(mailbox string, scopes []string) error {
	if c.err != nil {
		return nil
	}
	key := tokenKey(mailbox, scopes)
	return c.s.batch(func(tx *bolt.Tx) error { return deleteIn(tx, c.domain, tokenBucket, key) })
}
