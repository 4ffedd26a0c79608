package tui

import (
	"crypto/rsa"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
	"github.com/mailoauth/mailoauth/store"
)

var screenshotDir = flag.String("screenshots", "", "write the colour frame (.ansi) of every wizard step of the sandbox walk-through to this directory; make screenshots turns them into PNG with freeze")

// colourFrame is the model's frame with its colours (dark background).
func colourFrame(m model) string { return m.w.render() }

// TestScreenshots walks the sandbox demo at 100x30 and saves every step's
// frame; `make screenshots` runs it.
func TestScreenshots(t *testing.T) {
	if *screenshotDir == "" {
		t.Skip("pass -screenshots DIR to write the screenshots")
	}
	// Every value the frames show is the same at every run, so a
	// regeneration rewrites only the pictures whose screen changed: the
	// random identifiers come from a seeded stream (reset before each
	// walk-through, as the first one's parallel checks draw from it in
	// any order), the key is a fixed one, the ports are fixed (outside the
	// range the OS hands out for port 0), and the paths are the demo's
	// own patterns with fixed names.
	cryptotest.SetGlobalRandom(t, 1)
	demoDir := fixedDir(t, "/tmp/mailoauth-demo-2206158347")
	// each wizard writes the sandbox's files into a directory of its own
	sandboxDirs := []string{"/tmp/mailoauth-sandbox-3864196052", "/tmp/mailoauth-sandbox-1495067420"}
	makeDir := sandboxFilesDir
	t.Cleanup(func() { sandboxFilesDir = makeDir })
	sandboxFilesDir = func() (string, error) {
		dir := fixedDir(t, sandboxDirs[0])
		sandboxDirs = sandboxDirs[1:]
		return dir, nil
	}
	sb := startSandbox(t, sandbox.Options{Domain: "yourcompany.example", Users: 5, Dir: demoDir,
		Key: screenshotKey(t), Ports: sandbox.Ports{HTTP: 10080, IMAP: 10993, SMTP: 10465}})
	t.Setenv(store.KeyEnv, "")
	st, err := store.Open(filepath.Join(demoDir, "mailoauth.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	m := New(Config{Store: st, Actor: "screenshots", Sandbox: sb}).(model)
	defer m.w.cleanup()
	m.w.styles = NewStyles(true, false)
	m.w.help.Styles = m.w.styles.Help
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	run := func(cmd tea.Cmd) {
		// run commands synchronously, following batches, skipping timers
		var exec func(tea.Cmd, int)
		exec = func(c tea.Cmd, depth int) {
			if c == nil || depth > 10000 {
				return
			}
			done := make(chan tea.Msg, 1)
			go func() { done <- c() }()
			var msg tea.Msg
			select {
			case msg = <-done:
			case <-time.After(30 * time.Second):
				return
			}
			switch msg := msg.(type) {
			case tea.BatchMsg:
				for _, c := range msg {
					exec(c, depth+1)
				}
				return
			case nil, historyTickMsg:
				return // the test step's history re-read is a timer too
			default:
				// follow only the wizard's own results (no blink or spinner timers)
				if !strings.HasPrefix(fmt.Sprintf("%T", msg), "tui.") {
					return
				}
				_, next := m.Update(msg)
				exec(next, depth+1)
			}
		}
		exec(cmd, 0)
	}
	send := func(k tea.KeyPressMsg) {
		_, cmd := m.Update(k)
		run(cmd)
	}
	run(m.w.start())
	if err := os.MkdirAll(*screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := func(name string) {
		if err := os.WriteFile(filepath.Join(*screenshotDir, name+".ansi"), []byte(colourFrame(m)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shot("1-profile")
	send(enter())
	shot("2-domain")
	send(enter())
	send(enter()) // the service account, the first choice
	shot("3-credentials")
	send(enter())
	send(enter())
	shot("4-authorize-failure")
	send(runeKey('a'))
	shot("4-authorize-verified")
	send(enter())
	shot("5-mailboxes")
	send(enter())
	send(enter())
	shot("6-test")
	send(enter())
	shot("7-summary")

	// The OAuth client branch, as served over SSH (paste-back), so every
	// step runs to its end here; a second profile in a fresh store.
	cryptotest.SetGlobalRandom(t, 2)
	st2, _ := openTestStore(t, "o.db")
	m = New(Config{Store: st2, Actor: "screenshots", Sandbox: sb, Remote: true}).(model)
	defer m.w.cleanup()
	// The consent's clock, and Google's, whose Date is the consent's day:
	// the access token's expiry and the consent's date shown stay the same
	// (make screenshots runs this in UTC, so the times are not the
	// machine's zone).
	consentAt := time.Date(2026, 12, 1, 9, 41, 0, 0, time.UTC)
	m.w.clock = func() time.Time { return consentAt }
	sb.SetClockSkew(time.Until(consentAt))
	m.w.styles = NewStyles(true, false)
	m.w.help.Styles = m.w.styles.Help
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	run(m.w.start())
	send(enter())              // new profile
	send(enter())              // domain
	send(keyCode(tea.KeyDown)) // the OAuth client
	send(enter())              // its form, with the sandbox's client JSON
	shot("3-credentials-oauth")
	send(enter())
	shot("4-consent-checklist")
	send(enter()) // generate token: the consent URL and the paste field
	shot("4-consent-paste")
	send(tea.KeyPressMsg{Code: 'a', Mod: tea.ModCtrl}) // the sandbox answers and pastes
	shot("4-consent-token")
	send(enter())
	shot("5-mailboxes-consent")
}

// fixedDir makes dir, which must not exist yet, for one test and removes it
// when the test ends.
func fixedDir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatalf("%v: remove it if a make screenshots that ended early left it", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// screenshotKey is the private key of testdata/service-account.json: the
// sandbox's service account shows its fingerprint.
func screenshotKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile("testdata/service-account.json")
	if err != nil {
		t.Fatal(err)
	}
	cred, err := core.ParseCredential(data, core.CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cred.PrivateKey
}
