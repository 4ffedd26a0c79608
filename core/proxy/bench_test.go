package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailoauth/mailoauth/core/mailproto"
)

// leg is how a benchmark client reaches the mailbox: straight to the
// sandbox with the token, or through the proxy with the proxy password,
// over TLS or over the plain loopback listener (the host product on the
// same machine: a plain login is allowed there).
type leg int

const (
	legDirect leg = iota
	legProxyTLS
	legProxyPlain
)

var legNames = [...]string{"direct", "proxy-tls", "proxy-plain"}

// benchDial connects user u by leg l and logs in.
func benchDial(f *fixture, l leg, u string) (*imapclient.Client, error) {
	tester := f.dir.accts[u].Upstream
	var c *imapclient.Client
	var err error
	switch l {
	case legDirect:
		ep := tester.ServerEndpoints()
		var cfg *tls.Config
		if cfg, err = ep.TLSConfig(ep.IMAP); err != nil {
			return nil, err
		}
		if c, err = imapclient.DialTLS(ep.IMAP, &imapclient.Options{TLSConfig: cfg}); err != nil {
			return nil, err
		}
		tok, _, terr := tester.Tokens.Token(context.Background(), u)
		if err = terr; err == nil {
			err = c.Authenticate(mailproto.NewOAuthClient(mailproto.XOAUTH2, u, tok.AccessToken))
		}
	case legProxyTLS, legProxyPlain:
		if l == legProxyTLS {
			c, err = imapclient.DialTLS(f.imapTLS, &imapclient.Options{TLSConfig: f.tlsConfig()})
		} else {
			c, err = imapclient.DialInsecure(f.imapPlain, nil)
		}
		if err != nil {
			return nil, err
		}
		err = c.Login(u, f.password[u]).Wait()
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// reportAdded reports each leg's median and what the proxy adds to the
// straight one.
func reportAdded(b *testing.B, unit string, med [3]time.Duration) {
	for l, m := range med {
		b.ReportMetric(float64(m.Microseconds()), legNames[l]+"-median-µs/"+unit)
		if l != int(legDirect) {
			b.ReportMetric(float64((m - med[legDirect]).Microseconds()), "added-"+strings.TrimPrefix(legNames[l], "proxy-")+"-µs/"+unit)
		}
	}
}

// BenchmarkProxyParallelFetch: 100 IMAP sessions at once (10 mailboxes, 10
// sessions each: the per-mailbox default) each fetch 100 messages, first
// straight from the sandbox with the token, then through the proxy with
// the proxy password over TLS, then over the plain loopback listener.
// Every body must come back byte for byte. It reports the median latency
// of one FETCH each way and the proxy's addition (`make bench-proxy`; the
// goal on loopback is under 1 ms).
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
	// run returns the median FETCH and the process's CPU time per FETCH
	// (client, proxy and sandbox together) while all sessions fetch:
	// logins and TLS handshakes are done before, logouts after.
	run := func(l leg) (time.Duration, time.Duration) {
		var mu sync.Mutex
		var lat []time.Duration
		var wg, ready, fetched sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, sessions)
		for s := 0; s < sessions; s++ {
			u := users[s%len(users)]
			wg.Add(1)
			ready.Add(1)
			fetched.Add(1)
			go func() {
				defer wg.Done()
				markReady, markFetched := sync.OnceFunc(ready.Done), sync.OnceFunc(fetched.Done)
				defer markFetched()
				defer markReady()
				c, err := benchDial(f, l, u)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
					errs <- err
					return
				}
				markReady()
				<-start
				mine := make([]time.Duration, 0, messages)
				for i := 0; i < messages; i++ {
					start := time.Now()
					msgs, err := c.Fetch(imap.SeqSetNum(uint32(i+1)), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
					mine = append(mine, time.Since(start))
					if err != nil || len(msgs) != 1 || len(msgs[0].BodySection) != 1 || !bytes.Equal(msgs[0].BodySection[0].Bytes, bodies[u][i]) {
						errs <- fmt.Errorf("%s message %d came back wrong (%s): %v", u, i+1, legNames[l], err)
						return
					}
				}
				markFetched()
				_ = c.Logout().Wait()
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		ready.Wait()
		cpu0 := processCPU()
		close(start)
		fetched.Wait()
		cpu := processCPU() - cpu0
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		if len(lat) != sessions*messages {
			b.Fatalf("%d fetches completed, want %d", len(lat), sessions*messages)
		}
		slices.Sort(lat)
		return lat[len(lat)/2], cpu / time.Duration(len(lat))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var med, cpu [3]time.Duration
		for l := range med {
			med[l], cpu[l] = run(leg(l))
		}
		reportAdded(b, "fetch", med)
		for l, c := range cpu {
			b.ReportMetric(float64(c.Nanoseconds())/1e3, legNames[l]+"-cpu-µs/fetch")
		}
	}
}

// BenchmarkProxyCommandLatency: one session each way, NOOPs back to back:
// the proxy's own cost per command without the contention of the
// parallel run.
func BenchmarkProxyCommandLatency(b *testing.B) {
	f := startFixture(b, Config{})
	u := f.sb.Users()[1]
	var conns [3]*imapclient.Client
	for l := range conns {
		c, err := benchDial(f, leg(l), u)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[l] = c
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
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var med [3]time.Duration
		for l, c := range conns {
			med[l] = measure(c, 2000)
		}
		reportAdded(b, "noop", med)
	}
}
