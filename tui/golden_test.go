package tui

import (
	"fmt"
	"strings"
	"testing"

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

// goldenWalk compares the final frame of a walk at every golden size with
// the test's golden files: walk starts the wizard at W×H and leaves it on
// the screen to compare.
func goldenWalk(t *testing.T, walk func(t *testing.T, W, H int) *harness) {
	eachSize(t, func(t *testing.T, W, H int) { requireGolden(t, walk(t, W, H).final()) })
}

// goldenScript is goldenWalk of a script (see harness.walk) played on a
// wizard resuming profile ("" for none) from the fake store newBackend
// makes, a new one for each size.
func goldenScript(t *testing.T, newBackend func(testing.TB) *fakeBackend, profile string, script ...any) {
	goldenWalk(t, func(t *testing.T, W, H int) *harness {
		h := start(t, newModel(fakeDeps(newBackend(t), &fakeEngine{}, profile)), W, H)
		h.walk(script...)
		return h
	})
}

// emptyBackend is a fake store without profiles.
func emptyBackend(testing.TB) *fakeBackend { return newFakeBackend() }

// acmeAt is a fake store holding acme.example with a service-account key,
// stored up to step.
func acmeAt(step int) func(testing.TB) *fakeBackend {
	return func(t testing.TB) *fakeBackend { return withProfile(acmeProfile(t, step)) }
}

// toDomainStep is the script from the profile list to a new profile's
// domain step, followed by more.
func toDomainStep(more ...any) []any {
	return append([]any{"Add a new domain profile", enter(), "Default sender"}, more...)
}

func TestGoldenProfile(t *testing.T) {
	goldenScript(t, emptyBackend, "", "Add a new domain profile")
}

func TestGoldenProfileList(t *testing.T) {
	goldenScript(t, func(t testing.TB) *fakeBackend {
		be := withProfile(acmeProfile(t, 7))
		p := acmeProfile(t, 3)
		p.Domain = "branch.example"
		_ = be.SaveProfile(p)
		return be
	}, "", "Add a new domain profile")
}

func TestGoldenDomain(t *testing.T) {
	goldenScript(t, emptyBackend, "", toDomainStep(typed("Acme.Example"), "administrator@acme.example")...)
}

func TestGoldenDomainError(t *testing.T) {
	// a service-account profile keeps its sender in its domain (a new
	// profile takes an outside one: its credential is not chosen yet);
	// its key is loaded, so it resumes at step 4: back to step 2
	goldenScript(t, acmeAt(2), "acme.example", "Authorize the scope", keyCode(tea.KeyEscape),
		"Service-account key", keyCode(tea.KeyEscape), "How will the product sign in", keyCode(tea.KeyEscape),
		"Default sender", ctrlKey('u'), typed("bob@other.example"), enter(), "not in the domain")
}

func TestGoldenCredentials(t *testing.T) {
	// the service account, the first choice; Enter loads and, the key
	// being good, saves and moves on: go back to see it
	goldenScript(t, withoutCredential, "acme.example", "How will the product sign in", enter(),
		"Service-account key", typed("testdata/service-account.json"), enter(),
		"Authorize the scope", keyCode(tea.KeyEscape), "Fingerprint")
}

func TestGoldenCredentialsWrongKind(t *testing.T) {
	goldenScript(t, withoutCredential, "acme.example", "How will the product sign in", enter(),
		"Service-account key", typed("testdata/oauth-client.json"), enter(), "OAuth client JSON")
}

func TestGoldenAuthorize(t *testing.T) {
	goldenScript(t, acmeAt(4), "acme.example", "Authorize the scope", enter(), "Fix:")
}

func TestGoldenMailboxes(t *testing.T) {
	goldenScript(t, func(t testing.TB) *fakeBackend {
		be := withProfile(acmeProfile(t, 5))
		var ms []core.Mailbox
		for i := range 300 {
			kind := core.OwnerKinds[i%len(core.OwnerKinds)]
			ms = append(ms, core.Mailbox{Email: fmt.Sprintf("user%03d@acme.example", i), DisplayName: fmt.Sprintf("User %03d", i),
				OwnerKind: kind, OwnerName: fmt.Sprintf("%s %d", kind, i)})
		}
		_ = be.PutMailboxes("acme.example", ms)
		return be
	}, "acme.example", "Assign mailboxes", runeKey('/'), typed("user01"), enter(),
		keyCode(tea.KeyDown), runeKey(' '), "1 selected")
}

func TestGoldenMailboxesImportErrors(t *testing.T) {
	goldenScript(t, acmeAt(5), "acme.example", "Assign mailboxes", runeKey('i'), typed("testdata/bad.csv"), enter(), "line 4")
}

func TestGoldenMailboxesAdd(t *testing.T) {
	goldenScript(t, acmeAt(5), "acme.example", "Assign mailboxes", runeKey('a'), typed("sales@elsewhere.example"), enter(),
		"not in the domain")
}

func TestGoldenTest(t *testing.T) {
	goldenWalk(t, func(t *testing.T, W, H int) *harness {
		be := withProfile(acmeProfile(t, 6))
		_ = be.PutMailboxes("acme.example", []core.Mailbox{
			{Email: "administrator@acme.example", OwnerKind: core.OwnerUser},
			{Email: "broken@acme.example", OwnerKind: core.OwnerWorkgroup},
			{Email: "sales@acme.example", OwnerKind: core.OwnerACD},
		})
		h := start(t, newModel(fakeDeps(be, &fakeEngine{authorized: true}, "acme.example")), W, H)
		h.walk("Test the mailboxes", enter())
		// The summary line shows before the run is over; the help line
		// changes from "esc cancel" when it is.
		h.waitUntil("the finished run", func(s string) bool {
			return strings.Contains(s, "2 passed, 1 failed") && strings.Contains(s, "r run again")
		})
		return h
	})
}

func TestGoldenSummary(t *testing.T) {
	goldenScript(t, func(t testing.TB) *fakeBackend {
		be := withProfile(acmeProfile(t, 7))
		_ = be.PutMailboxes("acme.example", []core.Mailbox{{Email: "administrator@acme.example", OwnerKind: core.OwnerUser}})
		_ = be.SaveResults("acme.example", []core.MailboxResult{{Mailbox: "administrator@acme.example", OK: true}})
		return be
	}, "acme.example", "is configured")
}

func TestGoldenQuitConfirm(t *testing.T) {
	goldenScript(t, emptyBackend, "", toDomainStep(typed("acme.example"), ctrlKey('c'), "Quit with unsaved changes?")...)
}
