package sshserver

import (
	"net/netip"
	"strings"
	"testing"
)

// fuzzSeedKey is a real public key (ssh-keygen -t ed25519).
const fuzzSeedKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEcN6QnApHnHMpzV3t1R4FiMJoZS4v6zwvqiaU6iM5Vv admin@example"

// FuzzParseAuthorizedKeys feeds the authorized_keys parser (and the
// from="…" matcher of each key it keeps) arbitrary files: no panic, lines
// in order, and an error of one line.
func FuzzParseAuthorizedKeys(f *testing.F) {
	const key = fuzzSeedKey
	f.Add([]byte(key + "\n"))
	f.Add([]byte("# comment\n\n" + `from="192.0.2.0/24,!192.0.2.7,*.example.test" ` + key + "\n"))
	f.Add([]byte(`restrict,pty ` + key + "\ncommand=\"/bin/sh\" " + key + "\nnot a key\n"))
	f.Add([]byte(`from="[` + "\n" + key))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, skipped, err := parseAuthorizedKeys(data, "authorized_keys")
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("error of several lines: %q", err)
		}
		last := 0
		for _, k := range keys {
			if k.key == nil || k.line <= last {
				t.Fatalf("bad key entry %+v after line %d", k, last)
			}
			last = k.line
			for _, a := range []string{"192.0.2.7", "::1", "203.0.113.9"} {
				matchFrom(k.from, netip.MustParseAddr(a))
			}
		}
		for _, s := range skipped {
			if !strings.Contains(s, "skipped") {
				t.Fatalf("a skip log line that does not say so: %q", s)
			}
		}
	})
}

// The seeds are real keys: the fuzzer starts from files that parse.
func TestFuzzSeedKeyParses(t *testing.T) {
	keys, _, err := parseAuthorizedKeys([]byte(fuzzSeedKey+"\n"), "k")
	if err != nil || len(keys) != 1 {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
}
