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

// loadSealed reads and unseals one JSON record of the domain's nested
// bucket into v; a missing bucket or key is not an error. damaged words the
// error for a record that unseals but does not parse.
func (c *tokenCache) loadSealed(bucket, key, ad string, v any, damaged func(error) error) (bool, error) {
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
		if err := json.Unmarshal(plain, v); err != nil {
			return damaged(err)
		}
		found = true
		return nil
	})
	return found, err
}

// LoadToken implements core.TokenCache.
func (c *tokenCache) LoadToken(mailbox string, scopes []string) (core.Token, bool, error) {
	var t core.Token
	if c.err != nil {
		return t, false, nil
	}
	key := tokenKey(mailbox, scopes)
	found, err := c.loadSealed(tokenBucket, key, c.ad(key), &t,
		func(err error) error {
			return fmt.Errorf("the cached token of %s in store %s is damaged (%v); it will be fetched again", mailbox, c.s.path, err)
		})
	if err != nil {
		return core.Token{}, false, err
	}
	return t, found, nil
}

// SaveToken implements core.TokenCache.
func (c *tokenCache) SaveToken(t core.Token) error {
	if c.err != nil {
		return c.err
	}
	key := tokenKey(t.Mailbox, t.Scopes)
	plain, err := json.Marshal(t)
	if err != nil {
		return err
	}
	sealed, err := c.s.seal(c.ad(key), plain)
	if err != nil {
		return err
	}
	return c.s.batch(func(tx *bolt.Tx) error {
		return c.s.inProfile(tx, c.domain, func(b *bolt.Bucket) error {
			tb, err := b.CreateBucketIfNotExists([]byte(tokenBucket))
			if err != nil {
				return err
			}
			return tb.Put([]byte(key), sealed)
		})
	})
}

// DeleteToken implements core.TokenCache.
func (c *tokenCache) DeleteToken(mailbox string, scopes []string) error {
	if c.err != nil {
		return nil
	}
	key := tokenKey(mailbox, scopes)
	return c.s.batch(func(tx *bolt.Tx) error { return deleteIn(tx, c.domain, tokenBucket, key) })
}
