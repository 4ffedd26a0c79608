package tui

import (
	"context"
	"crypto/rsa"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
)

// backend is what the wizard needs from the store. store.Store satisfies it
// through storeBackend (wire.go); tests use a fake.
type backend interface {
	ListProfiles() ([]core.Profile, error)
	// ProfileStates is where each profile's work stands (store.ProfileStates).
	ProfileStates() ([]core.ProfileState, error)
	// DeleteProfile backs the store up, then deletes the profile with its
	// mailboxes, tokens and results; it returns the backup's path.
	DeleteProfile(domain string) (backup string, err error)
	// SyncProfile saves p and returns what the store then holds. When
	// someone else saved the profile since this wizard read it and p
	// changes none of their settings (store.RebaseProfile), p's progress is
	// saved on top of theirs and others says who changed what; otherwise
	// the error matches store.ErrConflict.
	SyncProfile(p core.Profile) (saved core.Profile, others string, err error)
	Mailboxes(domain string) ([]core.Mailbox, error)
	PutMailboxes(domain string, ms []core.Mailbox) error
	DeleteMailbox(domain, email string) error
	SaveResults(domain string, rs []core.MailboxResult) error
	Results(domain string) (map[string]core.MailboxResult, error)
	// RecentHistory is the last perCheck runs of each mailbox's checks.
	RecentHistory(domain string, perCheck int) ([]core.HistoryEntry, error)
	// TokenCache is the domain's token cache; on the OAuth client path it
	// also keeps the refresh tokens (core.RefreshTokenStore).
	TokenCache(domain string) core.TokenCache
	// ConsentStates is every stored consent of the domain for the client ID.
	ConsentStates(domain, clientID string) (map[string]core.ConsentState, error)
	// PendingUpgrades is the mailboxes still on their legacy password.
	PendingUpgrades(domain string) ([]string, error)
	// HasProxyPassword and SetProxyPassword are the mailboxes' passwords
	// for mailoauth proxy (only the argon2id hash is kept).
	HasProxyPassword(domain, mailbox string) (bool, error)
	SetProxyPassword(domain, mailbox, hash string) error
	// ProxyCertificate is the certificate mailoauth proxy keeps in the
	// store (store.ProxyCertificate); found is false before the proxy's
	// first start or `mailoauth proxy cert` made one.
	ProxyCertificate() (certPEM, keyPEM []byte, found bool, err error)
}

// engine runs the live checks: core.Run (wire.go); the verify action of
// the authorize step is a token check of the default sender. Tests use
// fakes.
type engine interface {
	Run(ctx context.Context, req core.RunRequest) (core.RunReport, error)
}

// sandboxHooks are the sandbox's values for prefilling and its Admin console.
type sandboxHooks struct {
	Domain         string
	Sender         string
	Credential     []byte
	CredentialPath string
	Users          []string
	Endpoints      core.Endpoints
	Authorize      func(clientID string, scopes []string)
	// RegisterKey tells a freshly started sandbox about a key stored by an
	// earlier run, as Google remembers the keys of a service account.
	RegisterKey func(clientEmail, clientID string, pub *rsa.PublicKey, keyID string)
	// ApproveConsent answers a consent URL as its owner choosing Allow
	// (Sandbox.ApproveConsent): the address the browser ends on.
	ApproveConsent func(consentURL string) (string, error)
	// ClientJSON and ClientPath are the sandbox's OAuth client (type web).
	ClientJSON []byte
	ClientPath string
}

// deps is everything the root model is built from.
type deps struct {
	backend backend
	engine  engine
	sandbox *sandboxHooks
	// dbPath is the store the commands the summary shows name with --db
	// ("" when a plain mailoauth finds it; storeFlag).
	dbPath  string
	profile string
	// upgrade is Config.Upgrade; upgradeLines and upgradeRisks are
	// Config.UpgradeSummary and Config.UpgradeRisks.
	upgrade      bool
	upgradeLines []string
	upgradeRisks []*core.Finding
	// finish is how a run in upgrade mode switches the mailboxes that
	// passed to OAuth (nil: none does)
	finish *core.RunUpgrade
	// remote is Config.Remote: consent by paste-back, as the browser runs
	// on another machine than the wizard's loopback listener.
	remote bool
	// openBrowser opens a consent URL on a local desktop (consent.OpenBrowser);
	// nil never tries.
	openBrowser func(string) bool
	// noColor and dark fix the styles (tests); nil means detect.
	noColor *bool
	// tick schedules a timer message (tea.Tick); tests replace it to step
	// the "keep checking" countdown by hand.
	tick func(time.Duration, func(time.Time) tea.Msg) tea.Cmd
	// clock is the consent's clock (consent.Options.Clock; nil: time.Now);
	// the screenshot test fixes it, so the token's expiry it shows stays.
	clock func() time.Time
}
