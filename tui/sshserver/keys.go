package sshserver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mailoauth/mailoauth/core"
)

// authorizedKeysFile caps the authorized_keys file: thousands of keys fit.
var authorizedKeysFile = core.UserFile{What: "authorized keys file", Max: 4 << 20, Fix: "check the path given to --authorized-keys"}

// authorizedKeys is an OpenSSH authorized_keys file, parsed again whenever
// its size, modification time or inode changes, so removing a key refuses
// the next login without a restart. wish.WithAuthorizedKeys re-reads the
// file at every login too, but stops at the first line it cannot parse,
// which would lock out every key below it, and ignores the lines' options;
// here a bad line is skipped and reported, from="…" is enforced, and a key
// whose options ask for something the server does not enforce is skipped,
// so nobody gets more than the file grants.
type authorizedKeys struct {
	path string
	logf func(format string, args ...any)

	mu    sync.Mutex
	stamp string
	keys  []authorizedKey
}

// authorizedKey is one usable line of the file.
type authorizedKey struct {
	key  ssh.PublicKey
	line int
	// from is the line's from="…" pattern list, "" when it has none.
	from string
}

func loadAuthorizedKeys(path string, logf func(format string, args ...any)) (*authorizedKeys, error) {
	ak := &authorizedKeys{path: path, logf: logf}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("cannot read authorized keys file %s: %v; create it with the administrators' public keys (one `ssh-ed25519 AAAA... name` per line)", path, core.WithoutPath(err))
	}
	if _, _, err := ak.allowed(nil, nil); err != nil {
		return nil, err
	}
	return ak, nil
}

// allowed reports whether key may log in from remote; nil only refreshes.
// When it may not, refusal says why in a few words for the log. A file
// that cannot be read refuses every key.
func (ak *authorizedKeys) allowed(key ssh.PublicKey, remote net.Addr) (ok bool, refusal string, err error) {
	ak.mu.Lock()
	defer ak.mu.Unlock()
	fi, err := os.Stat(ak.path)
	if err != nil {
		ak.keys, ak.stamp = nil, ""
		return false, "", fmt.Errorf("authorized keys file %s cannot be read (%v); every login is refused until it is restored", ak.path, core.WithoutPath(err))
	}
	var problem error
	if stamp := fileStamp(fi); stamp != ak.stamp {
		data, err := core.ReadUserFile(context.Background(), ak.path, authorizedKeysFile)
		if err != nil {
			ak.keys, ak.stamp = nil, ""
			return false, "", fmt.Errorf("%v; every login is refused until it is fixed", err)
		}
		var skipped []string
		ak.keys, skipped, problem = parseAuthorizedKeys(data, ak.path)
		for _, s := range skipped {
			ak.logf("%s", s)
		}
		ak.stamp = stamp
	}
	if key == nil {
		return false, "", problem
	}
	addr := remoteIP(remote)
	refusal = "not in " + ak.path
	// Like sshd, every line listing the key is tried: one may allow this
	// address where another does not.
	for _, k := range ak.keys {
		if !ssh.KeysEqual(k.key, key) {
			continue
		}
		if k.from == "" || matchFrom(k.from, addr) {
			return true, "", problem
		}
		refusal = fmt.Sprintf("line %d of %s allows it only from=%q (matched against the client's IP address; host names are not looked up)", k.line, ak.path, k.from)
	}
	return false, refusal, problem
}

func fileStamp(fi os.FileInfo) string {
	return fmt.Sprintf("%d/%d/%s", fi.Size(), fi.ModTime().UnixNano(), inode(fi))
}

// parseAuthorizedKeys returns the usable lines, one log line per line
// skipped for its options, and an error naming the lines that are not
// public keys at all.
func parseAuthorizedKeys(data []byte, path string) (keys []authorizedKey, skipped []string, err error) {
	var bad []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, _, options, _, err := ssh.ParseAuthorizedKey(line)
		if err != nil {
			bad = append(bad, n)
			continue
		}
		from, why := keyOptions(options)
		if why != "" {
			skipped = append(skipped, fmt.Sprintf("authorized keys file %s line %d: key %s skipped: %s", path, n, gossh.FingerprintSHA256(k), why))
			continue
		}
		keys = append(keys, authorizedKey{key: k, line: n, from: from})
	}
	if len(bad) > 0 {
		return keys, skipped, fmt.Errorf("authorized keys file %s: line(s) %v are not public keys and were skipped; fix them", path, bad)
	}
	return keys, skipped, nil
}

