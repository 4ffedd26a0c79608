package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// fakeBackend is an in-memory store.
type fakeBackend struct {
	mu       sync.Mutex
	profiles map[string]core.Profile
	boxes    map[string]map[string]core.Mailbox
	results  map[string]map[string]core.MailboxResult
	history  map[string][]core.HistoryEntry
	caches   map[string]*fakeCache
	proxyPW  map[string]string // "domain/mailbox" -> hash
	// the proxy's certificate and key (PEM), nil before one is made
	proxyCert, proxyKey []byte
}

func (f *fakeBackend) ProxyCertificate() (certPEM, keyPEM []byte, found bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.proxyCert, f.proxyKey, f.proxyCert != nil, nil
}

func (f *fakeBackend) HasProxyPassword(domain, mailbox string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.proxyPW[domain+"/"+mailbox]
	return ok, nil
}

func (f *fakeBackend) SetProxyPassword(domain, mailbox, hash string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.proxyPW == nil {
		f.proxyPW = map[string]string{}
	}
	f.proxyPW[domain+"/"+mailbox] = hash
	return nil
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{profiles: map[string]core.Profile{}, boxes: map[string]map[string]core.Mailbox{},
		results: map[string]map[string]core.MailboxResult{}}
}

func (f *fakeBackend) ListProfiles() ([]core.Profile, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []core.Profile
	for _, p := range f.profiles {
		out = append(out, p)
	}
	return out, nil
}
func (f *fakeBackend) ProfileStates() ([]core.ProfileState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []core.ProfileState
	for d, p := range f.profiles {
		st := core.ProfileState{Domain: d, DefaultSender: p.DefaultSender, Mailboxes: len(f.boxes[d]), WizardStep: p.WizardStep}
		if len(p.Credential) > 0 {
			st.Kind = core.SniffCredentialKind(p.Credential)
		}
		held := map[string]bool{p.DefaultSender: true}
		for m := range f.boxes[d] {
			held[m] = true
		}
		for m := range held {
			if r, ok := f.results[d][m]; ok {
				st.Count(r)
			} else {
				st.Untested++
			}
		}
		out = append(out, st)
	}
	return out, nil
}
func (f *fakeBackend) DeleteProfile(domain string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.profiles, domain)
	delete(f.boxes, domain)
	delete(f.results, domain)
	return "/fake/mailoauth.db.bak", nil
}
func (f *fakeBackend) PendingUpgrades(string) ([]string, error) { return nil, nil }
func (f *fakeBackend) SyncProfile(p core.Profile) (core.Profile, string, error) {
	return p, "", f.SaveProfile(p)
}
func (f *fakeBackend) SaveProfile(p core.Profile) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.profiles[p.Domain] = p
	return nil
}
func (f *fakeBackend) Mailboxes(domain string) ([]core.Mailbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []core.Mailbox
	for _, m := range f.boxes[domain] {
		out = append(out, m)
	}
	return out, nil
}
func (f *fakeBackend) PutMailboxes(domain string, ms []core.Mailbox) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.boxes[domain] == nil {
		f.boxes[domain] = map[string]core.Mailbox{}
	}
	for _, m := range ms {
		f.boxes[domain][m.Email] = m
	}
	return nil
}
func (f *fakeBackend) DeleteMailbox(domain, email string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.boxes[domain], email)
	return nil
}
func (f *fakeBackend) SaveResults(domain string, rs []core.MailboxResult) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.results[domain] == nil {
		f.results[domain] = map[string]core.MailboxResult{}
	}
	if f.history == nil {
		f.history = map[string][]core.HistoryEntry{}
	}
	for _, r := range rs {
		f.results[domain][r.Mailbox] = r
		f.history[domain] = append(f.history[domain], core.HistoryEntries(r)...)
	}
	return nil
}

// RecentHistory keeps what SaveResults added, as the store does (without
// carrying a failure's start).
func (f *fakeBackend) RecentHistory(domain string, perCheck int) ([]core.HistoryEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	count := map[string]int{}
	var rev []core.HistoryEntry
	for i := len(f.history[domain]) - 1; i >= 0; i-- {
		e := f.history[domain][i]
		if k := e.Mailbox + " " + string(e.Check); count[k] < perCheck {
			count[k]++
			rev = append(rev, e)
		}
	}
	slices.Reverse(rev)
	return rev, nil
}
func (f *fakeBackend) Results(domain string) (map[string]core.MailboxResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]core.MailboxResult{}
	for k, v := range f.results[domain] {
		out[k] = v
	}
	return out, nil
}

func (f *fakeBackend) TokenCache(domain string) core.TokenCache {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.caches == nil {
		f.caches = map[string]*fakeCache{}
	}
	c := f.caches[domain]
	if c == nil {
		c = &fakeCache{}
		f.caches[domain] = c
	}
	return c
}

func (f *fakeBackend) ConsentStates(domain, clientID string) (map[string]core.ConsentState, error) {
	c := f.TokenCache(domain).(*fakeCache)
	c.rmu.Lock()
	var boxes []string
	for m := range c.refresh {
		boxes = append(boxes, m)
	}
	c.rmu.Unlock()
	out := map[string]core.ConsentState{}
	for _, m := range boxes {
		out[m] = core.ConsentOf(c, clientID, m)
	}
	return out, nil
}

