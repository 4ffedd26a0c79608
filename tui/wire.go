package tui

import (
	"context"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// storeBackend adapts *store.Store to backend, naming the actor in the
// audit log.
type storeBackend struct {
	s     *store.Store
	actor string
}

func (b storeBackend) ListProfiles() ([]core.Profile, error) { return b.s.ListProfiles() }
func (b storeBackend) SaveProfile(p core.Profile) error      { return b.s.SaveProfile(p, b.actor) }
func (b storeBackend) Mailboxes(domain string) ([]core.Mailbox, error) {
	return b.s.Mailboxes(domain)
}
func (b storeBackend) PutMailboxes(domain string, ms []core.Mailbox) error {
	return b.s.PutMailboxes(domain, ms, b.actor)
}
func (b storeBackend) DeleteMailbox(domain, email string) error {
	return b.s.DeleteMailbox(domain, email, b.actor)
}
func (b storeBackend) SaveResults(domain string, rs []core.MailboxResult) error {
	return b.s.SaveResults(domain, rs)
}
func (b storeBackend) Results(domain string) (map[string]core.MailboxResult, error) {
	return b.s.Results(domain)
}

// coreEngine runs the checks with core.RunAll, caching tokens in the store.
type coreEngine struct{ s *store.Store }

func (e coreEngine) Run(ctx context.Context, p core.Profile, mailboxes []string, checks []core.CheckName, on func(runEvent)) []core.MailboxResult {
	var cache core.TokenCache = &core.MemoryTokenCache{}
	if e.s != nil {
		cache = e.s.TokenCache(p.Domain)
	}
	t, err := core.NewTester(&p, cache)
	if err != nil {
		f := core.FindingOf(err)
		if f == nil {
			f = core.Diagnose(err, core.DiagContext{Domain: p.Domain, Scopes: p.ScopeList(), Endpoints: p.Endpoints, Check: core.CheckToken})
		}
		out := make([]core.MailboxResult, len(mailboxes))
		for i, m := range mailboxes {
			out[i] = core.MailboxResult{Mailbox: m, Finding: f}
			if on != nil {
				r := out[i]
				on(runEvent{Kind: evFinished, Mailbox: m, Result: &r})
			}
		}
		return out
	}
	opts := core.RunOptions{Checks: checks, Concurrency: core.DefaultConcurrency}
	if on != nil {
		opts.OnEvent = func(ev core.Event) {
			k := evStarted
			switch ev.Kind {
			case core.EventCheckDone:
				k = evCheckDone
			case core.EventFinished:
				k = evFinished
			}
			on(runEvent{Kind: k, Mailbox: ev.Mailbox, Check: ev.Check, Result: ev.Result})
		}
	}
	return core.RunAll(ctx, t, mailboxes, opts)
}
