package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// TestMailboxRoundTrips: a mailbox's whole test with a cached token costs
// at most 18 round trips to Google (it cost 24 when the round trip logged
// in to SMTP a second time and deleted its message in two steps): IMAP 5
// (TLS, greeting, AUTHENTICATE with SASL-IR, SELECT, LOGOUT), SMTP 9 on one
// connection (TLS, greeting, EHLO, AUTH, MAIL, RCPT, DATA, the message,
// QUIT), the round trip's SEARCH and STORE+UID EXPUNGE pipelined 2, plus
// a flight the client does not wait for (a TLS close_notify).
func TestMailboxRoundTrips(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Options{Users: 1, Delegate: true, Dir: t.TempDir(), RTT: time.Millisecond})
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
	const runs = 5
	before := sb.Flights()
	for i := 0; i < runs; i++ {
		if r := tester.Check(context.Background(), mailbox, nil); !r.OK {
			t.Fatalf("%+v", r.Finding)
		}
	}
	if per := float64(sb.Flights()-before) / runs; per > 18 {
		t.Fatalf("a mailbox's test cost %.1f round trips, want at most 18", per)
	}
	if n := sb.MessageCount(mailbox); n != 0 {
		t.Fatalf("%d round-trip messages left in the INBOX", n)
	}
}
