package mailproto

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// gmailScript plays Gmail's side of a login over c: its greeting without
// capabilities, caps for CAPABILITY, and for AUTHENTICATE an untagged
// CAPABILITY before the tagged OK. It returns the client's commands.
func gmailScript(c net.Conn, preCaps string) <-chan []string {
	got := make(chan []string, 1)
	go func() {
		defer c.Close()
		var cmds []string
		defer func() { got <- cmds }()
		br := bufio.NewReader(c)
		_, _ = io.WriteString(c, "* OK Gimap ready for requests from 127.0.0.1 zh1mb199258645pbc\r\n")
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			cmds = append(cmds, line)
			tag, cmd, _ := strings.Cut(line, " ")
			switch {
			case cmd == "CAPABILITY":
				_, _ = io.WriteString(c, "* CAPABILITY "+preCaps+"\r\n"+tag+" OK Thats all she wrote! zh1mb199258645pbc\r\n")
			case strings.HasPrefix(cmd, "AUTHENTICATE XOAUTH2 "):
				_, _ = io.WriteString(c, "* CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS COMPRESS=DEFLATE ENABLE MOVE CONDSTORE ESEARCH UTF8=ACCEPT LIST-EXTENDED LIST-STATUS LITERAL- SPECIAL-USE APPENDLIMIT=35651584\r\n"+
					tag+" OK user1@example.test authenticated (Success)\r\n")
			case cmd == "AUTHENTICATE XOAUTH2":
				_, _ = io.WriteString(c, "+ \r\n")
				if _, err := br.ReadString('\n'); err != nil {
					return
				}
				cmds = append(cmds, "(response)")
				_, _ = io.WriteString(c, "* CAPABILITY IMAP4rev1 IDLE UIDPLUS\r\n"+tag+" OK user1@example.test authenticated (Success)\r\n")
			case cmd == "LOGOUT":
				_, _ = io.WriteString(c, "* BYE LOGOUT Requested\r\n"+tag+" OK 73 good day (Success)\r\n")
				return
			default:
				_, _ = io.WriteString(c, tag+" OK Success\r\n")
			}
		}
	}()
	return got
}

