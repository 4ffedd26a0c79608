package core

import (
	"strings"
	"testing"
)

// TestListenFlagSaysWhichFlag: a listen address that is not HOST:PORT, or
// one in use, is one sentence naming the flag and a value to use, never
// Go's "listen tcp: address ...: missing port in address".
func TestListenFlagSaysWhichFlag(t *testing.T) {
	_, err := ListenFlag("--imap", "nonsense", "127.0.0.1:1993")
	if err == nil || err.Error() != "--imap nonsense is not HOST:PORT; use e.g. 127.0.0.1:1993" {
		t.Errorf("--imap nonsense: %v", err)
	}
	ln, err := ListenFlag("--smtp", "127.0.0.1:0", "127.0.0.1:1587")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	_, err = ListenFlag("--smtp", busy, "127.0.0.1:1587")
	if err == nil || !strings.HasPrefix(err.Error(), "--smtp "+busy+" is in use by another program; ") || strings.Contains(err.Error(), "listen tcp") {
		t.Errorf("--smtp %s in use: %v", busy, err)
	}
}
