package proxy

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/coretest"
)

// xclientServer is an SMTP server (implicit TLS) that trusts its
// clients' XCLIENT and XFORWARD, as Postfix trusts the proxy's address
// when it is in smtpd_authorized_xclient_hosts, takes any OAuth token,
// and records the command lines it gets.
type xclientServer struct {
	addr  string
	caPEM []byte // its certificate, to trust
	mu    sync.Mutex
	cmds  []string
}

func startXCLIENTServer(t *testing.T) *xclientServer {
	t.Helper()
	cert, _ := testCertificate(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	x := &xclientServer{addr: ln.Addr().String(), caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})}
	coretest.ServeConns(t, ln, x.serve)
	return x
}

func (x *xclientServer) serve(c net.Conn) {
	defer c.Close()
	tc := textproto.NewConn(c)
	say := func(lines ...string) bool { return tc.PrintfLine("%s", strings.Join(lines, "\r\n")) == nil }
	if !say("220 xclient.example ESMTP") {
		return
	}
	for {
		line, err := tc.ReadLine()
		if err != nil {
			return
		}
		x.mu.Lock()
		x.cmds = append(x.cmds, line)
		x.mu.Unlock()
		verb, arg, _ := strings.Cut(line, " ")
		ok := true
		switch strings.ToUpper(verb) {
		case "EHLO":
			ok = say("250-xclient.example", "250-PIPELINING", "250-XCLIENT ADDR NAME HELO PROTO", "250-XFORWARD ADDR NAME", "250-AUTH XOAUTH2 OAUTHBEARER", "250 ENHANCEDSTATUSCODES")
		case "AUTH":
			if !strings.Contains(arg, " ") { // the token comes after a 334
				if !say("334 ") {
					return
				}
				if _, err := tc.ReadLine(); err != nil {
					return
				}
			}
			ok = say("235 2.7.0 Accepted")
		case "XCLIENT":
			ok = say("220 xclient.example ESMTP") // Postfix greets anew, as the named client
		case "QUIT":
			_ = say("221 2.0.0 Bye")
			return
		default:
			ok = say("250 2.0.0 Ok")
		}
		if !ok {
			return
		}
	}
}

func (x *xclientServer) commands() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.cmds...)
}

// TestProxySMTPRefusesXCLIENT: in front of a server that trusts the
// proxy's XCLIENT and XFORWARD, a logged-in client's XCLIENT and XFORWARD
// (pipelined between other commands) are answered by the proxy's 502 in
// their place, logged, and never reach the server; the server's EHLO
// reply reaches the client without them.
func TestProxySMTPRefusesXCLIENT(t *testing.T) {
	f := startFixture(t, Config{})
	user := f.sb.Users()[0]
	x := startXCLIENTServer(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, append(f.sb.CAPEM(), x.caPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	ep := f.sb.Endpoints()
	ep.SMTP, ep.SMTPSecurity, ep.CAFile = x.addr, core.SecurityTLS, ca
	f.upstreamTo(t, user, ep)

	c, _ := ehlo(t, f, f.smtpTLS, true)
	if err := c.PrintfLine("AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+f.password[user]))); err != nil {
		t.Fatal(err)
	}
	expect(t, c, 235, "")
	// one write, as a pipelining client sends them
	if _, err := io.WriteString(c.W, "EHLO test.example\r\nXCLIENT ADDR=192.0.2.7 NAME=trusted.example\r\nMAIL FROM:<"+user+">\r\nxforward ADDR=192.0.2.7\r\nRSET\r\nQUIT\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.W.Flush(); err != nil {
		t.Fatal(err)
	}
	_, msg, err := c.ReadResponse(250)
	if err != nil || !strings.HasPrefix(msg, "xclient.example") || strings.Contains(msg, "XCLIENT") || strings.Contains(msg, "XFORWARD") {
		t.Fatalf("EHLO after the login: want the server's reply without XCLIENT and XFORWARD, got %q: %v", msg, err)
	}
	expect(t, c, 502, "5.5.1 mailoauth proxy does not pass XCLIENT on to the mail server")
	expect(t, c, 250, "2.0.0 Ok")
	expect(t, c, 502, "5.5.1 mailoauth proxy does not pass XFORWARD on to the mail server")
	expect(t, c, 250, "2.0.0 Ok")
	expect(t, c, 221, "")
	cmds := x.commands()
	for _, l := range cmds {
		if v := strings.ToUpper(strings.Fields(l + " x")[0]); v == "XCLIENT" || v == "XFORWARD" {
			t.Fatalf("the server got %q; all it got: %q", l, cmds)
		}
	}
	if !strings.Contains(strings.Join(cmds, "\n"), "\nMAIL FROM:") {
		t.Fatalf("the commands around the refused ones did not reach the server: %q", cmds)
	}
	lg := f.log.String()
	for _, verb := range []string{"XCLIENT", "XFORWARD"} {
		if !strings.Contains(lg, "refused a command that would name another client's address") || !strings.Contains(lg, "command="+verb) {
			t.Fatalf("the refused %s is not logged:\n%s", verb, lg)
		}
	}
}