// TestGmailLoginCommands: against Gmail's greeting (no capabilities) the
// client asks for CAPABILITY once, sends its token as a SASL-IR initial
// response only because SASL-IR is advertised (RFC 4959) and otherwise
// after the continuation, and keeps the capabilities Gmail sends with its
// login instead of asking for them again.
func TestGmailLoginCommands(t *testing.T) {
	const gmailPre = "IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY SASL-IR AUTH=XOAUTH AUTH=XOAUTH2 AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN"
	for _, tc := range []struct {
		name, caps string
		want       []string
	}{
		{"SASL-IR", gmailPre, []string{"T1 CAPABILITY", "T2 AUTHENTICATE XOAUTH2 <ir>", "T3 NOOP", "T4 LOGOUT"}},
		{"no SASL-IR", strings.Replace(gmailPre, " SASL-IR", "", 1), []string{"T1 CAPABILITY", "T2 AUTHENTICATE XOAUTH2", "(response)", "T3 NOOP", "T4 LOGOUT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			_ = client.SetDeadline(time.Now().Add(10 * time.Second))
			got := gmailScript(server, tc.caps)
			login := NewIMAPLoginConn(client)
			c := imapclient.New(login, nil)
			defer c.Close()
			if err := login.Authenticate(c, NewOAuthClient(XOAUTH2, "user1@example.test", "ya29.token")); err != nil {
				t.Fatal(err)
			}
			if err := c.Noop().Wait(); err != nil {
				t.Fatal(err)
			}
			if !c.Caps().Has("IDLE") || !c.Caps().Has("UIDPLUS") {
				t.Errorf("after login the client holds %v, want Gmail's post-login capabilities", c.Caps())
			}
			_ = c.Logout().Wait()
			cmds := <-got
			for i, cmd := range cmds {
				if strings.HasPrefix(cmd, "T2 AUTHENTICATE XOAUTH2 ") {
					cmds[i] = "T2 AUTHENTICATE XOAUTH2 <ir>"
				}
			}
			if strings.Join(cmds, "|") != strings.Join(tc.want, "|") {
				t.Errorf("the client sent\n  %s\nwant\n  %s", strings.Join(cmds, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// TestIMAPStartTLSRefuses: no TLS handshake starts when the server greets
// with something else than * OK, refuses STARTTLS, or sends more after its
// OK (plain text that would be read as if it came under TLS, the
// CVE-2011-0411 injection); each error says which.
func TestIMAPStartTLSRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, greeting, reply, want string
	}{
		{"greeting", "* BYE too busy\r\n", "", "greeted with"},
		{"refused", "* OK ready\r\n", "* OK still here\r\nS1 NO STARTTLS is off\r\n", "refused STARTTLS: S1 NO STARTTLS is off"},
		{"injection", "* OK ready\r\n", "S1 OK Begin TLS\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n", "sent data after STARTTLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer client.Close()
			_ = client.SetDeadline(time.Now().Add(5 * time.Second))
			go func() {
				defer server.Close()
				_, _ = io.WriteString(server, tc.greeting)
				if tc.reply == "" {
					return
				}
				if _, err := bufio.NewReader(server).ReadString('\n'); err != nil {
					return
				}
				_, _ = io.WriteString(server, tc.reply) // one write: the client reads it at once
			}()
			conn, err := IMAPStartTLS(context.Background(), client, &tls.Config{ServerName: "imap.example.test"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("IMAPStartTLS = %v, %v; want an error saying %q", conn, err, tc.want)
			}
		})
	}
}

// chunkConn serves data in reads of at most size bytes, then io.EOF.
type chunkConn struct {
	net.Conn
	data []byte
	size int
}

func (c *chunkConn) Read(b []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(len(b), c.size)], c.data)
	c.data = c.data[n:]
	return n, nil
}

// loginStream is what a server sends before login (greeting, capabilities,
// the login's reply with its untagged CAPABILITY) and then a line cut off
// by the end of the connection, and how go-imap is to read it.
func loginStream(greeting string) (sent, read string) {
	sent = greeting + "* CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2\r\nA1 OK Thats all\r\n" +
		"* CAPABILITY IMAP4rev1 IDLE\r\nA2 OK authenticated (Success)\r\n* 1 EXISTS\r\n* FLAGS (cut off"
	read = greeting + "A1 OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] Thats all\r\n" +
		"A2 OK [CAPABILITY IMAP4rev1 IDLE] authenticated (Success)\r\n* 1 EXISTS\r\n* FLAGS (cut off"
	return sent, read
}

// TestIMAPLoginConnReadsLinesWhateverTheChunks: however the connection cuts
// the server's bytes (a CRLF split in two, a line longer than the buffer,
// many lines in one read) and however little the reader asks for, the
// lines come out whole and in order, each CAPABILITY folded into the
// tagged OK after it, and the bytes after the last CRLF still arrive.
func TestIMAPLoginConnReadsLinesWhateverTheChunks(t *testing.T) {
	// A greeting longer than the read buffer.
	sent, want := loginStream("* OK " + strings.Repeat("x", 2*loginReadSize) + "\r\n")
	for _, size := range []int{1, 2, 3, 7, 64, loginReadSize - 1, loginReadSize, loginReadSize + 1, len(sent)} {
		for _, readLen := range []int{1, 5, 4096} {
			c := NewIMAPLoginConn(&chunkConn{data: []byte(sent), size: size})
			var got []byte
			b := make([]byte, readLen)
			for {
				n, err := c.Read(b)
				got = append(got, b[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if string(got) != want {
				t.Fatalf("chunks of %d, reads of %d: got\n%q\nwant\n%q", size, readLen, got, want)
			}
		}
	}
}

// BenchmarkIMAPLoginConnRead is what the reads of one login cost (their
// allocations above all).
func BenchmarkIMAPLoginConnRead(b *testing.B) {
	sent, _ := loginStream("* OK Gimap ready for requests from 127.0.0.1 zh1mb199258645pbc\r\n")
	data := []byte(sent)
	buf := make([]byte, 4096)
	b.ReportAllocs()
	for b.Loop() {
		c := NewIMAPLoginConn(&chunkConn{data: data, size: 512})
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
	}
}
