package watch

import (
	"sync"

	"github.com/mailoauth/mailoauth/core"
)

// countingCache counts the tokens minted (saved) per mailbox, for the
// minted/cached metric; it passes everything through.
type countingCache struct {
	core.TokenCache
	mu    sync.Mutex
	mints map[string]int
}

func (c *countingCache) SaveToken(t core.Token) error {
	c.mu.Lock()
	if c.mints == nil {
		c.mints = map[string]int{}
	}
	c.mints[t.Mailbox]++
	c.mu.Unlock()
	return c.TokenCache.SaveToken(t)
}

func (c *countingCache) reset(mailbox string) {
	c.mu.Lock()
	delete(c.mints, mailbox)
	c.mu.Unlock()
}

func (c *countingCache) minted(mailbox string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mints[mailbox]
}
