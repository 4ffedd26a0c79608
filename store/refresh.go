package store

import (
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

// refreshBucket holds the OAuth client path's refresh tokens:
// domains/<domain>/refresh_tokens  email -> sealed JSON core.RefreshToken.
// It is created on the first consent, so schema 1 stores (which have none)
// need no migration.
const refreshBucket = "refresh_tokens"

func (c *tokenCache) refreshAD(mailbox string) string {
	return domainsBucket + "/" + c.domain + "/" + refreshBucket + "/" + mailbox
}

func normMailboxKey(mailbox string) string { return strings.ToLower(strings.TrimSpace(mailbox)) }

// RefreshTokens returns the profile's refresh-token store. The TokenCache of
// the same domain implements core.RefreshTokenStore too, which is how
// core.NewTester finds it.
func (s *Store) RefreshTokens(domain string) core.RefreshTokenStore {
	return s.TokenCache(domain).(*tokenCache)
}

// LoadRefreshToken implements core.RefreshTokenStore.
func (c *tokenCache) LoadRefreshToken(mailbox string) (core.RefreshToken, bool, error) {
	key := normMailboxKey(mailbox)
	return loadSealed[core.RefreshToken](c, refreshBucket, key, c.refreshAD(key), func(err error) error {
		return &core.DamagedConsentError{Mailbox: key, Store: c.s.path, Err: err}
	})
}

// SaveRefreshToken implements core.RefreshTokenStore: one transaction
// replaces the mailbox's token, so a rotated token is never half-written,
// and the audit log notes the consent (never the token).
func (c *tokenCache) SaveRefreshToken(rt core.RefreshToken) error {
	if c.err != nil {
		return c.err
	}
	key := normMailboxKey(rt.Mailbox)
	rt.Mailbox = key
	sealed, err := c.s.sealJSON(c.refreshAD(key), rt)
	if err != nil {
		return err
	}
	action := "consent.grant"
	if !rt.Rotated.IsZero() {
		action = "consent.rotate"
	}
	return c.s.updateProfile(c.domain, func(b *bolt.Bucket) error {
		if err := putIn(b, refreshBucket, key, sealed); err != nil {
			return err
		}
		return appendAudit(b.Tx(), c.domain, "google", action, fmt.Sprintf("%s: refresh token %s for client %s", key, rt.Fingerprint(), rt.ClientID))
	})
}

// DeleteRefreshToken implements core.RefreshTokenStore.
func (c *tokenCache) DeleteRefreshToken(mailbox string) error {
	if c.err != nil {
		return nil
	}
	key := normMailboxKey(mailbox)
	return c.s.update(func(tx *bolt.Tx) error { return deleteIn(tx, c.domain, refreshBucket, key) })
}

// ConsentStates returns the consent state of every mailbox of the domain
// that has a stored refresh token, for the client ID.
func (s *Store) ConsentStates(domain, clientID string) (map[string]core.ConsentState, error) {
	c := s.TokenCache(domain).(*tokenCache)
	out := map[string]core.ConsentState{}
	if c.err != nil {
		return out, nil
	}
	err := s.view(func(tx *bolt.Tx) error {
		rb := profileSub(tx, c.domain, refreshBucket)
		if rb == nil {
			return nil
		}
		return rb.ForEach(func(k, v []byte) error {
			plain, err := s.unseal(c.refreshAD(string(k)), v)
			if err != nil {
				return err
			}
			var rt core.RefreshToken
			if json.Unmarshal(plain, &rt) != nil || rt.Token == "" {
				return nil
			}
			st := core.ConsentState{Consented: rt.ClientID == clientID, OtherClient: rt.ClientID != clientID, ConsentedAt: rt.ConsentedAt}
			if st.Consented {
				st.Fingerprint = rt.Fingerprint()
			}
			out[string(k)] = st
			return nil
		})
	})
	return out, err
}