// keyOptions checks a line's options (sshd(8), AUTHORIZED_KEYS FILE
// FORMAT). The server offers one thing, the wizard on a terminal: no
// command, forwarding, agent, X11, tunnel or rc file. So the options that
// only forbid those are met already, from="…" is enforced at login, and
// any other option (command=, environment=, no-pty, restrict without pty,
// cert-authority, expiry-time=, ...) makes why say the line is skipped:
// honouring part of a line would grant more than it says.
func keyOptions(options []string) (from, why string) {
	restrict, pty, sawFrom := false, false, false
	for _, opt := range options {
		name, value, hasValue := strings.Cut(opt, "=")
		switch strings.ToLower(name) {
		case "from":
			v, ok := dequote(value)
			if !hasValue || !ok {
				return "", fmt.Sprintf("its option %s is not a quoted pattern list; write it as from=\"192.0.2.0/24,198.51.100.7\"", opt)
			}
			if sawFrom {
				return "", "it has two from= options; keep one, listing every pattern"
			}
			if err := checkFrom(v); err != nil {
				return "", fmt.Sprintf("its from=%q %v", v, err)
			}
			from, sawFrom = v, true
		case "restrict":
			restrict = true
		case "pty":
			pty = true
		case "no-port-forwarding", "no-agent-forwarding", "no-x11-forwarding", "no-user-rc",
			"permitopen", "permitlisten",
			// these grant what restrict took away; the server has none of it
			"port-forwarding", "agent-forwarding", "x11-forwarding", "user-rc":
		case "no-pty":
			return "", "its option no-pty forbids the terminal the wizard needs; remove no-pty to let this key use the wizard"
		default:
			if hasValue {
				name += "="
			}
			return "", fmt.Sprintf("its option %s is not one mailoauth serve enforces (it enforces from=, restrict,pty and the no-*-forwarding options); give the key a line without it to let it use the wizard", name)
		}
	}
	if restrict && !pty {
		return "", "its option restrict forbids the terminal the wizard needs; write restrict,pty to let this key use the wizard"
	}
	return from, ""
}

// dequote undoes the quoting of an option value: "…" with \" inside.
func dequote(v string) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	return strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`), true
}

// checkFrom refuses a from= list that sshd would treat as an error (and so
// refuse the key): an empty entry, or a CIDR network that does not parse
// or has host bits set.
func checkFrom(list string) error {
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimPrefix(p, "!")
		if p == "" {
			return fmt.Errorf("has an empty pattern; remove the stray comma or !")
		}
		if strings.Contains(p, "/") {
			pfx, err := netip.ParsePrefix(p)
			if err != nil || pfx != pfx.Masked() {
				return fmt.Errorf("has %s, which is not a network address with its prefix length (e.g. 192.0.2.0/24)", p)
			}
		}
	}
	return nil
}

// matchFrom follows sshd's from= rules as far as they apply without DNS
// (sshd's default UseDNS no): each comma-separated pattern is a CIDR
// network, an address, or a wildcard pattern (* and ?) matched against
// the address's text; one matching negated pattern (!…) refuses, else one
// matching pattern allows.
func matchFrom(list string, addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	text := strings.ToLower(addr.String())
	allowed := false
	for _, p := range strings.Split(list, ",") {
		neg := strings.HasPrefix(p, "!")
		p = strings.ToLower(strings.TrimPrefix(p, "!"))
		var hit bool
		if pfx, err := netip.ParsePrefix(p); err == nil {
			hit = pfx.Contains(addr)
		} else if a, err := netip.ParseAddr(p); err == nil {
			hit = a.Unmap() == addr
		} else {
			hit = wildcard(p, text)
		}
		if hit {
			if neg {
				return false
			}
			allowed = true
		}
	}
	return allowed
}

// wildcard matches s against pattern with * (any run) and ? (any one
// character), as sshd's match_pattern.
func wildcard(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := 0; i <= len(s); i++ {
				if wildcard(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
		}
		pattern, s = pattern[1:], s[1:]
	}
	return s == ""
}

// remoteIP is the client's address, IPv4-mapped IPv6 as IPv4 as sshd
// shows it; invalid when unknown.
func remoteIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	if a == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
