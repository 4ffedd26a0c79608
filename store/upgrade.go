package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

// pendingLogin is the sealed record of a mailbox still on its legacy
// password (domains/<domain>/upgrade/<email>). The record's existence is
// the mailbox's "pending" state; CompleteUpgrade deletes it.
type pendingLogin struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func upgradeAD(domain, email string) string {
	return domainsBucket + "/" + domain + "/" + upgradeBucket + "/" + email
}

// ImportLegacy saves an upgrade plan: the profile when the store has none
// (it must still not exist, else ErrConflict), then in one transaction the
// new mailboxes and the sealed pending logins.
func (s *Store) ImportLegacy(plan core.UpgradePlan, actor string) error {
	domain, err := normDomain(plan.Domain)
	if err != nil {
		return err
	}
	if plan.Profile != nil {
		p := *plan.Profile
		p.Domain = domain
		if err := s.SaveProfileIfUnchanged(p, 0, actor); err != nil {
			return err
		}
	}
	type row struct {
		key, val []byte
	}
	boxes := make([]row, 0, len(plan.Add))
	for _, m := range plan.Add {
		if err := m.Normalize(domain); err != nil {
			return err
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return err
		}
		boxes = append(boxes, row{[]byte(m.Email), raw})
	}
	return s.updateProfile(domain, func(b *bolt.Bucket) error {
		tx := b.Tx()
		mb, err := b.CreateBucketIfNotExists([]byte(mailboxBucket))
		if err != nil {
			return err
		}
		for _, r := range boxes {
			if err := mb.Put(r.key, r.val); err != nil {
				return err
			}
		}
		ub, err := b.CreateBucketIfNotExists([]byte(upgradeBucket))
		if err != nil {
			return err
		}
		for _, pw := range plan.Passwords {
			email, err := core.NormalizeMailbox(pw.Mailbox, domain)
			if err != nil {
				return err
			}
			sealed, err := s.sealJSON(upgradeAD(domain, email), pendingLogin{Username: pw.Username, Password: pw.Password})
			if err != nil {
				return err
			}
			if err := ub.Put([]byte(email), sealed); err != nil {
				return err
			}
		}
		return appendAudit(tx, domain, actor, "upgrade.import",
			fmt.Sprintf("%d new mailbox(es), %d pending password login(s) sealed, %d already on OAuth", len(boxes), len(plan.Passwords), len(plan.OnOAuth)))
	})
}

// PendingUpgrades lists, sorted, the mailboxes still on their legacy
// password (core.UpgradeStore).
func (s *Store) PendingUpgrades(domain string) ([]string, error) {
	domain, err := normDomain(domain)
	if err != nil {
		return nil, err
	}
	out := []string{}
	err = s.viewProfile(domain, func(b *bolt.Bucket) error {
		if ub := b.Bucket([]byte(upgradeBucket)); ub != nil {
			return ub.ForEach(func(k, _ []byte) error {
				out = append(out, string(k))
				return nil
			})
		}
		return nil
	})
	return out, err
}

// PendingLogin returns the legacy username and password of a pending
// mailbox, unsealed; ok is false when the mailbox is not pending.
func (s *Store) PendingLogin(domain, email string) (username, password string, ok bool, err error) {
	domain, err = normDomain(domain)
	if err != nil {
		return "", "", false, err
	}
	err = s.viewProfile(domain, func(b *bolt.Bucket) error {
		ub := b.Bucket([]byte(upgradeBucket))
		if ub == nil {
			return nil
		}
		v := ub.Get([]byte(email))
		if v == nil {
			return nil
		}
		plain, err := s.unseal(upgradeAD(domain, email), v)
		if err != nil {
			return err
		}
		var pl pendingLogin
		if err := json.Unmarshal(plain, &pl); err != nil {
			return &RecordError{Record: RecordPendingLogin, Mailbox: email, Path: s.path, Err: err}
		}
		username, password, ok = pl.Username, pl.Password, true
		return nil
	})
	return username, password, ok, err
}

// CompleteUpgrade switches a pending mailbox to OAuth: its sealed password
// record is deleted and the switch is audited (core.UpgradeStore). A
// mailbox that is not pending is left alone.
func (s *Store) CompleteUpgrade(domain, email, actor string) error {
	domain, err := normDomain(domain)
	if err != nil {
		return err
	}
	return s.updateProfile(domain, func(b *bolt.Bucket) error {
		tx := b.Tx()
		ub := b.Bucket([]byte(upgradeBucket))
		if ub == nil || ub.Get([]byte(email)) == nil {
			return nil
		}
		if err := ub.Delete([]byte(email)); err != nil {
			return err
		}
		return appendAudit(tx, domain, actor, "mailbox.upgrade", email+" switched to OAuth after its OAuth check passed; its password was erased")
	})
}
