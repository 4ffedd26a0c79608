package core

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"time"
)

// DoctorItem is one line of `mailoauth doctor`: a named probe, whether it
// passed, what was seen, and the finding when it did not.
type DoctorItem struct {
	Name     string        `json:"name"`
	OK       bool          `json:"ok"`
	Detail   string        `json:"detail"`
	Finding  *Finding      `json:"finding,omitempty"`
	Duration time.Duration `json:"duration"`
}

// MaxClockOffset is how far this machine's clock may be from Google's before
// the doctor fails it; Google refuses assertions a few minutes off.
const MaxClockOffset = 60 * time.Second

// doctorTimeout bounds each probe and each check of Doctor; tests shorten
// it.
var doctorTimeout = 15 * time.Second

// Doctor probes, in order, everything a profile depends on: the clock against
// the token endpoint, DNS for every server, TLS to the implicit-TLS servers,
// then the token, IMAP and SMTP checks of the default sender. Each failure
// carries its finding; later probes still run where they can.
func Doctor(ctx context.Context, p *Profile, cache TokenCache) []DoctorItem {
	ep := p.Endpoints.WithDefaults()
	tester, terr := NewTesterWith(p, cache, nil)
	diag := DiagContext{Mailbox: p.DefaultSender, Domain: p.Domain, Scopes: p.ScopeList(), Endpoints: ep}
	tokenURL := ep.TokenURL
	if terr == nil {
		tester.Fresh = true // the doctor judges the configuration, not a cached token
		diag = tester.Tokens.DiagContext(p.DefaultSender, CheckToken)
		tokenURL = tester.Tokens.TokenURL()
	}
	if terr == nil {
		tester.Timeout = doctorTimeout
	}
	var items []DoctorItem
	probe := func(name string, f func(ctx context.Context) (string, *Finding)) {
		pctx, cancel := context.WithTimeout(ctx, doctorTimeout)
		defer cancel()
		start := time.Now()
		detail, finding := f(pctx)
		items = append(items, DoctorItem{Name: name, OK: finding == nil, Detail: SafeText(detail), Finding: finding, Duration: time.Since(start)})
	}

	probe("clock", func(ctx context.Context) (string, *Finding) {
		off, err := MeasureClock(ctx, ep, tokenURL)
		if err != nil {
			return "could not be measured", Diagnose(&ServerError{Server: hostOfURL(tokenURL), Err: err}, diag)
		}
		if off.Abs() > MaxClockOffset {
			if terr == nil && !tester.Tokens.Cred.IsServiceAccount() {
				// No assertion is signed on the consent path; the clock
				// only skews when tokens are thought to expire.
				return describeOffset(off), NewFinding(CodeClockSkew,
					fmt.Sprintf("This server's clock is %s Google's (measured from the token endpoint's Date header), so access tokens are renewed too early or used after they expired.", offsetWords(off)),
					clockFix)
			}
			return describeOffset(off), ClockSkewFinding(off, true, p.DefaultSender)
		}
		return describeOffset(off) + " (measured from " + hostOfURL(tokenURL) + ")", nil
	})
	hosts := []struct{ what, hostport string }{{"imap", ep.IMAP}, {"smtp", ep.SMTP}, {"token", hostOfURL(tokenURL)}}
	probe("dns", func(ctx context.Context) (string, *Finding) {
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
				return "", Diagnose(&ServerError{Server: h.hostport, Err: err}, diag)
			}
			seen += fmt.Sprintf("%s -> %s; ", host, addrs[0])
		}
		if seen == "" {
			return "all servers are IP addresses", nil
		}
		return seen[:len(seen)-2], nil
	})
	probe("tls", func(ctx context.Context) (string, *Finding) {
		var seen string
		for _, s := range []struct {
			hostport string
			sec      Security
		}{{ep.IMAP, ep.IMAPSecurity}, {ep.SMTP, ep.SMTPSecurity}} {
			if s.sec != SecurityTLS {
				seen += s.hostport + " uses STARTTLS (checked with the login); "
				continue
			}
			cfg, err := ep.TLSConfig(s.hostport)
			if err != nil {
				return "", Diagnose(err, diag)
			}
			d := tls.Dialer{Config: cfg}
			conn, err := d.DialContext(ctx, "tcp", s.hostport)
			if err != nil {
				return "", Diagnose(&ServerError{Server: s.hostport, Err: err}, diag)
			}
			cert := conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
			conn.Close()
			seen += fmt.Sprintf("%s verified (valid until %s); ", s.hostport, cert.NotAfter.Format("2006-01-02"))
		}
		return seen[:len(seen)-2], nil
	})
	if terr != nil {
		f := Diagnose(terr, diag)
		for _, n := range []string{"token", "imap", "smtp"} {
			items = append(items, DoctorItem{Name: n, Detail: "the profile's credential cannot be used", Finding: f})
		}
		return items
	}
	res := tester.Check(ctx, p.DefaultSender, []CheckName{CheckToken, CheckIMAP, CheckSMTP})
	for _, name := range []CheckName{CheckToken, CheckIMAP, CheckSMTP} {
		c, ran := res.Check(name)
		switch {
		case ran && c.OK:
			detail := c.Detail
			if detail == "" {
				detail = "ok"
			}
			items = append(items, DoctorItem{Name: string(name), OK: true, Detail: detail + " (" + p.DefaultSender + ")", Duration: c.Duration})
		case ran:
			items = append(items, DoctorItem{Name: string(name), Detail: "failed for " + p.DefaultSender, Finding: res.Finding, Duration: c.Duration})
		case len(res.Checks) == 0: // cancelled before the first check began
			items = append(items, DoctorItem{Name: string(name), Detail: "not run", Finding: res.Finding})
		default:
			items = append(items, DoctorItem{Name: string(name), Detail: "not run: an earlier check failed",
				Finding: NewFinding(res.Finding.Code, "Not run because the "+string(res.Checks[len(res.Checks)-1].Name)+" check failed.", "Fix that first, then run `mailoauth doctor` again.")})
		}
	}
	return items
}

func describeOffset(off time.Duration) string {
	return "this clock is " + offsetWords(off) + " Google's"
}

// offsetWords says a clock offset as "N s ahead of", "N s behind" or
// "within a second of".
func offsetWords(off time.Duration) string {
	secs := int64(math.Round(off.Seconds()))
	switch {
	case secs > 0:
		return fmt.Sprintf("%d s ahead of", secs)
	case secs < 0:
		return fmt.Sprintf("%d s behind", -secs)
	}
	return "within a second of"
}

// clockFix is what to do about a clock that is off.
const clockFix = "Synchronise the clock with NTP (e.g. `timedatectl set-ntp true` or chrony), then retry."

// ClockSkewFinding is the clock_skew finding for a measured offset (measured
// false when the token endpoint sent no usable Date header).
func ClockSkewFinding(off time.Duration, measured bool, mailbox string) *Finding {
	if mailbox == "" {
		mailbox = "the mailbox"
	}
	fix := clockFix
	if !measured {
		return NewFinding(CodeClockSkew,
			fmt.Sprintf("Google rejected the signed assertion for %s as outside its time window, so this server's clock is probably off (the offset could not be measured).", mailbox), fix)
	}
	return NewFinding(CodeClockSkew,
		fmt.Sprintf("This server's clock is %s Google's (measured from the token endpoint's Date header), so Google rejects the signed assertion for %s.", offsetWords(off), mailbox), fix)
}
