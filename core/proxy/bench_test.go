package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailoauth/mailoauth/core"
)

// BenchmarkProxyParallelFetch: 100 IMAP sessions at once (10 mailboxes, 10
// sessions each: the per-mailbox default) each fetch 100 messages, first
// straight from the sandbox with the token, then through the proxy with
// the proxy password. Every body must come back byte for byte. It reports
// the median latency of one FETCH both ways and the proxy's addition
// (`make bench-proxy`; the goal on loopback is under 1 ms).
func BenchmarkProxyParallelFetch(b *testing.B) {
	const sessions, perBox, messages = 100, 10, 100
	f := startFixtureUsers(b, Config{}, sessions/perBox)
	users := f.sb.Users()[1:] // user1..user10 (admin is the first)
	bodies := map[string][][]byte{}
	// Fill each mailbox with APPEND through the proxy.
	for _, u := range users {
		c := f.dialIMAP(b)
		if err := c.Login(u, f.password[u]).Wait(); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < messages; i++ {
			body := []byte(fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: bench %d\r\n\r\n%s\r\n", u, u, i, bytes.Repeat([]byte{'a' + byte(i%26)}, 2000+i)))
			cmd := c.Append("INBOX", int64(len(body)), nil)
			if _, err := cmd.Write(body); err != nil {
				b.Fatal(err)
			}
			if err := cmd.Close(); err != nil {
				b.Fatal(err)
			}
			if _, err := cmd.Wait(); err != nil {
				b.Fatal(err)
			}
			bodies[u] = append(bodies[u], body)
		}
		c.Logout().Wait()
		c.Close()
	}
	tester := f.dir.accts[users[0]].Upstream
	ep := tester.ServerEndpoints()
	upCfg, err := ep.TLSConfig(ep.IMAP)
	if err != nil {
		b.Fatal(err)
	}
	run := func(direct bool) []time.Duration {
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		errs := make(chan error, sessions)
		for s := 0; s < sessions; s++ {
			u := users[s%len(users)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				var c *imapclient.Client
				var err error
				if direct {
					c, err = imapclient.DialTLS(ep.IMAP, &imapclient.Options{TLSConfig: upCfg})
				} else {
					c, err = imapclient.DialTLS(f.imapTLS, &imapclient.Options{TLSConfig: f.tlsConfig()})
				}
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				if direct {
					tok, _, err := tester.Tokens.Token(context.Background(), u)
					if err == nil {
						err = c.Authenticate(core.NewXOAUTH2Client(u, tok.AccessToken))
					}
					if err != nil {
						errs <- err
						return
					}
				} else if err := c.Login(u, f.password[u]).Wait(); err != nil {
					errs <- err
					return
				}
				if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
					errs <- err
					return
				}
				mine := make([]time.Duration, 0, messages)
				for i := 0; i < messages; i++ {
					start := time.Now()
					msgs, err := c.Fetch(imap.SeqSetNum(uint32(i+1)), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
					mine = append(mine, time.Since(start))
					if err != nil || len(msgs) != 1 || len(msgs[0].BodySection) != 1 || !bytes.Equal(msgs[0].BodySection[0].Bytes, bodies[u][i]) {
						errs <- fmt.Errorf("%s message %d came back wrong (direct=%v): %v", u, i+1, direct, err)
						return
					}
				}
				_ = c.Logout().Wait()
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		if len(lat) != sessions*messages {
			b.Fatalf("%d fetches completed, want %d", len(lat), sessions*messages)
		}
		slices.Sort(lat)
		return lat
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := run(true)
		p := run(false)
		md, mp := d[len(d)/2], p[len(p)/2]
		b.ReportMetric(float64(md.Microseconds()), "direct-median-µs/fetch")
		b.ReportMetric(float64(mp.Microseconds()), "proxy-median-µs/fetch")
		b.ReportMetric(float64((mp - md).Microseconds()), "added-median-µs/fetch")
	}
}

// BenchmarkProxyCommandLatency: one session, NOOPs back to back, straight
// and through the proxy: the proxy's own cost per command without the
// contention of the parallel run.
func BenchmarkProxyCommandLatency(b *testing.B) {
	f := startFixture(b, Config{})
	u := f.sb.Users()[1]
	tester := f.dir.accts[u].Upstream
	ep := tester.ServerEndpoints()
	upCfg, err := ep.TLSConfig(ep.IMAP)
	if err != nil {
		b.Fatal(err)
	}
	dial := func(direct bool) *imapclient.Client {
		var c *imapclient.Client
		var err error
		if direct {
			c, err = imapclient.DialTLS(ep.IMAP, &imapclient.Options{TLSConfig: upCfg})
			if err == nil {
				tok, _, terr := tester.Tokens.Token(context.Background(), u)
				if err = terr; err == nil {
					err = c.Authenticate(core.NewXOAUTH2Client(u, tok.AccessToken))
				}
			}
		} else {
			c, err = imapclient.DialTLS(f.imapTLS, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: f.pool, ServerName: "127.0.0.1"}})
			if err == nil {
				err = c.Login(u, f.password[u]).Wait()
			}
		}
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	measure := func(c *imapclient.Client, n int) time.Duration {
		lat := make([]time.Duration, 0, n)
		for i := 0; i < n; i++ {
			start := time.Now()
			if err := c.Noop().Wait(); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		return lat[len(lat)/2]
	}
	dc, pc := dial(true), dial(false)
	defer dc.Close()
	defer pc.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		md, mp := measure(dc, 2000), measure(pc, 2000)
		b.ReportMetric(float64(md.Microseconds()), "direct-median-µs/noop")
		b.ReportMetric(float64(mp.Microseconds()), "proxy-median-µs/noop")
		b.ReportMetric(float64((mp - md).Microseconds()), "added-median-µs/noop")
	}
}
