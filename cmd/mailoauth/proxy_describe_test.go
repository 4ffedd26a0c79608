package main

import "testing"

// TestProxyServingLineCounts: the proxy's start and reload lines count
// like the other commands ("2 profile(s) in ..."), never "1 profiles".
func TestProxyServingLineCounts(t *testing.T) {
	d := &proxyDirectory{domains: map[string]string{"user1@example.test": "example.test"}, profiles: 1}
	if got, want := d.describe(), "1 mailbox(es) of 1 profile(s)"; got != want {
		t.Errorf("the proxy says it is serving %q, want %q", got, want)
	}
}
