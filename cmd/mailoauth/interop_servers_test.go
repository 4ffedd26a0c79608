package main

// Real mail server software for the TestInterop* tests: Debian's Dovecot
// 2.3 (IMAP and POP3 with SASL XOAUTH2 / OAUTHBEARER through its oauth2
// passdb, validating tokens against the in-process sandbox's tokeninfo
// endpoint) and Postfix 3.7 (submission with Dovecot SASL, delivering
// only to that Dovecot over LMTP).
//
// It is test code (no binary links it). startInterop writes both
// configurations from testdata/interop into a fresh temporary directory,
// starts the servers as root on free 127.0.0.1 ports, waits until they
// answer, and stops them by PID when the test ends. The machine's
// /etc/dovecot and /etc/postfix are never read or written, and Postfix has
// no transport that could deliver anywhere but the local Dovecot.
//
// When the servers are not installed, requireServers skips the test with
// one line saying how to install them; with CI=true it fails the test
// instead, so a CI run can never pass by skipping them.

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"embed"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

//go:embed testdata/interop/*.tmpl
var interopTemplates embed.FS

// installServers is the command that installs what requireServers needs.
const installServers = "apt-get install dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix"

// interopDomain is the mail domain both the sandbox and the servers serve.
const interopDomain = "example.test"

// inCI reports whether missing software must fail the run instead of
// skipping (CI=true, as .ci/run sets it).
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// missingSoftware skips the test (or fails it in CI) with one line.
func missingSoftware(t testing.TB, what, install string) {
	t.Helper()
	msg := fmt.Sprintf("%s; install with: %s", what, install)
	if inCI() {
		t.Fatalf("CI=true but %s", msg)
	}
	t.Skip(msg)
}

// requireServers skips the test unless Dovecot and Postfix are installed and the
// test runs as root (both servers start as root and drop privileges); with
// CI=true it fails instead.
func requireServers(t testing.TB) {
	t.Helper()
	var absent []string
	for _, bin := range []string{"dovecot", "postfix", "postconf"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err := os.Stat("/usr/sbin/" + bin); err != nil {
				absent = append(absent, bin)
			}
		}
	}
	for _, f := range []string{"/usr/lib/dovecot/imap", "/usr/lib/dovecot/pop3", "/usr/lib/dovecot/lmtp"} {
		if _, err := os.Stat(f); err != nil {
			absent = append(absent, filepath.Base(f))
		}
	}
	if len(absent) > 0 {
		missingSoftware(t, "Dovecot/Postfix are not installed (no "+strings.Join(absent, ", ")+")", installServers)
		return
	}
	if os.Geteuid() != 0 {
		missingSoftware(t, "the Dovecot/Postfix tests must run as root (the servers start as root and drop privileges)", "sudo go test ./cmd/mailoauth")
	}
}

// requirePrograms skips the test unless the mail programs are on PATH (the
// Debian package is named after the program); with CI=true it fails.
func requirePrograms(t testing.TB, programs ...string) {
	t.Helper()
	var absent []string
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			absent = append(absent, p)
		}
	}
	if len(absent) > 0 {
		missingSoftware(t, strings.Join(absent, ", ")+" not installed", "apt-get install "+strings.Join(absent, " "))
	}
}

// interopOptions configures startInterop.
type interopOptions struct {
	// Users is how many sandbox users (user1..userN@example.test) exist; default 3.
	Users int
	// Logf receives the sandbox's log lines; nil: none.
	Logf func(format string, args ...any)
	// TokeninfoURL overrides the endpoint Dovecot validates tokens at
	// (default: the sandbox's tokeninfo), e.g. to make it unreachable.
	TokeninfoURL string
}

// interopServers are a running sandbox, Dovecot and Postfix.
type interopServers struct {
	Dir     string
	Sandbox *sandbox.Sandbox
	// CAFile signed the servers' certificate (SANs 127.0.0.1 and localhost).
	CAFile string
	// IMAPS and SMTPS use implicit TLS; IMAP and Submission use STARTTLS.
	IMAPS, IMAP, SMTPS, Submission string
	// POP3S is Dovecot's POP3 with implicit TLS (as Gmail's, the only
	// POP3 mailoauth proxy logs in to).
	POP3S string
	// LMTP and Auth are Dovecot's delivery and SASL listeners (Postfix's side).
	LMTP, Auth string

	t          testing.TB
	dovecot    *exec.Cmd
	dovecotEnd chan struct{}
}

