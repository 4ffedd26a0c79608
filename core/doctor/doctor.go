// Package doctor is `mailoauth doctor`: it probes, in order, everything a
// profile depends on (the clock, DNS, TLS, then the token, IMAP and SMTP
// checks) and says for each what was seen and, when it failed, the finding.
//
// doctor builds on core alone: it must never import store, tui, cmd or
// another core subpackage, and core must never import it.
package doctor

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// Item is one line of `mailoauth doctor`: a named probe, whether it
// passed, what was seen, and the finding when it did not.
type Item struct {
	Name     string        `json:"name"`
	OK       bool          `json:"ok"`
	Detail   string        `json:"detail"`
	Finding  *core.Finding `json:"finding,omitempty"`
	Duration time.Duration `json:"duration"`
}

// MaxClockOffset is how far this machine's clock may be from Google's before
// the doctor fails it; Google refuses assertions a few minutes off.
const MaxClockOffset = 60 * time.Second

// ProbeTimeout bounds each probe and each check of the command's run.
const ProbeTimeout = 15 * time.Second

// Run probes, in order, everything a profile depends on: the clock against
// the token endpoint, DNS for every server, TLS to the implicit-TLS servers,
// then the token, IMAP and SMTP checks of the default sender. Each failure
// carries its finding; later probes still run where they can. timeout bounds
// each probe and each check (ProbeTimeout for the command; tests shorten it).
func Run(ctx context.Context, p *core.Profile, cache core.TokenCache, timeout time.Duration) []Item {
	ep := p.Endpoints.WithDefaults()
	tester, terr := core.NewTesterWith(p, cache, nil)
	diag := core.DiagContext{Mailbox: p.DefaultSender, Domain: p.Domain, Scopes: p.ScopeList(), Endpoints: ep}
	tokenURL := ep.TokenURL
	if terr == nil {
		tester.Fresh = true // the doctor judges the configuration, not a cached token
		diag = tester.Tokens.DiagContext(p.DefaultSender, core.CheckToken)
		tokenURL = tester.Tokens.TokenURL()
	}
	if terr == nil {
		tester.Timeout = timeout
	}
	var items []Item
	probe := func(name string, f func(ctx context.Context) (string, *core.Finding)) {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		start := time.Now()
		detail, finding := f(pctx)
		items = append(items, Item{Name: name, OK: finding == nil, Detail: core.SafeText(detail), Finding: finding, Duration: time.Since(start)})
	}

	probe("clock", func(ctx context.Context) (string, *core.Finding) {
		off, err := core.MeasureClock(ctx, ep, tokenURL)
		if err != nil {
			return "could not be measured", core.Diagnose(&core.ServerError{Server: core.HostOfURL(tokenURL), Err: err}, diag)
		}
		if off.Abs() > MaxClockOffset {
			if terr == nil && !tester.Tokens.Cred.IsServiceAccount() {
				// No assertion is signed on the consent path; the clock
				// only skews when tokens are thought to expire.
				return describeOffset(off), core.ClockRenewalFinding(off)
			}
			return describeOffset(off), core.ClockSkewFinding(off, true, p.DefaultSender)
		}
		return describeOffset(off) + " (measured from " + core.HostOfURL(tokenURL) + ")", nil
	})
	hosts := []struct{ what, hostport string }{{"imap", ep.IMAP}, {"smtp", ep.SMTP}, {"token", core.HostOfURL(tokenURL)}}
	probe("dns", func(ctx context.Context) (string, *core.Finding) {
		var seen string
		for _, h := range hosts {
			host, _, err := net.SplitHostPort(h.hostport)
			if err != nil {
				host = h.hostport
			}
			if net.ParseIP(host) != nil {
				continue
			}
			addrs, err := net.DefaultResolver.LookupHost(ctx, host)
			if err != nil {
				return "", core.Diagnose(&core.ServerError{Server: h.hostport, Err: err}, diag)
			}
			seen += fmt.Sprintf("%s -> %s; ", host, addrs[0])
		}
		if seen == "" {
			return "all servers are IP addresses", nil
		}
		return seen[:len(seen)-2], nil
	})
	probe("tls", func(ctx context.Context) (string, *core.Finding) {
		var seen string
		for _, s := range []struct {
			hostport string
			sec      core.Security
		}{{ep.IMAP, ep.IMAPSecurity}, {ep.SMTP, ep.SMTPSecurity}} {
			if s.sec != core.SecurityTLS {
				seen += s.hostport + " uses STARTTLS (checked with the login); "
				continue
			}
			cfg, err := ep.TLSConfig(s.hostport)
			if err != nil {
				return "", core.Diagnose(err, diag)
			}
			d := tls.Dialer{Config: cfg}
			conn, err := d.DialContext(ctx, "tcp", s.hostport)
			if err != nil {
				return "", core.Diagnose(&core.ServerError{Server: s.hostport, Err: err}, diag)
			}
			cert := conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
			conn.Close()
			seen += fmt.Sprintf("%s verified (valid until %s); ", s.hostport, cert.NotAfter.Format("2006-01-02"))
		}
		return seen[:len(seen)-2], nil
	})
	if terr != nil {
		f := core.Diagnose(terr, diag)
		for _, n := range []string{"token", "imap", "smtp"} {
			items = append(items, Item{Name: n, Detail: "the profile's credential cannot be used", Finding: f})
		}
		return items
	}
	res := tester.Check(ctx, p.DefaultSender, []core.CheckName{core.CheckToken, core.CheckIMAP, core.CheckSMTP})
	for _, name := range []core.CheckName{core.CheckToken, core.CheckIMAP, core.CheckSMTP} {
		c, ran := res.Check(name)
		switch {
		case ran && c.OK:
			detail := c.Detail
			if detail == "" {
				detail = "ok"
			}
			items = append(items, Item{Name: string(name), OK: true, Detail: detail + " (" + p.DefaultSender + ")", Duration: c.Duration})
		case ran:
			items = append(items, Item{Name: string(name), Detail: "failed for " + p.DefaultSender, Finding: res.Finding, Duration: c.Duration})
		case len(res.Checks) == 0: // cancelled before the first check began
			items = append(items, Item{Name: string(name), Detail: "not run", Finding: res.Finding})
		default:
			items = append(items, Item{Name: string(name), Detail: "not run: an earlier check failed",
				Finding: notRunFinding(res.Finding.Code, res.Checks[len(res.Checks)-1].Name)})
		}
	}
	return items
}

func describeOffset(off time.Duration) string {
	return "this clock is " + core.ClockOffsetWords(off) + " Google's"
}
