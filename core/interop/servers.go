package interop

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
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
	"text/template"
	"time"
)

func render(name, dest string, vars map[string]any) error {
	tm, err := template.ParseFS(templates, "templates/"+name+".tmpl")
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

func (s *Servers) startDovecot(vars map[string]any) {
	t := s.t
	t.Helper()
	conf := filepath.Join(s.Dir, "dovecot.conf")
	if err := render("dovecot.conf", conf, vars); err != nil {
		t.Fatal(err)
	}
	if err := render("oauth2.conf.ext", filepath.Join(s.Dir, "oauth2.conf.ext"), vars); err != nil {
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
	for _, addr := range []string{s.IMAPS, s.IMAP, s.LMTP, s.Auth} {
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
func (s *Servers) stopDovecot() {
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

func (s *Servers) startPostfix(vars map[string]any) {
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
	if err := render("main.cf", filepath.Join(etc, "main.cf"), vars); err != nil {
		t.Fatal(err)
	}
	if err := render("master.cf", filepath.Join(etc, "master.cf"), vars); err != nil {
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
func (s *Servers) stopPostfix(pidFile string) {
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
