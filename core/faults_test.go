package core_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/coretest"
	"github.com/mailoauth/mailoauth/core/doctor"
	"github.com/mailoauth/mailoauth/core/mailproto"
)

// Network faults: every check, and the doctor, against servers that stall,
// trickle a byte a second, speak garbage, drop the connection, present a
// certificate nobody signed, or send an endless line. Each ends with its
// finding, within its timeout plus a small margin (a hang guard turns a
// hang into a failure; nothing here is timed), and the endless line never
// makes the client read more than its limits.

type fault string

const (
	faultStall     fault = "stall"      // TLS done, then silence
	faultStallTLS  fault = "stall-tls"  // not even the TLS handshake
	faultTrickle   fault = "trickle"    // a greeting, one byte a second
	faultGarbage   fault = "garbage"    // something that is not the protocol
	faultDrop      fault = "drop"       // closed right after the handshake
	faultWrongCert fault = "wrong-cert" // a certificate from an unknown CA
	faultEndless   fault = "endless"    // a line that never ends, as fast as it goes
	// faultEndlessPlain is faultEndless before STARTTLS: the greeting our
	// own STARTTLS code reads never ends.
	faultEndlessPlain fault = "endless-before-starttls"
)

var allFaults = []fault{faultStall, faultStallTLS, faultTrickle, faultGarbage, faultDrop, faultWrongCert, faultEndless, faultEndlessPlain}

// faultPKI is a CA the checks trust (caPEM) with a server certificate for
// 127.0.0.1, and a certificate from a CA they do not trust.
type faultPKI struct {
	caPEM     []byte
	good, bad tls.Certificate
}

func newFaultPKI(t *testing.T) *faultPKI {
	t.Helper()
	ca, caKey := makeCert(t, "Fault CA", nil, nil)
	other, otherKey := makeCert(t, "Unknown CA", nil, nil)
	p := &faultPKI{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})}
	p.good = leaf(t, ca, caKey)
	p.bad = leaf(t, other, otherKey)
	return p
}

func makeCert(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	} else {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	c, k, err := core.IssueCertificate(tmpl, parent, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func leaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey) tls.Certificate {
	t.Helper()
	c, k := makeCert(t, "127.0.0.1", ca, caKey)
	return tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: k, Leaf: c}
}

// faultServer misbehaves as told toward every connection; written counts
// what it managed to send.
type faultServer struct {
	addr    string
	written atomic.Int64
}

// startFault serves fault on 127.0.0.1 over TLS; greeting is what the
// protocol's server says first ("* OK" for IMAP, "220" for SMTP, "HTTP/1.1
// 200 OK" for a token endpoint).
func startFault(t *testing.T, pki *faultPKI, f fault, greeting string) *faultServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &faultServer{addr: ln.Addr().String()}
	coretest.ServeConns(t, ln, func(c net.Conn) { fs.serve(c, pki, f, greeting) })
	return fs
}

func (fs *faultServer) serve(raw net.Conn, pki *faultPKI, f fault, greeting string) {
	defer raw.Close()
	if f == faultStallTLS {
		_, _ = io.Copy(io.Discard, raw)
		return
	}
	if f == faultEndlessPlain {
		go func() { _, _ = io.Copy(io.Discard, raw) }()
		chunk := []byte(strings.Repeat("a", 32<<10))
		for n, err := raw.Write([]byte(greeting + " ")); err == nil; n, err = raw.Write(chunk) {
			fs.written.Add(int64(n))
		}
		return
	}
	cert := pki.good
	if f == faultWrongCert {
		cert = pki.bad
	}
	c := tls.Server(raw, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"imap", "http/1.1"}})
	if err := c.Handshake(); err != nil {
		return
	}
	write := func(b []byte) bool {
		n, err := c.Write(b)
		fs.written.Add(int64(n))
		return err == nil
	}
	// An HTTP server answers a request: bytes sent before it arrives are an
	// "unsolicited response" to Go's client, a different failure from the
	// one each fault is about, and a race with the request's write.
	var in io.Reader = c
	if strings.HasPrefix(greeting, "HTTP/") {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		in = coretest.LockedReader(br) // two goroutines may drain it, as they may a tls.Conn
	}
	switch f {
	case faultStall:
		_, _ = io.Copy(io.Discard, in)
	case faultTrickle:
		go func() { _, _ = io.Copy(io.Discard, in) }()
		for _, b := range []byte(greeting + " ready and waiting for a very long time") {
			if !write([]byte{b}) {
				return
			}
			time.Sleep(time.Second)
		}
	case faultGarbage:
		go func() { _, _ = io.Copy(io.Discard, in) }()
		if write([]byte("\x16\x03\x01garbage \xff\xfe not a protocol at all\r\n{\"json\": [1,2\r\n")) {
			_, _ = io.Copy(io.Discard, in)
		}
	case faultDrop:
	case faultEndless:
		go func() { _, _ = io.Copy(io.Discard, in) }()
		chunk := []byte(strings.Repeat("a", 32<<10))
		if write([]byte(greeting + " ")) {
			for write(chunk) {
			}
		}
	}
}

