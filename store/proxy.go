package store

import (
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

// The proxy's records: each profile's proxy password hashes (a nested
// bucket of the domain, removed with the mailbox or the profile) and the
// proxy's TLS certificate (a top-level bucket; its private key sealed).
const (
	proxyPasswordBucket = "proxy_passwords"
	proxyBucket         = "proxy"
	proxyCertKey        = "cert"
	proxyKeyKey         = "key"
)

// SetProxyPassword keeps the hash of the mailbox's new proxy password (the
// caller hashes it; the password itself never reaches the store) and
// records the change in the audit log. The mailbox must be one of the
// profile's.
func (s *Store) SetProxyPassword(domain, mailbox, hash, actor string) error {
	_, err := s.putProxyPassword(domain, mailbox, hash, actor, true)
	return err
}

// AddProxyPassword is SetProxyPassword for a mailbox without a proxy
// password: when it already has one (a product may be logging in with it),
// nothing changes and added is false. The test and the write are one
// transaction, so no password set meanwhile is replaced.
func (s *Store) AddProxyPassword(domain, mailbox, hash, actor string) (added bool, err error) {
	return s.putProxyPassword(domain, mailbox, hash, actor, false)
}

func (s *Store) putProxyPassword(domain, mailbox, hash, actor string, replace bool) (put bool, err error) {
	domain, err = normDomain(domain)
	if err != nil {
		return false, err
	}
	mailbox = normMailboxKey(mailbox)
	err = s.updateProfile(domain, func(b *bolt.Bucket) error {
		tx := b.Tx()
		if mb := b.Bucket([]byte(mailboxBucket)); mb == nil || mb.Get([]byte(mailbox)) == nil {
			return &MailboxError{Mailbox: mailbox, Domain: domain, Add: true}
		}
		pb, err := b.CreateBucketIfNotExists([]byte(proxyPasswordBucket))
		if err != nil {
			return err
		}
		action := "proxy.password.set"
		if pb.Get([]byte(mailbox)) != nil {
			if !replace {
				return nil
			}
			action = "proxy.password.rotate"
		}
		if err := pb.Put([]byte(mailbox), []byte(hash)); err != nil {
			return err
		}
		put = true
		return appendAudit(tx, domain, actor, action, mailbox)
	})
	return put && err == nil, err
}

// ProxyPasswordHash returns the hash of the mailbox's proxy password;
// found is false when none was set.
func (s *Store) ProxyPasswordHash(domain, mailbox string) (hash string, found bool, err error) {
	domain, err = normDomain(domain)
	if err != nil {
		return "", false, err
	}
	mailbox = normMailboxKey(mailbox)
	err = s.view(func(tx *bolt.Tx) error {
		if pb := profileSub(tx, domain, proxyPasswordBucket); pb != nil {
			if v := pb.Get([]byte(mailbox)); v != nil {
				hash, found = string(v), true
			}
		}
		return nil
	})
	return hash, found, err
}

// ProxyCertificate returns the proxy's certificate and private key (PEM);
// found is false when none was made yet.
func (s *Store) ProxyCertificate() (certPEM, keyPEM []byte, found bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(proxyBucket))
		if b == nil {
			return nil
		}
		c, k := b.Get([]byte(proxyCertKey)), b.Get([]byte(proxyKeyKey))
		if c == nil || k == nil {
			return nil
		}
		plain, err := s.unseal(proxyBucket+"/"+proxyKeyKey, k)
		if err != nil {
			return err
		}
		certPEM, keyPEM, found = append([]byte(nil), c...), plain, true
		return nil
	})
	return certPEM, keyPEM, found, err
}

// SaveProxyCertificate keeps the proxy's certificate and its private key,
// sealed.
func (s *Store) SaveProxyCertificate(certPEM, keyPEM []byte, actor string) error {
	sealed, err := s.seal(proxyBucket+"/"+proxyKeyKey, keyPEM)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(proxyBucket))
		if err != nil {
			return err
		}
		if err := b.Put([]byte(proxyCertKey), certPEM); err != nil {
			return err
		}
		if err := b.Put([]byte(proxyKeyKey), sealed); err != nil {
			return err
		}
		return appendAudit(tx, "", actor, "proxy.certificate", "a new TLS certificate for mailoauth proxy")
	})
}

// ProxyLogin is one login to mailoauth proxy, for the audit log. It holds
// no secret: the reason is a finding code or a short phrase.
type ProxyLogin struct {
	Mailbox, Client, Protocol string
	OK                        bool
	Reason                    string
}

// AuditProxyLogin records a proxy login in the audit log (action
// "proxy.login"), under the mailbox's domain; PruneProxyLogins bounds them.
func (s *Store) AuditProxyLogin(l ProxyLogin) error {
	domain := ""
	if _, d, ok := strings.Cut(l.Mailbox, "@"); ok {
		if nd, err := core.NormalizeDomain(d); err == nil {
			domain = nd
		}
	}
	result := "ok"
	if !l.OK {
		result = "refused"
		if l.Reason != "" {
			result += " (" + l.Reason + ")"
		}
	}
	detail := fmt.Sprintf("%s %s from %s: %s", l.Protocol, l.Mailbox, l.Client, result)
	return s.update(func(tx *bolt.Tx) error {
		return appendAudit(tx, domain, "proxy "+l.Client, proxyLoginAction, detail)
	})
}
