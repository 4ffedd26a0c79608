package tui

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
	"github.com/mailoauth/mailoauth/store"
)

// startSandbox starts a sandbox for one test; it closes when the test ends.
func startSandbox(t testing.TB, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

// sandboxWithStore starts a sandbox with opts and opens a new store, for
// one test: what `mailoauth wizard --sandbox` runs on. It returns the
// store's path too.
func sandboxWithStore(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, *store.Store, string) {
	t.Helper()
	sb := startSandbox(t, opts)
	st, path := openTestStore(t, "mailoauth.db")
	return sb, st, path
}

// openTestStore opens a new store named name in a temporary directory for
// one test and returns it with its path; it closes when the test ends. Its
// sealing key is the one beside it, never one from the environment.
func openTestStore(t testing.TB, name string) (*store.Store, string) {
	t.Helper()
	t.Setenv(store.KeyEnv, "")
	path := filepath.Join(t.TempDir(), name)
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, path
}

// sandboxProfile is the profile `mailoauth setup` stores for the sandbox
// sb (domain demo.example) with the credential cred.
func sandboxProfile(sb *sandbox.Sandbox, cred []byte) core.Profile {
	return core.Profile{Domain: "demo.example", DefaultSender: "admin@demo.example", Credential: cred,
		Scopes: []string{core.ScopeMail}, Endpoints: sb.Endpoints()}
}

// saveSandboxSetup stores p and, as a mailbox import does, a mailbox for
// each of sb's users, as actor; it returns the mailboxes.
func saveSandboxSetup(t *testing.T, st *store.Store, sb *sandbox.Sandbox, p core.Profile, actor string) []core.Mailbox {
	t.Helper()
	if err := st.SaveProfile(p, actor); err != nil {
		t.Fatal(err)
	}
	var ms []core.Mailbox
	for _, u := range sb.Users() {
		ms = append(ms, core.Mailbox{Email: u, OwnerKind: core.OwnerUser})
	}
	if err := st.PutMailboxes(p.Domain, ms, actor); err != nil {
		t.Fatal(err)
	}
	return ms
}

// toCredentialsStep walks a new profile, with the domain the wizard
// offers, from the profile list to the credentials step.
func toCredentialsStep(h *harness) {
	h.t.Helper()
	h.walk(toDomainStep(enter(), "How will the product sign in")...)
}

// toAuthorizeStep walks a new profile on with the service account and the
// key the wizard offers (the sandbox's) to the authorize step.
func toAuthorizeStep(h *harness) {
	h.t.Helper()
	toCredentialsStep(h)
	h.walk(enter(), "Fingerprint", enter(), "Authorize the scope")
}

// waitRunDone waits until the test step reports want with nothing left to go.
func waitRunDone(h *harness, want string) {
	h.waitUntil(want, func(s string) bool { return strings.Contains(s, want) && !strings.Contains(s, "to go") })
}