// startInterop starts the sandbox, Dovecot and Postfix for one test, and registers
// their shutdown (by PID) and the removal of their directory with t.Cleanup.
// It calls requireServers first.
func startInterop(t testing.TB, opts interopOptions) *interopServers {
	t.Helper()
	requireServers(t)
	if opts.Users <= 0 {
		opts.Users = 3
	}
	sb, err := sandbox.Start(sandbox.Options{Users: opts.Users, Domain: interopDomain, Delegate: true, Logf: opts.Logf})
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
	s := &interopServers{Dir: dir, Sandbox: sb, t: t, CAFile: filepath.Join(dir, "ca.pem")}
	if err := writeCerts(dir); err != nil {
		t.Fatal(err)
	}
	ports, err := freePorts(7)
	if err != nil {
		t.Fatal(err)
	}
	hp := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
	s.IMAP, s.IMAPS, s.LMTP, s.Auth, s.Submission, s.SMTPS = hp(ports[0]), hp(ports[1]), hp(ports[2]), hp(ports[3]), hp(ports[4]), hp(ports[5])
	s.POP3S = hp(ports[6])
	vars := map[string]any{
		"Dir": dir, "Instance": filepath.Base(dir), "Domain": interopDomain,
		"IMAPPort": ports[0], "IMAPSPort": ports[1], "LMTPPort": ports[2], "AuthPort": ports[3],
		"SubmissionPort": ports[4], "SubmissionsPort": ports[5], "POP3SPort": ports[6],
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

// Endpoints points mailoauth at Dovecot (IMAP, and POP3 for mailoauth
// proxy) and Postfix (SMTP) with the given security, and at the sandbox for tokens and tokeninfo. It has no
// admin_url: these servers are not Gmail, and the diagnosis must see that
// (the sandbox's Admin console is Sandbox.Endpoints().AdminURL).
func (s *interopServers) Endpoints(imapSec, smtpSec core.Security) core.Endpoints {
	sbe := s.Sandbox.Endpoints()
	e := core.Endpoints{IMAP: s.IMAPS, IMAPSecurity: imapSec, SMTP: s.SMTPS, SMTPSecurity: smtpSec, POP3: s.POP3S,
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
func (s *interopServers) WriteEndpoints(imapSec, smtpSec core.Security) string {
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
func (s *interopServers) WriteServiceAccount() string {
	s.t.Helper()
	path := filepath.Join(s.Dir, "service-account.json")
	if err := os.WriteFile(path, s.Sandbox.ServiceAccountJSON(), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// Profile is a mailoauth profile for the sandbox's domain with these servers.
func (s *interopServers) Profile(imapSec, smtpSec core.Security) *core.Profile {
	return &core.Profile{Domain: interopDomain, DefaultSender: "admin@" + interopDomain,
		Credential: s.Sandbox.ServiceAccountJSON(), Endpoints: s.Endpoints(imapSec, smtpSec)}
}

// PostfixLog is Postfix's log so far.
func (s *interopServers) PostfixLog() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "maillog"))
	return string(b)
}

// DovecotLog is Dovecot's log so far.
func (s *interopServers) DovecotLog() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.log"))
	return string(b)
}

func (s *interopServers) dumpLogs() {
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

func renderTemplate(name, dest string, vars map[string]any) error {
	tm, err := template.ParseFS(interopTemplates, "testdata/interop/"+name+".tmpl")
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := tm.Execute(&b, vars); err != nil {
		return err
	}
	return os.WriteFile(dest, b.Bytes(), 0o644)
}

func lookupIDs(userName, groupName string) (uid, gid int, err error) {
	u, err := user.Lookup(userName)
	if err != nil {
		return 0, 0, err
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			return 0, 0, err
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return uid, gid, nil
}

func (s *interopServers) startDovecot(vars map[string]any) {
	t := s.t
	t.Helper()
	conf := filepath.Join(s.Dir, "dovecot.conf")
	if err := renderTemplate("dovecot.conf", conf, vars); err != nil {
		t.Fatal(err)
	}
	if err := renderTemplate("oauth2.conf.ext", filepath.Join(s.Dir, "oauth2.conf.ext"), vars); err != nil {
		t.Fatal(err)
	}
	mail := filepath.Join(s.Dir, "mail")
	if err := os.Mkdir(mail, 0o755); err != nil {
		t.Fatal(err)
	}
	uid, gid, err := lookupIDs("nobody", "nogroup")
	if err != nil {
		t.Fatalf("the Dovecot test's mail owner: %v", err)
	}
	if err := os.Chown(mail, uid, gid); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dovecot", "-F", "-c", conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Dovecot: %v", err)
	}
	s.dovecot = cmd
	s.dovecotEnd = make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.dovecotEnd) }()
	t.Cleanup(s.stopDovecot)
	for _, addr := range []string{s.IMAPS, s.IMAP, s.POP3S, s.LMTP, s.Auth} {
		if err := waitListening(addr, s.dovecotEnd); err != nil {
			t.Fatalf("Dovecot did not start: %v\n%s%s", err, out.String(), s.DovecotLog())
		}
	}
	// The plain IMAP port greets once the login processes are up.
	if err := waitGreeting(s.IMAP, "* OK"); err != nil {
		t.Fatalf("Dovecot does not answer on %s: %v\n%s", s.IMAP, err, s.DovecotLog())
	}
}

// stopDovecot sends SIGTERM to Dovecot's master (the PID we started) and
// waits for it to exit; it kills it after 10 s.
func (s *interopServers) stopDovecot() {
	if s.dovecot == nil || s.dovecot.Process == nil {
		return
	}
	_ = s.dovecot.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.dovecotEnd:
	case <-time.After(10 * time.Second):
		_ = s.dovecot.Process.Kill()
		<-s.dovecotEnd
		s.t.Errorf("Dovecot (PID %d) did not stop on SIGTERM within 10 s", s.dovecot.Process.Pid)
	}
}