// faultEnv is a working sandbox whose token endpoint, IMAP or SMTP server
// can be swapped for a misbehaving one.
type faultEnv struct {
	*env
	pki    *faultPKI
	caFile string // trusts the sandbox's CA and the fault CA
}

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	e := newEnv(t, 1, true)
	pki := newFaultPKI(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, append(e.sb.CAPEM(), pki.caPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	return &faultEnv{env: e, pki: pki, caFile: caFile}
}

// tester builds a Tester on the sandbox with one server replaced by a
// fault ("token", "imap" or "smtp") and the given check timeout.
func (fe *faultEnv) tester(t *testing.T, which string, fs *faultServer, f fault, timeout time.Duration) *core.Tester {
	t.Helper()
	sec := core.SecurityTLS
	if f == faultEndlessPlain {
		sec = core.SecurityStartTLS
	}
	p := *fe.profile
	p.Endpoints.CAFile = fe.caFile
	switch which {
	case "token":
		var sa map[string]any
		if err := json.Unmarshal(p.Credential, &sa); err != nil {
			t.Fatal(err)
		}
		sa["token_uri"] = "https://" + fs.addr + "/token"
		p.Credential, _ = json.Marshal(sa)
	case "imap":
		p.Endpoints.IMAP, p.Endpoints.IMAPSecurity = fs.addr, sec
	case "smtp":
		p.Endpoints.SMTP, p.Endpoints.SMTPSecurity = fs.addr, sec
	}
	tester, err := core.NewTester(&p, &core.MemoryTokenCache{})
	if err != nil {
		t.Fatal(err)
	}
	tester.Timeout = timeout
	tester.RoundtripTimeout = timeout
	return tester
}

// hangGuard runs f and fails the test when it has not returned after 30 s:
// a check that hangs, not one that is slow.
func hangGuard[T any](t *testing.T, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not end within 30 s: it hangs", what)
		var zero T
		return zero
	}
}

var greetings = map[string]string{"token": "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Long:", "imap": "* OK", "smtp": "220"}

// wantFault is the finding each fault must end in, per server.
func wantFault(which string, f fault) []core.Code {
	switch f {
	case faultStall, faultStallTLS, faultTrickle:
		return []core.Code{core.CodeTimeout}
	case faultWrongCert:
		return []core.Code{core.CodeTLSUntrusted}
	}
	// garbage, drop, endless line: the server's own failure code, or a
	// failed connection.
	switch which {
	case "token":
		return []core.Code{core.CodeTokenFailed, core.CodeConnectFailed}
	case "imap":
		return []core.Code{core.CodeIMAPFailed, core.CodeConnectFailed}
	}
	return []core.Code{core.CodeSMTPFailed, core.CodeConnectFailed}
}

func TestChecksEndOnNetworkFaults(t *testing.T) {
	fe := newFaultEnv(t)
	mailbox := fe.user(1)
	for _, c := range []struct {
		which  string
		checks []core.CheckName
	}{
		{"token", []core.CheckName{core.CheckToken}},
		{"imap", []core.CheckName{core.CheckIMAP}},
		{"smtp", []core.CheckName{core.CheckSMTP}},
		{"imap", []core.CheckName{core.CheckRoundtrip}}, // the round trip logs in to IMAP first
		{"smtp", []core.CheckName{core.CheckRoundtrip}}, // then sends through SMTP
	} {
		for _, f := range allFaults {
			if f == faultEndlessPlain && c.which == "token" {
				continue // HTTPS has no STARTTLS
			}
			name := c.which + "/" + string(c.checks[0]) + "/" + string(f)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				fs := startFault(t, fe.pki, f, greetings[c.which])
				timeout := time.Second
				if f == faultEndless || f == faultEndlessPlain {
					// The line limit must end it, not the timeout.
					timeout = 10 * time.Minute
				}
				tester := fe.tester(t, c.which, fs, f, timeout)
				r := hangGuard(t, name, func() core.MailboxResult {
					return tester.Check(context.Background(), mailbox, c.checks)
				})
				if r.OK || r.Finding == nil {
					t.Fatalf("want a finding, got ok=%v %+v", r.OK, r.Checks)
				}
				ok := false
				for _, code := range wantFault(c.which, f) {
					ok = ok || r.Finding.Code == code
				}
				if !ok {
					t.Errorf("want %v, got [%s] %s", wantFault(c.which, f), r.Finding.Code, r.Finding.Summary)
				}
				if (f == faultEndless || f == faultEndlessPlain) && fs.written.Load() > mailproto.MaxServerBytes {
					t.Errorf("the client read on: the server wrote %d bytes of one line", fs.written.Load())
				}
			})
		}
	}
}

func TestDoctorEndsOnNetworkFaults(t *testing.T) {
	fe := newFaultEnv(t)
	for _, which := range []string{"imap", "smtp"} {
		for _, f := range []fault{faultStallTLS, faultWrongCert, faultTrickle, faultEndless} {
			name := which + "/" + string(f)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				fs := startFault(t, fe.pki, f, greetings[which])
				p := *fe.profile
				p.Endpoints.CAFile = fe.caFile
				if which == "imap" {
					p.Endpoints.IMAP = fs.addr
				} else {
					p.Endpoints.SMTP = fs.addr
				}
				items := hangGuard(t, "doctor", func() []doctor.Item {
					return doctor.Run(context.Background(), &p, &core.MemoryTokenCache{}, time.Second)
				})
				var failed []string
				for _, it := range items {
					if !it.OK {
						failed = append(failed, it.Name+":"+string(it.Finding.Code))
					}
				}
				if len(failed) == 0 {
					t.Fatalf("the doctor passed a %s server that does %s: %+v", which, f, items)
				}
				if f == faultWrongCert && !strings.Contains(strings.Join(failed, " "), "tls:"+string(core.CodeTLSUntrusted)) {
					t.Errorf("the doctor's TLS probe did not name the unknown certificate: %v", failed)
				}
			})
		}
	}
}
