package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"
)

// TestSandboxRTTFlagDelaysChecks: `mailoauth sandbox --rtt` makes the
// Internet slow for a real `mailoauth test`: its token check (a new HTTP
// connection, then the token request) takes at least the two round trips
// it costs, and the sandbox counts them.
func TestSandboxRTTFlagDelaysChecks(t *testing.T) {
	const rtt = 250 * time.Millisecond
	sb := startSandbox(t, 1, "--delegate", "--rtt", rtt.String())
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupStore(t, db, sb.dir, "--key", "--no-verify")
	var before struct {
		Flights int64 `json:"rtt_flights"`
	}
	sb.adminState(t, &before)
	line, code := testOne(t, db, "user1@example.test", "--checks", "token")
	if code != 0 || !line.OK {
		t.Fatalf("test exit %d: %+v", code, line)
	}
	var tok struct {
		MS int64 `json:"ms"`
	}
	if err := json.Unmarshal(line.Checks["token"], &tok); err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(tok.MS) * time.Millisecond; got < 2*rtt {
		t.Errorf("with --rtt %s the token check took %s, want at least %s (the connect and the token request)", rtt, got, 2*rtt)
	}
	var after struct {
		Flights int64 `json:"rtt_flights"`
	}
	sb.adminState(t, &after)
	if n := after.Flights - before.Flights; n < 2 {
		t.Errorf("the sandbox counted %d round trips for a token check, want at least 2", n)
	}
}