func (s *interopServers) startPostfix(vars map[string]any) {
	t := s.t
	t.Helper()
	etc := filepath.Join(s.Dir, "etc")
	for _, d := range []string{etc, filepath.Join(s.Dir, "spool"), filepath.Join(s.Dir, "data")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	uid, gid, err := lookupIDs("postfix", "")
	if err != nil {
		t.Fatalf("the Postfix test's data owner: %v", err)
	}
	// Postfix fails silently (only its log says why) without these.
	if err := os.Chown(filepath.Join(s.Dir, "data"), uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := renderTemplate("main.cf", filepath.Join(etc, "main.cf"), vars); err != nil {
		t.Fatal(err)
	}
	if err := renderTemplate("master.cf", filepath.Join(etc, "master.cf"), vars); err != nil {
		t.Fatal(err)
	}
	postfix := func(args ...string) error {
		cmd := exec.Command("postfix", append([]string{"-c", etc}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("postfix %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := postfix("check"); err != nil {
		t.Fatalf("%v\n%s", err, s.PostfixLog())
	}
	if err := postfix("start"); err != nil {
		t.Fatalf("%v\n%s", err, s.PostfixLog())
	}
	pidFile := filepath.Join(s.Dir, "spool", "pid", "master.pid")
	t.Cleanup(func() { s.stopPostfix(pidFile) })
	for _, addr := range []string{s.Submission, s.SMTPS} {
		if err := waitListening(addr, nil); err != nil {
			t.Fatalf("Postfix did not start: %v\n%s", err, s.PostfixLog())
		}
	}
	if err := waitGreeting(s.Submission, "220 "); err != nil {
		t.Fatalf("Postfix does not answer on %s: %v\n%s", s.Submission, err, s.PostfixLog())
	}
}

// stopPostfix sends SIGTERM to the master PID from Postfix's pid file and
// waits until it is gone (its children exit with it).
func (s *interopServers) stopPostfix(pidFile string) {
	var pid int
	for i := 0; i < 50 && pid == 0; i++ {
		b, err := os.ReadFile(pidFile)
		if err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if pid == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if pid <= 1 {
		s.t.Errorf("Postfix's master PID is not in %s; it may still be running", pidFile)
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	s.t.Errorf("Postfix's master (PID %d) did not stop on SIGTERM within 10 s", pid)
}

// freePorts asks the OS for n distinct free loopback ports. They are
// released before the servers bind them; nothing else on a test machine
// races for them in that instant.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitListening waits up to 15 s until addr accepts connections, or until
// exited is closed (the server died).
func waitListening(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("the server exited")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after 15 s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitGreeting waits up to 15 s for a plain-text greeting starting with prefix.
func waitGreeting(addr, prefix string) error {
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(3 * time.Second))
			line, rerr := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if rerr == nil && strings.HasPrefix(line, prefix) {
				return nil
			}
			last = fmt.Errorf("greeting %q, %v", strings.TrimSpace(line), rerr)
		} else {
			last = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

// writeCerts writes ca.pem, and cert.pem / key.pem for 127.0.0.1 and localhost.
func writeCerts(dir string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailoauth interop test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	files := []struct {
		name string
		typ  string
		der  []byte
		mode os.FileMode
	}{
		{"ca.pem", "CERTIFICATE", caDER, 0o644},
		{"cert.pem", "CERTIFICATE", der, 0o644},
		{"key.pem", "EC PRIVATE KEY", keyDER, 0o600},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), f.mode); err != nil {
			return err
		}
	}
	return nil
}
