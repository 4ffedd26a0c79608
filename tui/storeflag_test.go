package tui

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// TestSummaryCommandsNameTheStore: the token, export and proxy commands the
// summary shows must find the store the wizard wrote. A wizard run with
// --db (or a relative MAILOAUTH_DB, or over SSH, where the administrator's
// shell has another default) showed a bare "mailoauth token ADDR", which
// looks in the default store and finds nothing.
func TestSummaryCommandsNameTheStore(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_DATA_HOME", home)
	t.Setenv("MAILOAUTH_DB", "")
	def := store.DefaultPath()
	other := filepath.Join(t.TempDir(), "srv.db")
	for _, c := range []struct {
		name   string
		path   string
		remote bool
		want   string
	}{
		{"the default store", def, false, ""},
		{"--db elsewhere", other, false, other},
		{"the default store over SSH", def, true, def},
	} {
		if got := storeFlag(c.path, c.remote); got != c.want {
			t.Errorf("%s: storeFlag(%q, remote %v) = %q, want %q", c.name, c.path, c.remote, got, c.want)
		}
	}

	st, err := store.Open(other, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := New(Config{Store: st})
	defer Close(m)
	if got, want := tokenCommand(m.(model).w.common), "mailoauth --db "+other+" token "; !strings.HasPrefix(got, want) {
		t.Errorf("a wizard on the store %s shows the token command %q", other, got)
	}
}

// TestSummaryExportCommandNamesTheProfile: with a second profile in the
// store (a typo'd domain is enough) a bare `mailoauth export` exits 2
// asking for --profile; the command the summary shows names its profile.
func TestSummaryExportCommandNamesTheProfile(t *testing.T) {
	be := withProfile(acmeProfile(t, 7))
	_ = be.SaveResults("acme.example", []core.MailboxResult{{Mailbox: "administrator@acme.example", OK: true}})
	d := newDriver(t, fakeDeps(be, &fakeEngine{authorized: true}, "acme.example"), 100, 40)
	d.mustShow("mailoauth export --profile acme.example --format json")
}
