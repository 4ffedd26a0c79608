package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
	"github.com/mailoauth/mailoauth/store"
)

var errHelpShown = errors.New("help shown")

// newFlags returns a flag set with the global flags every command takes.
func (a *app) newFlags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.dbPath, "db", a.dbPath, "store path (default $MAILOAUTH_DB, else ~/.local/share/mailoauth/mailoauth.db)")
	fs.StringVar(&a.profile, "profile", a.profile, "the domain profile to use when the store holds several")
	fs.Usage = func() {
		fmt.Fprintf(a.stdout, "Usage: mailoauth %s\n\nFlags:\n", synopsis)
		fs.SetOutput(a.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses flags that may come before, between or after positional
// arguments, and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) { // flag has printed the usage already
				return nil, errHelpShown
			}
			return nil, usagef("%v; run `mailoauth %s -h` for its flags", err, fs.Name())
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// openStore opens the store named by --db, $MAILOAUTH_DB or the default.
func (a *app) openStore() (*store.Store, error) {
	path := a.dbPath
	if path == "" {
		path = store.DefaultPath()
	}
	return store.Open(path, store.Options{})
}

// openProfile opens the store and picks the current profile; the caller
// closes the store.
func (a *app) openProfile() (*store.Store, core.Profile, error) {
	st, err := a.openStore()
	if err != nil {
		return nil, core.Profile{}, err
	}
	p, err := a.currentProfile(st)
	if err != nil {
		st.Close()
		return nil, core.Profile{}, err
	}
	return st, p, nil
}

// currentProfile picks the profile named by --profile, or the only one.
func (a *app) currentProfile(st *store.Store) (core.Profile, error) {
	if a.profile != "" {
		d, err := core.NormalizeDomain(a.profile)
		if err != nil {
			return core.Profile{}, err
		}
		return st.Profile(d)
	}
	ps, err := st.ListProfiles()
	if err != nil {
		return core.Profile{}, err
	}
	switch len(ps) {
	case 0:
		return core.Profile{}, core.Inputf("the store %s holds no domain yet; run `mailoauth setup --domain yourcompany.example --sender administrator@yourcompany.example --key service-account.json` or `mailoauth wizard` first", st.Path())
	case 1:
		return ps[0], nil
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Domain)
	}
	return core.Profile{}, core.Inputf("the store holds several domains (%s); choose one with --profile DOMAIN", strings.Join(names, ", "))
}

func actor() string { return store.LocalActor("cli") }

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

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
