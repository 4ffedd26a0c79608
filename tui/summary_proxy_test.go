package tui

import (
	"regexp"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/proxy"
)

// twoMailboxes is a tested profile (the wizard opens on its summary) with
// the mailboxes a@ and b@acme.example.
func twoMailboxes(t *testing.T) *fakeBackend {
	be := newFakeBackend()
	_ = be.SaveProfile(acmeProfile(t, int(numSteps)))
	_ = be.PutMailboxes("acme.example", []core.Mailbox{
		{Email: "a@acme.example", OwnerKind: core.OwnerUser},
		{Email: "b@acme.example", OwnerKind: core.OwnerUser},
	})
	return be
}

// TestSummaryProxyPage: x on the summary shows the proxy's settings for a
// product that only knows passwords; p makes the selected mailbox's proxy
// password, shown once (its hash stored, verifying it); back on the
// summary and in again, the password is no longer shown, only "set".
func TestSummaryProxyPage(t *testing.T) {
	be := twoMailboxes(t)
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	d.press(runeKey('?'))
	d.mustShow("proxy (password-only products)")
	if n := strings.Count(d.screen(), "copy command"); n != 1 {
		t.Fatalf("the full help lists t copy command %d times, want once:\n%s", n, d.screen())
	}
	d.press(runeKey('?'), runeKey('x'))
	d.mustShow("127.0.0.1:1993 STARTTLS")
	d.mustShow("127.0.0.1:1587 STARTTLS")
	// the proxy may listen elsewhere: the page says where the addresses come from
	d.mustShow("`mailoauth proxy`'s defaults, or those of")
	d.mustShow("--imap/--smtp (POP3 only: --pop3/--pop3s)")
	d.mustShow("normal password (the mailbox's proxy password)")
	// no certificate in the store yet: the command that makes one
	d.mustShow("none yet: `mailoauth proxy cert` makes it")
	d.mustShow("does the proxy's first start")
	d.mustShow("› a@acme.example")
	d.mustShow("no proxy password yet")
	d.press(keyCode(tea.KeyDown), runeKey('p'))
	pw := regexp.MustCompile(`b@acme\.example +new proxy password: *\n.*│ +([a-z0-9]{4}(-[a-z0-9]{4}){5})  \(shown once\)`).FindStringSubmatch(d.screen())
	if pw == nil {
		t.Fatalf("p should show b's new proxy password once:\n%s", d.screen())
	}
	hash := be.proxyPW["acme.example/b@acme.example"]
	if !proxy.VerifyPassword(hash, pw[1]) {
		t.Fatalf("the stored hash %q does not verify the shown password", hash)
	}
	if _, ok := be.proxyPW["acme.example/a@acme.example"]; ok {
		t.Fatal("a's password was made without asking")
	}
	d.press(keyCode(tea.KeyEscape))
	d.mustShow("In the host product (Gmail / Workspace mail settings)")
	d.press(runeKey('x'))
	d.mustNotShow(pw[1])
	if !strings.Contains(d.screen(), "set (p makes a new one)") {
		t.Fatalf("b should show as set, without its password:\n%s", d.screen())
	}
}

// TestSummaryProxyPasswordSavedOnlyWhenShown: a proxy password is saved
// only together with showing it, so leaving the page while it is being
// made (esc, or x and back) saves none; a mailbox's existing password, which
// a product may log in with, is replaced only after y, and n keeps it.
func TestSummaryProxyPasswordSavedOnlyWhenShown(t *testing.T) {
	be := twoMailboxes(t)
	oldPW, oldHash, err := proxy.NewPassword()
	if err != nil {
		t.Fatal(err)
	}
	_ = be.SetProxyPassword("acme.example", "b@acme.example", oldHash)
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	d.press(runeKey('x'))
	d.mustShow("› a@acme.example")
	for _, leave := range [][]tea.KeyPressMsg{{keyCode(tea.KeyEscape)}, {runeKey('x'), runeKey('x')}} {
		_, made := d.m.Update(runeKey('p')) // the password is being made...
		d.mustShow("making one…")
		d.press(leave...) // ...when the page is left
		d.run(made)
		if _, ok := be.proxyPW["acme.example/a@acme.example"]; ok {
			t.Fatalf("a got a proxy password nobody saw (left with %v):\n%s", leave, d.screen())
		}
		d.mustNotShow("new proxy password:")
		if len(leave) == 1 {
			d.mustShow("No new proxy password for a@acme.example")
			d.press(runeKey('x'))
		}
		d.mustShow("no proxy password yet")
	}

	d.press(keyCode(tea.KeyDown), runeKey('p'))
	d.mustShow("Replace b@acme.example's proxy password?")
	requireHelp(t, d, "proxy page, replace a password?")
	d.press(runeKey('n'))
	if be.proxyPW["acme.example/b@acme.example"] != oldHash {
		t.Fatal("n replaced b's proxy password")
	}
	d.mustNotShow("new proxy password:")
	d.mustNotShow("proxy password? Products")
	d.press(runeKey('p'), keyCode(tea.KeyEscape)) // esc keeps it too, and stays on the page
	d.mustShow("Proxy passwords")
	if be.proxyPW["acme.example/b@acme.example"] != oldHash {
		t.Fatal("esc replaced b's proxy password")
	}
	d.press(runeKey('p'), runeKey('y'))
	pw := regexp.MustCompile(`b@acme\.example +new proxy password: *\n.*│ +([a-z0-9]{4}(-[a-z0-9]{4}){5})  \(shown once\)`).FindStringSubmatch(d.screen())
	if pw == nil {
		t.Fatalf("y should replace b's proxy password and show the new one:\n%s", d.screen())
	}
	if hash := be.proxyPW["acme.example/b@acme.example"]; !proxy.VerifyPassword(hash, pw[1]) || proxy.VerifyPassword(hash, oldPW) {
		t.Fatal("after y the stored hash should verify the new password, not the old one")
	}
}

