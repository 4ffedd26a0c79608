package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// binary is the mailoauth executable built once for the end-to-end tests,
// which drive it exactly as an administrator or a script would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mailoauth-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "mailoauth")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building mailoauth: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type cliResult struct {
	stdout, stderr string
	code           int
}

func mailoauth(t testing.TB, db string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--db", db}, args...)...)
	cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("mailoauth %v: %v", args, err)
	}
	if strings.Contains(errb.String(), "goroutine ") || strings.Contains(errb.String(), "panic:") {
		t.Fatalf("mailoauth %v printed a stack trace:\n%s", args, errb.String())
	}
	return cliResult{out.String(), errb.String(), code}
}

// sandboxProcess runs `mailoauth sandbox` and waits for its "ready" line.
type sandboxProcess struct {
	pid       int
	dir       string
	endpoints core.Endpoints
	clientID  string
}

func startSandbox(t testing.TB, users int, extra ...string) *sandboxProcess {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(binary, append([]string{"sandbox", "--dir", dir, "--users", fmt.Sprint(users)}, extra...)...)
	var stderr bytes.Buffer
	stdout := startPiped(t, cmd, &stderr)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second): // a deadline for a hang, not a speed goal
			_ = cmd.Process.Kill()
			t.Errorf("the sandbox did not stop on SIGINT")
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- "ready"
			}
		}
		close(ready)
	}()
	select {
	case r := <-ready:
		if r != "ready" {
			t.Fatalf("sandbox exited before ready: %s", stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("sandbox not ready after 30s: %s", stderr.String())
	}
	for _, f := range []string{"service-account.json", "oauth-client.json", "ca.pem", "endpoints.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("sandbox did not write %s: %v", f, err)
		}
	}
	ep, err := core.LoadEndpoints(context.Background(), filepath.Join(dir, "endpoints.json"))
	if err != nil {
		t.Fatal(err)
	}
	cred, _, err := core.LoadCredentialFile(context.Background(), filepath.Join(dir, "service-account.json"), core.CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &sandboxProcess{pid: cmd.Process.Pid, dir: dir, endpoints: ep, clientID: cred.ClientID}
}

// admin calls the sandbox's Admin console API.
func (s *sandboxProcess) admin(t *testing.T, method, path string, body any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, s.endpoints.AdminURL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("admin %s %s: HTTP %d", method, path, resp.StatusCode)
	}
}

type jsonLine struct {
	Mailbox string                     `json:"mailbox"`
	OK      bool                       `json:"ok"`
	Checks  map[string]json.RawMessage `json:"checks"`
	Finding *core.Finding              `json:"finding"`
	Notes   []string                   `json:"notes"`
	Summary *struct {
		Total, OK, Failed int
	} `json:"summary"`
}

func parseLines(t *testing.T, out string) []jsonLine {
	t.Helper()
	var lines []jsonLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var jl jsonLine
		if err := json.Unmarshal([]byte(l), &jl); err != nil {
			t.Fatalf("not a JSON line: %q (%v)", l, err)
		}
		lines = append(lines, jl)
	}
	return lines
}

// testOne runs `test --json` for one mailbox and returns its line.
func testOne(t *testing.T, db, mailbox string, extra ...string) (jsonLine, int) {
	t.Helper()
	r := mailoauth(t, db, append([]string{"test", "--json", "--mailbox", mailbox}, extra...)...)
	lines := parseLines(t, r.stdout)
	if len(lines) != 2 || lines[1].Summary == nil {
		t.Fatalf("want one result and a summary, got %q (stderr %q)", r.stdout, r.stderr)
	}
	return lines[0], r.code
}

// writeTemp writes content to a file called name in a new temporary
// directory (mode 0600) and returns its path.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// storeEnv is the environment of the README's recipes: mailoauth first on
// $PATH, the store in $MAILOAUTH_DB (its key beside it), home as $HOME, and
// a plain terminal.
func storeEnv(db, home string) []string {
	return append(os.Environ(), "MAILOAUTH_KEY=", "MAILOAUTH_DB="+db, "HOME="+home,
		"PATH="+filepath.Dir(binary)+":"+os.Getenv("PATH"), "TERM=vt100", "LANG=C.UTF-8")
}

// runProgram runs a program (a mail program, curl, Python, bash, make)
// with the environment (nil: this process's) and standard input given, and
// returns its combined output. Five minutes is a deadline for a hang, not
// a speed goal.
func runProgram(env []string, stdin, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// messageText is a short message from the user to the user.
func messageText(user, subject string) string {
	return fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.%s>\r\n\r\nHello from a mail program.\r\n",
		user, user, subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), user)
}

// writeMessage writes messageText to a file and returns its path.
func writeMessage(t *testing.T, user, subject string) string {
	t.Helper()
	return writeTemp(t, "msg.eml", messageText(user, subject))
}

// adminState decodes the sandbox's GET /admin/state into v.
func (s *sandboxProcess) adminState(t *testing.T, v any) {
	t.Helper()
	resp, err := http.Get(s.endpoints.AdminURL + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("/admin/state: %v", err)
	}
}

// port is the port of a host:port address.
func port(hostport string) string { _, p, _ := strings.Cut(hostport, ":"); return p }

// startPiped starts cmd with its standard error going to stderr and
// returns its standard output to read from.
func startPiped(t testing.TB, cmd *exec.Cmd, stderr io.Writer) io.ReadCloser {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return stdout
}

// openReadOnly opens the store at db read-only with the key beside it (not
// one from the environment); the caller closes it.
func openReadOnly(t *testing.T, db string) *store.Store {
	t.Helper()
	t.Setenv(store.KeyEnv, "")
	st, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("the store %s does not open: %v", db, err)
	}
	return st
}

// caPool is a pool of the certificates in the PEM file.
func caPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in the CA file")
	}
	return pool
}

// imapTLS is go-imap's client options for a server whose certificate the
// CA file signed for 127.0.0.1.
func imapTLS(t *testing.T, caFile string) *imapclient.Options {
	t.Helper()
	return &imapclient.Options{TLSConfig: &tls.Config{RootCAs: caPool(t, caFile), ServerName: "127.0.0.1"}}
}
