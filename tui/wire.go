package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// storeBackend adapts *store.Store to backend, naming the actor in the
// audit log. Profiles are saved only if unchanged since this wizard read
// them, so two wizards on one store (SSH sessions) never overwrite each
// other's work unseen.
type storeBackend struct {
	s     *store.Store
	actor string

	mu    sync.Mutex
	revs  map[string]int64        // each profile's revision as this wizard last read or wrote it
	bases map[string]core.Profile // and the profile at that revision
}

func (b *storeBackend) ListProfiles() ([]core.Profile, error) {
	ps, err := b.s.ListProfiles()
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range ps {
		// profile and revision read together, so they match
		if p, rev, err := b.s.ProfileWithRevision(ps[i].Domain); err == nil {
			ps[i] = p
			b.loaded(p, rev)
		}
	}
	return ps, nil
}

// loaded notes the profile as this wizard last read or wrote it; b.mu held.
func (b *storeBackend) loaded(p core.Profile, rev int64) {
	if b.revs == nil {
		b.revs, b.bases = map[string]int64{}, map[string]core.Profile{}
	}
	b.revs[p.Domain], b.bases[p.Domain] = rev, p
}

// rebaseTries bounds the saves on top of others' changes that keep coming.
const rebaseTries = 3

func (b *storeBackend) SyncProfile(p core.Profile) (core.Profile, string, error) {
	domain, err := core.NormalizeDomain(p.Domain)
	if err != nil {
		return p, "", err
	}
	p.Domain = domain
	b.mu.Lock()
	defer b.mu.Unlock()
	rev, base := b.revs[domain], b.bases[domain]
	var others []string
	for try := 0; ; try++ {
		err := b.s.SaveProfileIfUnchanged(p, rev, b.actor)
		if err == nil {
			b.loaded(p, rev+1)
			return p, strings.Join(others, ", then "), nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return p, "", err
		}
		theirs, theirRev, lerr := b.s.ProfileWithRevision(domain)
		if lerr != nil || rev == 0 || try == rebaseTries {
			return p, "", conflictError(b.s, domain, rev, nil, err)
		}
		rebased, own := store.RebaseProfile(base, p, theirs)
		if len(own) > 0 {
			return p, "", conflictError(b.s, domain, rev, own, err)
		}
		// only this session's progress is new: save it on top of theirs
		others = append(others, changesBy(b.s, domain, rev))
		p, rev, base = rebased, theirRev, theirs
	}
}

// conflictError says in one sentence who changed the profile since this
// wizard read it, when and what (from the audit log), and which of this
// wizard's changes were not saved; it still matches store.ErrConflict, and
// without audit entries it is the store's sentence.
func conflictError(s *store.Store, domain string, rev int64, own []string, err error) error {
	who := changesBy(s, domain, rev)
	if who == "" {
		return err
	}
	msg := fmt.Sprintf("profile %s was changed since you loaded it by %s", domain, who)
	if len(own) > 0 {
		msg += "; your change of the " + strings.Join(own, ", ") + " was not saved"
	}
	return &profileChangedError{err: err, msg: msg}
}

// changesBy names who saved the profile after revision rev, when and
// what, from the audit log; "" when it says nothing.
func changesBy(s *store.Store, domain string, rev int64) string {
	changes, _ := s.ProfileChangesSince(domain, rev)
	var who []string
	for _, c := range changes {
		who = append(who, fmt.Sprintf("%s at %s (%s)", c.Actor, changeTime(c.Time), c.Detail))
	}
	return strings.Join(who, ", then by ")
}

// profileChangedError is a refused save with who changed what instead of
// the store's sentence.
type profileChangedError struct {
	msg string
	err error
}

func (e *profileChangedError) Error() string { return e.msg }
func (e *profileChangedError) Unwrap() error { return e.err }

// changeTime is the clock time of a change, with the date unless today.
func changeTime(t time.Time) string {
	t = t.Local()
	if y, m, d := t.Date(); y == time.Now().Year() && m == time.Now().Month() && d == time.Now().Day() {
		return t.Format(time.TimeOnly)
	}
	return t.Format(time.DateTime)
}
func (b *storeBackend) ProfileStates() ([]core.ProfileState, error) { return b.s.ProfileStates() }

func (b *storeBackend) DeleteProfile(domain string) (string, error) {
	bak, err := b.s.TakeBackup()
	if err != nil {
		return "", err
	}
	if err := b.s.DeleteProfile(domain, b.actor); err != nil {
		return "", err
	}
	b.mu.Lock()
	delete(b.revs, domain)
	delete(b.bases, domain)
	b.mu.Unlock()
	return bak, nil
}

func (b *storeBackend) Mailboxes(domain string) ([]core.Mailbox, error) {
	return b.s.Mailboxes(domain)
}
func (b *storeBackend) PutMailboxes(domain string, ms []core.Mailbox) error {
	return b.s.PutMailboxes(domain, ms, b.actor)
}
func (b *storeBackend) DeleteMailbox(domain, email string) error {
	return b.s.DeleteMailbox(domain, email, b.actor)
}
func (b *storeBackend) SaveResults(domain string, rs []core.MailboxResult) error {
	return b.s.SaveResults(domain, rs)
}
func (b *storeBackend) Results(domain string) (map[string]core.MailboxResult, error) {
	return b.s.Results(domain)
}
func (b *storeBackend) RecentHistory(domain string, perCheck int) ([]core.HistoryEntry, error) {
	return b.s.RecentHistory(domain, perCheck)
}
func (b *storeBackend) PendingUpgrades(domain string) ([]string, error) {
	return b.s.PendingUpgrades(domain)
}
func (b *storeBackend) TokenCache(domain string) core.TokenCache { return b.s.TokenCache(domain) }
func (b *storeBackend) ConsentStates(domain, clientID string) (map[string]core.ConsentState, error) {
	return b.s.ConsentStates(domain, clientID)
}
func (b *storeBackend) HasProxyPassword(domain, mailbox string) (bool, error) {
	_, ok, err := b.s.ProxyPasswordHash(domain, mailbox)
	return ok, err
}
func (b *storeBackend) SetProxyPassword(domain, mailbox, hash string) error {
	return b.s.SetProxyPassword(domain, mailbox, hash, b.actor)
}
func (b *storeBackend) ProxyCertificate() (certPEM, keyPEM []byte, found bool, err error) {
	return b.s.ProxyCertificate()
}

// coreEngine is core.Run, the wizard's engine outside tests.
type coreEngine struct{}

func (coreEngine) Run(ctx context.Context, req core.RunRequest) (core.RunReport, error) {
	return core.Run(ctx, req)
}

// runRequest is a wizard's run of checks on mailboxes, tokens cached in
// the store; a token-only run (step 4's Verify) mints fresh tokens
// (core.FreshWhenTokenOnly). Only the test step finishes an upgrade (it
// sets Upgrade): a token proves the delegation, not that the product's
// mail flows.
func (c *common) runRequest(p core.Profile, mailboxes []string, checks []core.CheckName) core.RunRequest {
	return core.RunRequest{Profile: p, Mailboxes: mailboxes, Checks: checks,
		Tokens: c.backend.TokenCache(p.Domain), Fresh: core.FreshWhenTokenOnly}
}
