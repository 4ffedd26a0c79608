package sshserver

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

func TestFromPatternsFollowSshd(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::7")
	for _, c := range []struct {
		list string
		addr netip.Addr
		want bool
	}{
		{"192.0.2.7", v4, true},
		{"192.0.2.8", v4, false},
		{"192.0.2.0/24", v4, true},
		{"198.51.100.0/24", v4, false},
		{"192.0.2.*", v4, true},
		{"192.0.2.?", v4, true},
		{"192.0.?", v4, false},
		{"*", v4, true},
		{"198.51.100.1,192.0.2.7", v4, true},
		{"192.0.2.0/24,!192.0.2.7", v4, false}, // a negated match refuses wherever it is
		{"!192.0.2.7,192.0.2.0/24", v4, false},
		{"*,!198.51.100.*", v4, true},
		{"!198.51.100.1", v4, false}, // only negations: nothing allows
		{"2001:db8::/32", v6, true},
		{"2001:DB8::7", v6, true},
		{"2001:db8::/32", v4, false},
		{"admin.example.com", v4, false}, // no DNS: a host name never matches
		{"192.0.2.7", netip.Addr{}, false},
	} {
		if got := matchFrom(c.list, c.addr); got != c.want {
			t.Errorf("from=%q for %v: allowed %v, want %v", c.list, c.addr, got, c.want)
		}
	}
}

func TestKeyOptionsGrantNoMoreThanTheLine(t *testing.T) {
	for _, c := range []struct {
		options string
		from    string
		skipWhy string // "" when the key is usable
	}{
		{``, "", ""},
		{`from="192.0.2.0/24"`, "192.0.2.0/24", ""},
		{`FROM="192.0.2.1"`, "192.0.2.1", ""},
		{`restrict,pty`, "", ""},
		{`no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc,permitopen="localhost:25"`, "", ""},
		{`restrict,pty,from="192.0.2.1"`, "192.0.2.1", ""},
		{`command="/usr/bin/backup"`, "", "command="},
		{`from="192.0.2.1",command="/usr/bin/backup"`, "", "command="},
		{`restrict`, "", "restrict"},
		{`no-pty`, "", "no-pty"},
		{`environment="A=B"`, "", "environment="},
		{`cert-authority`, "", "cert-authority"},
		{`expiry-time="20300101"`, "", "expiry-time="},
		{`from="192.0.2.1",from="198.51.100.1"`, "", "two from="},
		{`from="192.0.2.1/24"`, "", "192.0.2.1/24"},
		{`from="192.0.2.1,"`, "", "empty pattern"},
	} {
		line := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGRmxk0oD8ZRyZPqTrr6w3J2r3XkNJsw0xmh8qN1dZ0M admin"
		if c.options != "" {
			line = c.options + " " + line
		}
		_, _, options, _, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		from, why := keyOptions(options)
		switch {
		case c.skipWhy == "" && why != "":
			t.Errorf("%s: skipped (%s), want usable", c.options, why)
		case c.skipWhy != "" && !strings.Contains(why, c.skipWhy):
			t.Errorf("%s: reason %q, want the key skipped naming %q", c.options, why, c.skipWhy)
		case c.skipWhy == "" && from != c.from:
			t.Errorf("%s: from %q, want %q", c.options, from, c.from)
		}
	}
}

// The server on 127.0.0.1 lets in only the keys whose lines allow that
// address and whose options it enforces, and logs why the others are out.
func TestAuthorizedKeysOptionsAreEnforced(t *testing.T) {
	here, elsewhere, negated, forced, restricted, restrictedPty := newKey(t), newKey(t), newKey(t), newKey(t), newKey(t), newKey(t)
	var log logLines
	ts := startServer(t, Config{Logf: log.logf}, here)
	line := func(opts string, k gossh.Signer) string {
		return opts + " " + string(gossh.MarshalAuthorizedKey(k.PublicKey()))
	}
	file := "# administrators\n" +
		line(`from="127.0.0.0/8,::1"`, here) + // line 2
		line(`from="192.0.2.0/24"`, elsewhere) + // line 3
		line(`from="*,!127.0.0.1"`, negated) + // line 4
		line(`command="/usr/bin/true"`, forced) + // line 5
		line(`restrict`, restricted) + // line 6
		line(`restrict,pty`, restrictedPty) // line 7
	if err := os.WriteFile(ts.keysFile+".tmp", []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(ts.keysFile+".tmp", ts.keysFile); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		key  gossh.Signer
		in   bool
		log  string
	}{
		{"from= matching the client", here, true, ""},
		{"from= of another network", elsewhere, false, `line 3 of ` + ts.keysFile + ` allows it only from="192.0.2.0/24"`},
		{"from= negating the client", negated, false, `line 4 of ` + ts.keysFile},
		{"command=", forced, false, `line 5: key ` + gossh.FingerprintSHA256(forced.PublicKey()) + ` skipped: its option command= is not one`},
		{"restrict", restricted, false, `line 6: key ` + gossh.FingerprintSHA256(restricted.PublicKey()) + ` skipped: its option restrict forbids the terminal`},
		{"restrict,pty", restrictedPty, true, ""},
	} {
		cl, err := ts.dial("alice", gossh.PublicKeys(c.key))
		if err == nil {
			if !c.in {
				t.Errorf("%s: the key got in", c.name)
			} else {
				openTerm(t, cl, true).waitFor(t, firstScreen)
			}
			cl.Close()
		} else if c.in {
			t.Errorf("%s: the key was refused: %v", c.name, err)
		}
		if c.log != "" && !strings.Contains(log.text(), c.log) {
			t.Errorf("%s: the log does not say %q:\n%s", c.name, c.log, log.text())
		}
	}
}
