package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// The round trip's wait follows --timeout (three times it) unless
// --roundtrip-timeout sets it: a message that never arrives is reported
// with the bound that ran out, never a fixed 60 s.
func TestRoundtripObeysTimeoutFlags(t *testing.T) {
	sb := startSandbox(t, 2)
	sb.admin(t, "POST", "/delegation", map[string]any{"client_id": sb.clientID, "scopes": []string{core.ScopeMail}})
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	setupStore(t, db, sb.dir, "--key")
	sb.admin(t, "POST", "/faults", map[string]any{"smtp_discard": true})
	for _, c := range []struct {
		flags  []string
		within string
	}{
		{[]string{"--timeout", "400ms"}, "within 1.2s"},
		{[]string{"--timeout", "5s", "--roundtrip-timeout", "300ms"}, "within 300ms"},
	} {
		l, code := testOne(t, db, "user1@example.test", append([]string{"--checks", "token,imap,smtp,roundtrip"}, c.flags...)...)
		if code != 1 || l.Finding == nil || l.Finding.Code != core.CodeRoundtripNotDelivered || !strings.Contains(l.Finding.Summary, c.within) {
			t.Errorf("%v: want roundtrip_not_delivered %q, got exit %d %+v", c.flags, c.within, code, l.Finding)
		}
	}
	r := mailoauth(t, db, "test", "-h")
	if !strings.Contains(r.stdout, "--roundtrip-timeout") && !strings.Contains(r.stdout, "-roundtrip-timeout") {
		t.Errorf("test's help does not show the round trip's bound:\n%s", r.stdout)
	}
}
