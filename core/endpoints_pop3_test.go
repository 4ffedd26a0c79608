package core

import (
	"strings"
	"testing"
)

// TestEndpointsPOP3IsOptional: an endpoints file without pop3 still loads;
// Gmail's POP3 server is the default only beside Gmail's IMAP server, so a
// token for another server is never sent to Google.
func TestEndpointsPOP3IsOptional(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{}`, gmailPOP3},
		{`{"imap":"imap.gmail.com:993"}`, gmailPOP3},
		{`{"imap":"mail.example.test:993","smtp":"mail.example.test:465"}`, ""},
		{`{"imap":"mail.example.test:993","pop3":"mail.example.test:995"}`, "mail.example.test:995"},
	} {
		ep, err := parseEndpoints([]byte(c.json), "ep.json")
		if err != nil || ep.POP3 != c.want {
			t.Errorf("%s: pop3 %q, %v; want %q", c.json, ep.POP3, err, c.want)
		}
	}
	if _, err := parseEndpoints([]byte(`{"pop3":"mail.example.test"}`), "ep.json"); err == nil || !strings.Contains(err.Error(), "pop3 is \"mail.example.test\"; write it as host:port") {
		t.Errorf("pop3 without a port: want the host:port error, got %v", err)
	}
}
