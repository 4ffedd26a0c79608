// Package interop runs mailoauth's client against real mail server software
// in tests: Debian's Dovecot 2.3 (IMAP with SASL XOAUTH2 / OAUTHBEARER through
// its oauth2 passdb, validating tokens against the in-process sandbox's
// tokeninfo endpoint) and Postfix 3.7 (submission with Dovecot SASL,
// delivering only to that Dovecot over LMTP).
//
// It is test support only, imported by _test.go files alone (TestImportLayers
// in core enforces it; no binary links it), and it does not import the testing
// package: its functions take a TB, which *testing.T satisfies, as
// net/http/httptest keeps test helpers out of "testing". It must never import
// store, tui or cmd. Start writes both configurations from the templates in
// this package into a fresh temporary directory, starts the servers as root on
// free 127.0.0.1 ports, waits until they answer, and stops them by PID when
// the test ends. The machine's /etc/dovecot and /etc/postfix are never read or
// written, and Postfix has no transport that could deliver anywhere but the
// local Dovecot.
//
// When the servers are not installed, Require skips the test with one line
// saying how to install them; with CI=true it fails the test instead, so a
// CI run can never pass by skipping them.
package interop

import (
	"embed"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

//go:embed templates/*.tmpl
var templates embed.FS

// TB is the part of testing.TB the helpers use; *testing.T and
// *testing.B satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
	Failed() bool
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Skip(args ...any)
}

// InstallServers is the command that installs what Require needs.
const InstallServers = "apt-get install dovecot-imapd dovecot-lmtpd postfix"

// Domain is the mail domain both the sandbox and the servers serve.
const Domain = "example.test"

// inCI reports whether missing software must fail the run instead of
// skipping (CI=true, as .ci/run sets it).
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// missing skips the test (or fails it in CI) with one line.
func missing(t TB, what, install string) {
	t.Helper()
	msg := fmt.Sprintf("%s; install with: %s", what, install)
	if inCI() {
		t.Fatalf("CI=true but %s", msg)
	}
	t.Skip(msg)
}

// Require skips the test unless Dovecot and Postfix are installed and the
// test runs as root (both servers start as root and drop privileges); with
// CI=true it fails instead.
func Require(t TB) {
	t.Helper()
	var absent []string
	for _, bin := range []string{"dovecot", "postfix", "postconf"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err := os.Stat("/usr/sbin/" + bin); err != nil {
				absent = append(absent, bin)
			}
		}
	}
	for _, f := range []string{"/usr/lib/dovecot/imap", "/usr/lib/dovecot/lmtp"} {
		if _, err := os.Stat(f); err != nil {
			absent = append(absent, filepath.Base(f))
		}
	}
	if len(absent) > 0 {
		missing(t, "Dovecot/Postfix are not installed (no "+strings.Join(absent, ", ")+")", InstallServers)
		return
	}
	if os.Geteuid() != 0 {
		missing(t, "the Dovecot/Postfix tests must run as root (the servers start as root and drop privileges)", "sudo go test ./core/interop ./cmd/mailoauth")
	}
}

// RequirePrograms skips the test unless the mail programs are on PATH (the
// Debian package is named after the program); with CI=true it fails.
func RequirePrograms(t TB, programs ...string) {
	t.Helper()
	var absent []string
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			absent = append(absent, p)
		}
	}
	if len(absent) > 0 {
		missing(t, strings.Join(absent, ", ")+" not installed", "apt-get install "+strings.Join(absent, " "))
	}
}

// Options configures Start.
type Options struct {
	// Users is how many sandbox users (user1..userN@example.test) exist; default 3.
	Users int
	// Logf receives the sandbox's log lines; nil: none.
	Logf func(format string, args ...any)
	// TokeninfoURL overrides the endpoint Dovecot validates tokens at
	// (default: the sandbox's tokeninfo), e.g. to make it unreachable.
	TokeninfoURL string
}

// Servers are a running sandbox, Dovecot and Postfix.
type Servers struct {
	Dir     string
	Sandbox *sandbox.Sandbox
	// CAFile signed the servers' certificate (SANs 127.0.0.1 and localhost).
	CAFile string
	// IMAPS and SMTPS use implicit TLS; IMAP and Submission use STARTTLS.
	IMAPS, IMAP, SMTPS, Submission string
	// LMTP and Auth are Dovecot's delivery and SASL listeners (Postfix's side).
	LMTP, Auth string

	t          TB
	dovecot    *exec.Cmd
	dovecotEnd chan struct{}
}

