package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/mailoauth/mailoauth/core"
)

// Golden files hold the final frame of each step at 80x24 and 120x40 (ANSI stripped);
// refresh them with `go test ./tui/... -update`.

func requireGolden(t *testing.T, frame string) {
	t.Helper()
	lines := strings.Split(frame, "\n")
	if last := lines[len(lines)-1]; strings.Contains(last, "…") || ansiWidth(last) > helpWidth {
		t.Errorf("the help line is cut or wider than %d columns: %q", helpWidth, last)
	}
	golden.RequireEqual(t, []byte(frame))
}

// goldenSizes are the terminal sizes every step is checked at: the
// smallest supported and a common large one.
var goldenSizes = [][2]int{{80, 24}, {120, 40}}

// eachSize runs f as a subtest per size; golden files are
// testdata/TestGoldenX/80x24.golden and .../120x40.golden.
func eachSize(t *testing.T, f func(t *testing.T, W, H int)) {
	for _, sz := range goldenSizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) { f(t, sz[0], sz[1]) })
	}
}

func TestGoldenProfile(t *testing.T) {
	eachSize(t, func(t *testing.T, W, H int) {
		be := newFakeBackend()
		h := start(t, newModel(fakeDeps(be, &fakeEngine{}, "")), W, H)
		h.waitFor("Add a new domain profile", 3*time.Second)
		requireGolden(t, h.final())
	})
}

func TestGoldenProfileList(t *testing.T) {
	eachSize(t, func(t *testing.T, W, H int) {
		be := withProfile(acmeProfile(t, 7))
		p := acmeProfile(t, 3)
		p.Domain = "branch.example"
		_ = be.SaveProfile(p)
		h := start(t, newModel(fakeDeps(be, &fakeEngine{}, "")), W, H)
		h.waitFor("Add a new domain profile", 3*time.Second)
		requireGolden(t, h.final())
	})
}

func TestGoldenDomain(t *testing.T) {
	eachSize(t, func(t *testing.T, W, H int) {
		h := start(t, newModel(fakeDeps(newFakeBackend(), &fakeEngine{}, "")), W, H)
		h.waitFor("Add a new domain profile", 3*time.Second)
		h.send(enter())
		h.waitFor("Default sender", 3*time.Second)
		h.typeText("Acme.Example")
		h.waitFor("administrator@acme.example", 3*time.Second)
		requireGolden(t, h.final())
	})
}

func TestGoldenDomainError(t *testing.T) {
	eachSize(t, func(t *testing.T, W, H int) {
		// a service-account profile keeps its sender in its domain (a new
		// profile takes an outside one: its credential is not chosen yet)
		be := withProfile(acmeProfile(t, 2))
		h := start(t, newModel(fakeDeps(be, &fakeEngine{}, "acme.example")), W, H)
		// its key is loaded, so it resumes at step 4: back to step 2
		h.waitFor("Authorize the scope", 3*time.Second)
		h.send(keyCode(tea.KeyEscape))
		h.waitFor("Service-account key", 3*time.Second)
		h.send(keyCode(tea.KeyEscape))
		h.waitFor("How will the product sign in", 3*time.Second)
		h.send(keyCode(tea.KeyEscape))
		h.waitFor("Default sender", 3*time.Second)
		h.send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
		h.typeText("bob@other.example")
		h.send(enter())
		h.waitFor("not in the domain", 3*time.Second)
		requireGolden(t, h.final())
	})
}

func TestGoldenCredentials(t *testing.T) {
	eachSize(t, func(t *testing.T, W, H int) {
		be := withoutCredential(t)
		h := startAcme(t, be, W, H, "How will the product sign in")
		h.send(enter()) // service account, the first choice
		h.waitFor("Service-account key", 3*time.Second)
		h.typeText("testdata/service-account.json")
		h.send(enter())
		// Enter loads and, the key being good, saves and moves on: go back to see it
		h.waitFor("Authorize the scope", 3*time.Second)
		h.send(tea.KeyPressMsg{Code: tea.KeyEscape})
		h.waitFor("Fingerprint", 3*time.Second)
		requireGolden(t, h.final())
	})
}

func TestGoldenCredentialsWrongKind(t *testing.T) {
	eachSize(t, func(t *testing.T, W, H int) {
		be := withoutCredential(t)
		h := startAcme(t, be, W, H, "How will the product sign in")
		h.send(enter()) // service account, the first choice
		h.waitFor("Service-account key", 3*time.Second)
		h.typeText("testdata/oauth-client.json")
		h.send(enter())
		h.waitFor("OAuth client JSON", 3*time.Second)
		requireGolden(t, h.final())
	})
}

