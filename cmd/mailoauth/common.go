package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/x/term"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
	"github.com/mailoauth/mailoauth/store"
)

// openStore opens the store named by --db, $MAILOAUTH_DB or the default,
// creating it on first use.
func (a *app) openStore() (*store.Store, error) {
	return store.Open(a.storePath(), storeOptions(store.Options{}))
}

// storeOptions is o with this program's name, which the store's sentences
// use to say "restart mailoauth" or "run mailoauth as the user that owns
// it" (it names no program of its own) in every face: the command line,
// the wizard, the watcher's log.
func storeOptions(o store.Options) store.Options {
	o.Program = "mailoauth"
	return o
}

// openExisting opens the store only when it exists: a command that reads a
// profile creates nothing at a mistyped path (exit 3, store.ErrNoStore).
func (a *app) openExisting() (*store.Store, error) {
	return store.Open(a.storePath(), storeOptions(store.Options{MustExist: true}))
}

func (a *app) storePath() string {
	if a.dbPath != "" {
		return a.dbPath
	}
	return store.DefaultPath()
}

// withStore runs fn on the existing store (openExisting) and closes it.
func (a *app) withStore(fn func(*store.Store) error) error {
	st, err := a.openExisting()
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

// openProfile opens the existing store and picks the profile the command
// works on (store.ResolveProfile: --profile, the only one, or the one that
// holds the mailboxes named); the caller closes the store.
func (a *app) openProfile(mailboxes ...string) (*store.Store, core.Profile, error) {
	st, err := a.openExisting()
	if err != nil {
		return nil, core.Profile{}, err
	}
	p, err := a.currentProfile(st, mailboxes...)
	if err != nil {
		st.Close()
		return nil, core.Profile{}, err
	}
	return st, p, nil
}

// openMailbox opens the store and the profile of the mailbox addr, and
// returns the address as the profile's mailbox rule writes it; the caller
// closes the store.
func (a *app) openMailbox(addr string) (*store.Store, core.Profile, string, error) {
	st, p, err := a.openProfile(addr)
	if err != nil {
		return nil, core.Profile{}, "", err
	}
	email, err := p.MailboxRule().Address(addr)
	if err != nil {
		st.Close()
		return nil, core.Profile{}, "", err
	}
	return st, p, email, nil
}

// openMailboxes opens the store and the profile as openProfile does, and
// lists the profile's assigned mailboxes; the caller closes the store.
func (a *app) openMailboxes() (*store.Store, core.Profile, []core.Mailbox, error) {
	st, p, err := a.openProfile()
	if err != nil {
		return nil, core.Profile{}, nil, err
	}
	boxes, err := st.Mailboxes(p.Domain)
	if err != nil {
		st.Close()
		return nil, core.Profile{}, nil, err
	}
	return st, p, boxes, nil
}

// addresses is each of addrs as the profile's mailbox rule writes it.
func addresses(p *core.Profile, addrs []string) ([]string, error) {
	var out []string
	for _, m := range addrs {
		email, err := p.MailboxRule().Address(m)
		if err != nil {
			return nil, err
		}
		out = append(out, email)
	}
	return out, nil
}

// printJSON prints v as indented JSON on stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// orEmpty is list, or an empty one for nil: JSON shows [] rather than null.
func orEmpty[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

// currentProfile picks the profile as openProfile does, in an open store.
func (a *app) currentProfile(st *store.Store, mailboxes ...string) (core.Profile, error) {
	return st.ResolveProfile(a.profile, mailboxes...)
}

func actor() string { return store.LocalActor("cli") }

// isTerminal reports a real terminal (not merely a character device such
// as /dev/null, which a script's or a service's stdin often is).
func isTerminal(f *os.File) bool { return term.IsTerminal(f.Fd()) }

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// startDemoSandbox starts the built-in Google simulator in a temporary
// directory for the wizard or the SSH server, and points --db into that
// directory unless it was given, so a demo never touches a real store.
func (a *app) startDemoSandbox(prefix string) (*sandbox.Sandbox, func(), error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot create a temporary directory for the sandbox: %v; set TMPDIR to a writable directory", err)
	}
	sb, err := sandbox.Start(sandbox.Options{Dir: dir, Users: 5})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	if a.dbPath == "" {
		a.dbPath = filepath.Join(dir, "mailoauth.db")
	}
	return sb, func() { sb.Close(); os.RemoveAll(dir) }, nil
}

// openStoreMaybeDemo opens the store, first starting the demo sandbox when
// demo is set (sb is nil otherwise); done closes the store, then the sandbox.
func (a *app) openStoreMaybeDemo(demo bool, prefix string) (sb *sandbox.Sandbox, st *store.Store, done func(), err error) {
	stop := func() {}
	if demo {
		if sb, stop, err = a.startDemoSandbox(prefix); err != nil {
			return nil, nil, nil, err
		}
	}
	if st, err = a.openStore(); err != nil {
		stop()
		return nil, nil, nil, err
	}
	return sb, st, func() { st.Close(); stop() }, nil
}
