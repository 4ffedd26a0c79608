package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/sandbox"
)

// BenchmarkMailbox is one mailbox's whole test (a freshly minted token,
// IMAP, SMTP, round trip) against the in-process sandbox; it reports the
// server flights (round trips) each costs.
func BenchmarkMailbox(b *testing.B) {
	for _, fresh := range []bool{true, false} {
		name := "cached-token"
		if fresh {
			name = "fresh-token"
		}
		b.Run(name, func(b *testing.B) {
			sb, err := sandbox.Start(sandbox.Options{Users: 1, Delegate: true, Dir: b.TempDir(), RTT: time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			defer sb.Close()
			p := &core.Profile{Domain: sb.Domain(), DefaultSender: "admin@" + sb.Domain(), Credential: sb.ServiceAccountJSON(), Endpoints: sb.Endpoints()}
			tester, err := core.NewTester(p, &core.MemoryTokenCache{})
			if err != nil {
				b.Fatal(err)
			}
			tester.Fresh = fresh
			mailbox := "user1@" + sb.Domain()
			if r := tester.Check(context.Background(), mailbox, nil); !r.OK {
				b.Fatalf("%+v", r.Finding)
			}
			flights := sb.Flights()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if r := tester.Check(context.Background(), mailbox, nil); !r.OK {
					b.Fatalf("%+v", r.Finding)
				}
			}
			b.ReportMetric(float64(sb.Flights()-flights)/float64(b.N), "roundtrips/op")
		})
	}
}
