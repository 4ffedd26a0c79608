package core

import (
	"context"
	"errors"
)

// A --fresh check mints a token for its mailbox whatever the cache holds
// and saves it over the cached one, in the one store transaction the save
// takes anyway (it used to delete the cached token first, in a transaction
// and a disk sync of its own per mailbox). What the delete gave stays: when
// the mint is refused, the cached token is dropped, so a later run without
// --fresh does not pass on a token the configuration no longer grants.

// dropRefused drops the mailbox's cached token after a fresh mint failed
// for a reason that is about the configuration: not throttling, not the
// run being cancelled or timing out.
func (p *TokenProvider) dropRefused(ctx context.Context, mailbox string, scopes []string, err error) {
	if err == nil || isThrottle(err) || ctx.Err() != nil ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	_ = p.cache().DeleteToken(mailbox, scopes)
}