// fakeCache is a token cache that keeps refresh tokens too, as the store's.
type fakeCache struct {
	core.MemoryTokenCache
	rmu     sync.Mutex
	refresh map[string]core.RefreshToken
}

func (c *fakeCache) LoadRefreshToken(mailbox string) (core.RefreshToken, bool, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	rt, ok := c.refresh[strings.ToLower(mailbox)]
	return rt, ok, nil
}
func (c *fakeCache) SaveRefreshToken(rt core.RefreshToken) error {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.refresh == nil {
		c.refresh = map[string]core.RefreshToken{}
	}
	c.refresh[strings.ToLower(rt.Mailbox)] = rt
	return nil
}
func (c *fakeCache) DeleteRefreshToken(mailbox string) error {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	delete(c.refresh, strings.ToLower(mailbox))
	return nil
}

// fakeEngine passes every mailbox unless delegation is missing or the
// address contains "broken".
type fakeEngine struct {
	mu         sync.Mutex
	authorized bool
	// what the last run was asked for, and how many runs there were
	runs          int
	lastMailboxes []string
	lastChecks    []core.CheckName
}

func (e *fakeEngine) setAuthorized(v bool) {
	e.mu.Lock()
	e.authorized = v
	e.mu.Unlock()
}

func (e *fakeEngine) last() (runs int, mailboxes []string, checks []core.CheckName) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.runs, e.lastMailboxes, e.lastChecks
}

// Run is core.Run's contract on canned results: events, results in input
// order, saved through req.Results.
func (e *fakeEngine) Run(ctx context.Context, req core.RunRequest) (core.RunReport, error) {
	mailboxes, checks, on := req.Mailboxes, req.Checks, req.OnEvent
	e.mu.Lock()
	auth := e.authorized
	e.runs++
	e.lastMailboxes = append([]string(nil), mailboxes...)
	e.lastChecks = append([]core.CheckName(nil), checks...)
	e.mu.Unlock()
	out := make([]core.MailboxResult, len(mailboxes))
	for i, m := range mailboxes {
		if on != nil {
			on(core.Event{Kind: core.EventStarted, Mailbox: m})
		}
		r := core.MailboxResult{Mailbox: m, OK: true, CheckedAt: time.Unix(0, 0)}
		for _, c := range checks {
			cr := core.CheckResult{Name: c, OK: true, Duration: 10 * time.Millisecond}
			switch {
			case !auth:
				cr.OK = false
				r.Finding = core.NewFinding(core.CodeDelegationNotAuthorized,
					fmt.Sprintf("Client %s is not authorized for %s in the Admin console.", "104715287395062714451", core.ScopeMail),
					"In admin.google.com > Security > API controls > Domain-wide delegation, add the client ID with the scope https://mail.google.com/.")
			case strings.Contains(m, "broken") && c == core.CheckIMAP:
				cr.OK = false
				r.Finding = core.NewFinding(core.CodeIMAPDisabled, "IMAP is disabled for "+m+".",
					"In admin.google.com > Apps > Google Workspace > Gmail > End User Access, enable POP and IMAP access for the user.")
			}
			r.Checks = append(r.Checks, cr)
			if on != nil {
				c := cr
				on(core.Event{Kind: core.EventCheckDone, Mailbox: m, Check: &c})
			}
			if !cr.OK {
				r.OK = false
				break
			}
		}
		out[i] = r
		if on != nil {
			rr := r
			on(core.Event{Kind: core.EventFinished, Mailbox: m, Result: &rr})
		}
	}
	rep := core.RunReport{Results: out}
	if req.Results != nil && len(out) > 0 {
		rep.SaveErr = req.Results.SaveResults(req.Profile.Domain, out)
	}
	return rep, nil
}

// readTestdata is the file testdata/name.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readTestKey is the test service-account key.
func readTestKey(t testing.TB) []byte { return readTestdata(t, "service-account.json") }

// acmeProfile is a profile stored up to step (1-based WizardStep).
func acmeProfile(t testing.TB, step int) core.Profile {
	return core.Profile{Domain: "acme.example", DefaultSender: "administrator@acme.example",
		Credential: readTestKey(t), Scopes: []string{core.ScopeMail}, WizardStep: step}
}

// withProfile is a fake store holding p.
func withProfile(p core.Profile) *fakeBackend {
	be := newFakeBackend()
	_ = be.SaveProfile(p)
	return be
}

// withoutCredential is a fake store holding acme.example at step 3 (the
// credentials) without a credential.
func withoutCredential(t testing.TB) *fakeBackend {
	p := acmeProfile(t, 3)
	p.Credential = nil
	return withProfile(p)
}

// startAcme starts the wizard on be at w×h, resuming acme.example, and
// waits until the screen shows want.
func startAcme(t *testing.T, be *fakeBackend, w, h int, want string) *harness {
	t.Helper()
	hs := start(t, newModel(fakeDeps(be, &fakeEngine{}, "acme.example")), w, h)
	hs.waitFor(want)
	return hs
}

func fakeDeps(be backend, eng *fakeEngine, profile string) deps {
	nc := true
	return deps{backend: be, engine: eng, profile: profile, noColor: &nc}
}