// TestSummaryProxyListScrollsWithTheCursor: with more mailboxes than the
// page has room for, the proxy page's list keeps the mailbox under the
// cursor on screen, pgdn moves it a page on (to the first mailbox not
// shown before), and a password made for the last row shows, with its
// mailbox, without the page growing past the terminal.
func TestSummaryProxyListScrollsWithTheCursor(t *testing.T) {
	be := twoMailboxes(t)
	_ = be.PutMailboxes("acme.example", manyMailboxes(12))
	boxes := []string{"a@acme.example", "b@acme.example"} // in the page's order
	for _, m := range manyMailboxes(12) {
		boxes = append(boxes, m.Email)
	}
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	d.press(runeKey('x'))
	firstPage := d.screen()
	if strings.Contains(firstPage, boxes[len(boxes)-1]) {
		t.Fatalf("the test wants a list longer than the page:\n%s", firstPage)
	}
	next := 0
	for strings.Contains(firstPage, boxes[next]) {
		next++
	}
	d.press(keyCode(tea.KeyPgDown))
	d.mustShow("› " + boxes[next])
	d.mustShow(boxes[next-1])

	d.press(keyCode(tea.KeyPgUp))
	for i := range boxes {
		d.mustShow("› " + boxes[i])
		d.mustNotShow("↓ more")
		d.press(keyCode(tea.KeyDown))
	}
	d.press(runeKey('p')) // on the last mailbox: ↓ stopped there
	last := boxes[len(boxes)-1]
	if !regexp.MustCompile(`› ` + regexp.QuoteMeta(last) + ` +new proxy password: *\n.*│ +[a-z0-9]{4}(-[a-z0-9]{4}){5}  \(shown once\)`).MatchString(d.screen()) {
		t.Fatalf("the new password of %s should show below it:\n%s", last, d.screen())
	}
	d.mustNotShow("↓ more")
}

// TestSummaryProxyPageShowsTheStoredFingerprint: once the store holds the
// proxy's certificate (`mailoauth proxy cert` or the proxy's first start
// made it), the proxy page, opened again, shows the SHA-256 fingerprint
// mailoauth proxy prints for it, for the product to pin, instead of the
// command that makes it.
func TestSummaryProxyPageShowsTheStoredFingerprint(t *testing.T) {
	st, _ := openTestStore(t, "m.db")
	if err := st.SaveProfile(acmeProfile(t, int(numSteps)), "test"); err != nil {
		t.Fatal(err)
	}
	be := &storeBackend{s: st, actor: "test"}
	_ = be.PutMailboxes("acme.example", []core.Mailbox{{Email: "a@acme.example", OwnerKind: core.OwnerUser}})
	d := newDriver(t, fakeDeps(be, &fakeEngine{}, "acme.example"), 80, 24)
	d.press(runeKey('x'))
	d.mustShow("none yet: `mailoauth proxy cert` makes it")
	if fp := shownFingerprint(d.screen()); fp != "" {
		t.Fatalf("a fingerprint %s shows before the store has a certificate:\n%s", fp, d.screen())
	}

	// what `mailoauth proxy cert` keeps in the store
	c, k, err := proxy.GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveProxyCertificate(c, k, "test"); err != nil {
		t.Fatal(err)
	}
	cert, err := proxy.LoadCertificate(c, k, "test")
	if err != nil {
		t.Fatal(err)
	}
	d.press(runeKey('x'), runeKey('x'))
	d.mustShow("pin SHA-256, or trust `mailoauth proxy cert`")
	d.mustNotShow("none yet")
	if got, want := shownFingerprint(d.screen()), proxy.Fingerprint(cert); got != want {
		t.Fatalf("the page shows the fingerprint %q, the proxy prints %q:\n%s", got, want, d.screen())
	}
	d.mustShow("› a@acme.example") // the passwords' list still fits 80x24
}

// shownFingerprint is the fingerprint the proxy page shows under "pin
// SHA-256", joined from the lines it is wrapped on; "" when none shows.
func shownFingerprint(screen string) string {
	var fp string
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		if !strings.Contains(l, "pin SHA-256") {
			continue
		}
		hex := regexp.MustCompile(`│\s+((?:[0-9A-F]{2}:?)+)\s*$`)
		for _, next := range lines[i+1:] {
			m := hex.FindStringSubmatch(next)
			if m == nil {
				break
			}
			fp += m[1]
		}
	}
	return fp
}