// Start starts the sandbox, Dovecot and Postfix for one test, and registers
// their shutdown (by PID) and the removal of their directory with t.Cleanup.
// It calls Require first.
func Start(t TB, opts Options) *Servers {
	t.Helper()
	Require(t)
	if opts.Users <= 0 {
		opts.Users = 3
	}
	sb, err := sandbox.Start(sandbox.Options{Users: opts.Users, Domain: Domain, Delegate: true, Logf: opts.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })

	// A short path: Dovecot's unix sockets live under base_dir and a socket
	// path is limited to 108 bytes, which t.TempDir() can exceed.
	dir, err := os.MkdirTemp("", "mailoauth-interop-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The servers' unprivileged processes (dovenull, postfix, nobody) must
	// traverse it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Servers{Dir: dir, Sandbox: sb, t: t, CAFile: filepath.Join(dir, "ca.pem")}
	if err := writeCerts(dir); err != nil {
		t.Fatal(err)
	}
	ports, err := freePorts(6)
	if err != nil {
		t.Fatal(err)
	}
	hp := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
	s.IMAP, s.IMAPS, s.LMTP, s.Auth, s.Submission, s.SMTPS = hp(ports[0]), hp(ports[1]), hp(ports[2]), hp(ports[3]), hp(ports[4]), hp(ports[5])
	vars := map[string]any{
		"Dir": dir, "Instance": filepath.Base(dir), "Domain": Domain,
		"IMAPPort": ports[0], "IMAPSPort": ports[1], "LMTPPort": ports[2], "AuthPort": ports[3],
		"SubmissionPort": ports[4], "SubmissionsPort": ports[5],
		"TokeninfoURL": sb.Endpoints().TokeninfoURL, "DHFile": "",
	}
	if opts.TokeninfoURL != "" {
		vars["TokeninfoURL"] = opts.TokeninfoURL
	}
	if _, err := os.Stat("/usr/share/dovecot/dh.pem"); err == nil {
		vars["DHFile"] = "/usr/share/dovecot/dh.pem"
	}
	t.Cleanup(func() {
		if t.Failed() {
			s.dumpLogs()
		}
	})
	s.startDovecot(vars)
	s.startPostfix(vars)
	return s
}

// Endpoints points mailoauth at Dovecot (IMAP) and Postfix (SMTP) with the
// given security, and at the sandbox for tokens and tokeninfo. It has no
// admin_url: these servers are not Gmail, and the diagnosis must see that
// (the sandbox's Admin console is Sandbox.Endpoints().AdminURL).
func (s *Servers) Endpoints(imapSec, smtpSec core.Security) core.Endpoints {
	sbe := s.Sandbox.Endpoints()
	e := core.Endpoints{IMAP: s.IMAPS, IMAPSecurity: imapSec, SMTP: s.SMTPS, SMTPSecurity: smtpSec,
		TokenURL: sbe.TokenURL, AuthURL: sbe.AuthURL, TokeninfoURL: sbe.TokeninfoURL,
		CAFile: s.CAFile}
	if imapSec == core.SecurityStartTLS {
		e.IMAP = s.IMAP
	}
	if smtpSec == core.SecurityStartTLS {
		e.SMTP = s.Submission
	}
	return e
}

// WriteEndpoints writes an endpoints.json for `mailoauth setup --endpoints`
// and returns its path.
func (s *Servers) WriteEndpoints(imapSec, smtpSec core.Security) string {
	s.t.Helper()
	b, err := json.MarshalIndent(s.Endpoints(imapSec, smtpSec), "", "  ")
	if err != nil {
		s.t.Fatal(err)
	}
	path := filepath.Join(s.Dir, fmt.Sprintf("endpoints-%s-%s.json", imapSec, smtpSec))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// WriteServiceAccount writes the sandbox's service-account key and returns its path.
func (s *Servers) WriteServiceAccount() string {
	s.t.Helper()
	path := filepath.Join(s.Dir, "service-account.json")
	if err := os.WriteFile(path, s.Sandbox.ServiceAccountJSON(), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// Profile is a mailoauth profile for the sandbox's domain with these servers.
func (s *Servers) Profile(imapSec, smtpSec core.Security) *core.Profile {
	return &core.Profile{Domain: Domain, DefaultSender: "admin@" + Domain,
		Credential: s.Sandbox.ServiceAccountJSON(), Endpoints: s.Endpoints(imapSec, smtpSec)}
}

// Maildir lists the files of a mailbox's Maildir new/ and cur/ folders, as
// Dovecot stores them: proof that a message really arrived.
func (s *Servers) Maildir(mailbox string) []string {
	var files []string
	for _, sub := range []string{"new", "cur"} {
		m, _ := filepath.Glob(filepath.Join(s.Dir, "mail", strings.ToLower(mailbox), "Maildir", sub, "*"))
		files = append(files, m...)
	}
	return files
}

// PostfixLog is Postfix's log so far.
func (s *Servers) PostfixLog() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "maillog"))
	return string(b)
}

// DovecotLog is Dovecot's log so far.
func (s *Servers) DovecotLog() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.log"))
	return string(b)
}

func (s *Servers) dumpLogs() {
	tail := func(text string) string {
		lines := strings.Split(strings.TrimSpace(text), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		return strings.Join(lines, "\n")
	}
	s.t.Logf("dovecot.log (last lines):\n%s", tail(s.DovecotLog()))
	s.t.Logf("postfix maillog (last lines):\n%s", tail(s.PostfixLog()))
}
