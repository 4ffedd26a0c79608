package tui

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/consent"
	"github.com/mailoauth/mailoauth/core/sandbox"
	"github.com/mailoauth/mailoauth/store"
)

// Config is what the command line hands the wizard.
type Config struct {
	Store *store.Store
	// Actor names who made changes in the audit log, e.g. "wizard root@host".
	Actor string
	// Sandbox is non-nil in sandbox mode: every field is prefilled with its
	// values, and the key a on the authorize step authorizes the client in
	// the sandbox's Admin console.
	Sandbox *sandbox.Sandbox
	// Profile preselects a domain, optional.
	Profile string
	// Upgrade opens the wizard as the re-run / upgrade assistant (`mailoauth
	// upgrade`): the domain and mailboxes came from the legacy setup and are
	// marked done, only the credentials and their authorization are left,
	// and every pending mailbox that passes the test switches to OAuth. With
	// an OAuth client the mailbox step is not skipped: each owner's consent
	// is started there (c) before the test.
	Upgrade bool
	// UpgradeSummary and UpgradeRisks are what the legacy file held and
	// risked (core.UpgradePlan.Risks): the upgrade's first screen shows
	// them.
	UpgradeSummary []string
	UpgradeRisks   []*core.Finding
	// BeforeSwitch runs once in upgrade mode just before the first pending
	// mailbox switches to OAuth (the upgrade's backup of the store), so a
	// wizard that switches nothing leaves no backup behind.
	BeforeSwitch func() error
	// Remote marks a session whose terminal is on another machine (the SSH
	// server sets it): a consent cannot come back to this machine's
	// 127.0.0.1, so the administrator pastes the address the browser ends on.
	Remote bool
}

// New returns the wizard's root model.
func New(cfg Config) tea.Model {
	d := deps{backend: &storeBackend{s: cfg.Store, actor: cfg.Actor},
		engine: coreEngine{}, profile: cfg.Profile, upgrade: cfg.Upgrade,
		upgradeLines: cfg.UpgradeSummary, upgradeRisks: cfg.UpgradeRisks,
		remote: cfg.Remote}
	if !cfg.Remote {
		d.openBrowser = consent.OpenBrowser
	}
	if cfg.Store != nil {
		d.dbPath = storeFlag(cfg.Store.Path(), cfg.Remote)
		if cfg.Upgrade {
			d.finish = &core.RunUpgrade{Store: cfg.Store, Actor: cfg.Actor, BeforeSwitch: cfg.BeforeSwitch}
		}
	}
	if sb := cfg.Sandbox; sb != nil {
		d.sandbox = sandboxPrefill(sb)
		// the demo's consent page is the sandbox's: the a key answers it
		d.openBrowser = nil
	}
	return newModel(d)
}

// storeFlag is the store path the commands the wizard shows must name with
// --db, or "" when a plain mailoauth finds it: a store other than the
// default (the demo's temporary one, --db, a relative MAILOAUTH_DB), or any
// store of a remote session, whose administrator's shell has its own
// default.
func storeFlag(path string, remote bool) string {
	if path == "" || (!remote && path == store.DefaultPath() && filepath.IsAbs(path)) {
		return ""
	}
	return path
}

// sandboxFilesDir makes the directory for the sandbox's files that
// sandboxPrefill writes (the wizard's cleanup removes it). The screenshot
// test makes a fixed one, so the README's pictures show the same path at
// every regeneration.
var sandboxFilesDir = func() (string, error) { return os.MkdirTemp("", "mailoauth-sandbox-") }

// sandboxPrefill takes every prefilled value from the sandbox; the key is
// written to a private temporary file so the credentials step shows a path
// like it would for a real download.
func sandboxPrefill(sb *sandbox.Sandbox) *sandboxHooks {
	h := &sandboxHooks{
		Domain:         sb.Domain(),
		Sender:         "admin@" + sb.Domain(),
		Credential:     sb.ServiceAccountJSON(),
		Users:          sb.Users(),
		Endpoints:      sb.Endpoints(),
		Authorize:      sb.Authorize,
		RegisterKey:    sb.RegisterKey,
		ApproveConsent: sb.ApproveConsent,
		ClientJSON:     sb.OAuthClientJSON(),
	}
	if dir, err := sandboxFilesDir(); err == nil {
		p := filepath.Join(dir, "service-account.json")
		if os.WriteFile(p, h.Credential, 0o600) == nil {
			h.CredentialPath = p
		}
		cp := filepath.Join(dir, "oauth-client.json")
		if os.WriteFile(cp, h.ClientJSON, 0o600) == nil {
			h.ClientPath = cp
		}
		// a sandbox started without Dir names no CA file; trust its CA
		if h.Endpoints.CAFile == "" {
			ca := filepath.Join(dir, "ca.pem")
			if os.WriteFile(ca, sb.CAPEM(), 0o600) == nil {
				h.Endpoints.CAFile = ca
			}
		}
	}
	return h
}

// Close stops what a wizard made by New still runs and removes its
// temporary files; for programs not started by Run (the SSH server).
func Close(m tea.Model) {
	if mm, ok := m.(model); ok {
		mm.w.cleanup()
	}
}

// Run runs the wizard on the terminal until the user quits or ctx ends.
func Run(ctx context.Context, cfg Config, opts ...tea.ProgramOption) error {
	opts = append([]tea.ProgramOption{tea.WithContext(ctx)}, opts...)
	// a wizard started in an ssh login runs on a machine whose 127.0.0.1
	// the administrator's browser cannot reach
	if os.Getenv("SSH_CONNECTION") != "" || os.Getenv("SSH_TTY") != "" {
		cfg.Remote = true
	}
	m := New(cfg)
	defer m.(model).w.cleanup()
	_, err := tea.NewProgram(m, opts...).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}
