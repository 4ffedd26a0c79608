package core_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// mailboxRoundTrips is what a mailbox's whole test with a cached token
// costs against Gmail, as the README's Performance section states it: 19
// round trips the client waits for (it cost 24 when the round trip logged
// in to SMTP a second time and deleted its message in two steps), and a
// TLS close_notify the sandbox counts too.
var mailboxRoundTrips = []string{
	"IMAP connect", "IMAP TLS handshake", "IMAP greeting",
	"IMAP CAPABILITY (Gmail's greeting has none)", "IMAP AUTHENTICATE with SASL-IR", "IMAP SELECT",
	"IMAP UID SEARCH", "IMAP UID STORE + UID EXPUNGE (pipelined)", "IMAP LOGOUT",
	"SMTP connect", "SMTP TLS handshake", "SMTP greeting", "SMTP EHLO", "SMTP AUTH",
	"SMTP MAIL", "SMTP RCPT", "SMTP DATA", "SMTP the message", "SMTP QUIT",
	"SMTP TLS close_notify (not waited for)",
}

// TestMailboxRoundTrips: a mailbox's whole test with a cached token costs
// exactly the round trips of mailboxRoundTrips against the sandbox with
// its RTT fault, so a redundant CAPABILITY or EHLO fails it.
func TestMailboxRoundTrips(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Options{Users: 1, Delegate: true, Dir: t.TempDir(), RTT: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	p := &core.Profile{Domain: sb.Domain(), DefaultSender: "admin@" + sb.Domain(), Credential: sb.ServiceAccountJSON(), Endpoints: sb.Endpoints()}
	tester, err := core.NewTester(p, &core.MemoryTokenCache{})
	if err != nil {
		t.Fatal(err)
	}
	mailbox := "user1@" + sb.Domain()
	if r := tester.Check(context.Background(), mailbox, nil); !r.OK {
		t.Fatalf("%+v", r.Finding)
	}
	const runs = 3
	before := sb.Flights()
	for i := 0; i < runs; i++ {
		if r := tester.Check(context.Background(), mailbox, nil); !r.OK {
			t.Fatalf("%+v", r.Finding)
		}
	}
	if per := float64(sb.Flights()-before) / runs; per != float64(len(mailboxRoundTrips)) {
		t.Fatalf("a mailbox's test cost %.1f round trips, want %d:\n  %s", per, len(mailboxRoundTrips), strings.Join(mailboxRoundTrips, "\n  "))
	}
	if n := sb.MessageCount(mailbox); n != 0 {
		t.Fatalf("%d round-trip messages left in the INBOX", n)
	}
}
