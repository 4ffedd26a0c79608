package core

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// Token is an access token minted for one mailbox and scope set.
type Token struct {
	Mailbox     string    `json:"mailbox"`
	Scopes      []string  `json:"scopes"`
	AccessToken string    `json:"access_token"`
	Expiry      time.Time `json:"expiry"`
}

// ScopeKey is the canonical form of a scope set, used as a cache key.
func ScopeKey(scopes []string) string {
	s := append([]string(nil), scopes...)
	sort.Strings(s)
	return strings.Join(s, " ")
}

// TokenCache keeps access tokens between runs. The store implements it
// (sealed on disk); MemoryTokenCache serves tests and one-shot runs.
type TokenCache interface {
	// LoadToken returns the cached token for the mailbox and scopes, if any,
	// whatever its expiry; the caller decides whether it is still usable.
	LoadToken(mailbox string, scopes []string) (Token, bool, error)
	SaveToken(t Token) error
	DeleteToken(mailbox string, scopes []string) error
}

// TokenSaverLater is a TokenCache that can save a token without its caller
// waiting for the disk at once (the store's: a bulk run's tokens then share
// a transaction and its fsync). The caller calls wait, which returns what
// SaveToken would have, before it reports anything that relies on the
// token being kept.
type TokenSaverLater interface {
	SaveTokenLater(t Token) (wait func() error)
}

// MemoryTokenCache is a TokenCache in memory, safe for concurrent use.
type MemoryTokenCache struct {
	tokens memoryMap[Token]
}

func memKey(mailbox string, scopes []string) string { return mailbox + "\x00" + ScopeKey(scopes) }

// LoadToken implements TokenCache.
func (c *MemoryTokenCache) LoadToken(mailbox string, scopes []string) (Token, bool, error) {
	t, ok := c.tokens.load(memKey(mailbox, scopes))
	return t, ok, nil
}

// SaveToken implements TokenCache.
func (c *MemoryTokenCache) SaveToken(t Token) error {
	c.tokens.save(memKey(t.Mailbox, t.Scopes), t)
	return nil
}

// DeleteToken implements TokenCache.
func (c *MemoryTokenCache) DeleteToken(mailbox string, scopes []string) error {
	c.tokens.delete(memKey(mailbox, scopes))
	return nil
}

// memoryMap is a map safe for concurrent use, the body of the in-memory
// stores (MemoryTokenCache, MemoryRefreshStore); its zero value is empty
// and ready.
type memoryMap[V any] struct {
	mu sync.Mutex
	m  map[string]V
}

func (s *memoryMap[V]) load(key string) (V, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok
}

func (s *memoryMap[V]) save(key string, v V) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]V{}
	}
	s.m[key] = v
}

func (s *memoryMap[V]) delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

// CheckName names one live check.
type CheckName string

// The checks, in the order they run.
const (
	CheckToken     CheckName = "token"
	CheckIMAP      CheckName = "imap"
	CheckSMTP      CheckName = "smtp"
	CheckRoundtrip CheckName = "roundtrip"
)

// AllChecks is every check in running order.
var AllChecks = []CheckName{CheckToken, CheckIMAP, CheckSMTP, CheckRoundtrip}

// CheckResult is the outcome of one check of one mailbox.
type CheckResult struct {
	Name     CheckName     `json:"name"`
	OK       bool          `json:"ok"`
	Duration time.Duration `json:"duration"`
	// Detail is a short human note: "INBOX has 12 messages", "delivered in 41 ms".
	Detail string `json:"detail,omitempty"`
}

// MailboxResult is every check of one mailbox and, if one failed, the
// finding that explains it.
type MailboxResult struct {
	Mailbox   string        `json:"mailbox"`
	OK        bool          `json:"ok"`
	Checks    []CheckResult `json:"checks"`
	Finding   *Finding      `json:"finding"`
	CheckedAt time.Time     `json:"checked_at"`
	// Notes are things the user should know although the checks passed,
	// e.g. "the cached token was refused; a fresh one was minted".
	Notes []string `json:"notes,omitempty"`

	// throttle is set when the last failure was a throttling reply, which
	// the bulk runner retries.
	throttle *throttle
}

// Check returns the named check's result, if it ran.
func (r *MailboxResult) Check(name CheckName) (CheckResult, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return CheckResult{}, false
}

// Cancelled reports whether the run was stopped (interrupted) before this
// mailbox's checks finished: not a result of the mailbox, which keeps its
// last one.
func (r *MailboxResult) Cancelled() bool {
	return !r.OK && r.Finding != nil && r.Finding.Code == CodeCancelled
}