func TestGoldenAuthorize(t *testing.T) {
	eachSize(t, func(t *testing.T, W, H int) {
		be := withProfile(acmeProfile(t, 4))
		h := startAcme(t, be, W, H, "Authorize the scope")
		h.send(enter())
		h.waitFor("Fix:", 3*time.Second)
		requireGolden(t, h.final())
	})
}

func TestGoldenMailboxes(t *testing.T) {
	eachSize(t, func(t *testing.T, W, H int) {
		be := withProfile(acmeProfile(t, 5))
		var ms []core.Mailbox
		for i := range 300 {
			kind := core.OwnerKinds[i%len(core.OwnerKinds)]
			ms = append(ms, core.Mailbox{Email: fmt.Sprintf("user%03d@acme.example", i), DisplayName: fmt.Sprintf("User %03d", i),
				OwnerKind: kind, OwnerName: fmt.Sprintf("%s %d", kind, i)})
		}
		_ = be.PutMailboxes("acme.example", ms)
		h := startAcme(t, be, W, H, "Assign mailboxes")
		h.send(runeKey('/'))
		h.typeText("user01")
		h.send(enter())
		h.send(keyCode(tea.KeyDown), runeKey(' '))
		h.waitFor("1 selected", 3*time.Second)
		requireGolden(t, h.final())
	})
}

func TestGoldenMailboxesImportErrors(t *testing.T) {
	eachSize(t, func(t *testing.T, W, H int) {
		be := withProfile(acmeProfile(t, 5))
		h := startAcme(t, be, W, H, "Assign mailboxes")
		h.send(runeKey('i'))
		h.typeText("testdata/bad.csv")
		h.send(enter())
		h.waitFor("line 4", 3*time.Second)
		requireGolden(t, h.final())
	})
}

func TestGoldenMailboxesAdd(t *testing.T) {
	eachSize(t, func(t *testing.T, W, H int) {
		be := withProfile(acmeProfile(t, 5))
		h := startAcme(t, be, W, H, "Assign mailboxes")
		h.send(runeKey('a'))
		h.typeText("sales@elsewhere.example")
		h.send(enter())
		h.waitFor("not in the domain", 3*time.Second)
		requireGolden(t, h.final())
	})
}

func TestGoldenTest(t *testing.T) {
	eachSize(t, func(t *testing.T, W, H int) {
		be := withProfile(acmeProfile(t, 6))
		_ = be.PutMailboxes("acme.example", []core.Mailbox{
			{Email: "administrator@acme.example", OwnerKind: core.OwnerUser},
			{Email: "broken@acme.example", OwnerKind: core.OwnerWorkgroup},
			{Email: "sales@acme.example", OwnerKind: core.OwnerACD},
		})
		h := start(t, newModel(fakeDeps(be, &fakeEngine{authorized: true}, "acme.example")), W, H)
		h.waitFor("Test the mailboxes", 3*time.Second)
		h.send(enter())
		// The summary line shows before the run is over; the help line
		// changes from "esc cancel" when it is.
		h.waitUntil("the finished run", func(s string) bool {
			return strings.Contains(s, "2 passed, 1 failed") && strings.Contains(s, "r run again")
		}, 5*time.Second)
		requireGolden(t, h.final())
	})
}

func TestGoldenSummary(t *testing.T) {
	eachSize(t, func(t *testing.T, W, H int) {
		be := withProfile(acmeProfile(t, 7))
		_ = be.PutMailboxes("acme.example", []core.Mailbox{{Email: "administrator@acme.example", OwnerKind: core.OwnerUser}})
		_ = be.SaveResults("acme.example", []core.MailboxResult{{Mailbox: "administrator@acme.example", OK: true}})
		h := startAcme(t, be, W, H, "is configured")
		requireGolden(t, h.final())
	})
}

func TestGoldenQuitConfirm(t *testing.T) {
	eachSize(t, func(t *testing.T, W, H int) {
		h := start(t, newModel(fakeDeps(newFakeBackend(), &fakeEngine{}, "")), W, H)
		h.waitFor("Add a new domain profile", 3*time.Second)
		h.send(enter())
		h.waitFor("Default sender", 3*time.Second)
		h.typeText("acme.example")
		h.send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
		h.waitFor("Quit with unsaved changes?", 3*time.Second)
		requireGolden(t, h.final())
	})
}
