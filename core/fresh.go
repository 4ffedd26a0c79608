package core

// A --fresh check mints a token for its mailbox whatever the cache holds
// and saves it over the cached one, in the one store transaction the save
// takes anyway (it used to delete the cached token first, in a transaction
// and a disk sync of its own per mailbox). What the delete gave stays: when
// the fresh mint fails, for whatever reason, the cached token is dropped,
// so neither a later run without --fresh nor this run's retry of a
// throttled mint passes on a token minted before this run.

// dropRefused drops the mailbox's cached token after a fresh mint failed.
func (p *TokenProvider) dropRefused(mailbox string, scopes []string, err error) {
	if err != nil {
		_ = p.cache().DeleteToken(mailbox, scopes)
	}
}
