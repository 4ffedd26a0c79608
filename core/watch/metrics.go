package watch

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mailoauth/mailoauth/core"
)

// metrics are the watcher's Prometheus metrics, in a registry of their own
// (never the global one). Labels are bounded: profile, mailbox, check,
// finding code, deadline kind; never a token.
type metrics struct {
	reg          *prometheus.Registry
	checkOK      *prometheus.GaugeVec
	lastSuccess  *prometheus.GaugeVec
	duration     *prometheus.HistogramVec
	tokens       *prometheus.CounterVec
	findings     *prometheus.GaugeVec
	findingsMu   sync.Mutex
	deadline     *prometheus.GaugeVec
	roundSeconds prometheus.Gauge
	rounds       prometheus.Counter
	alerts       *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.checkOK = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mailoauth_check_ok",
		Help: "1 when the mailbox's last check passed, 0 when it failed or could not run because an earlier check failed."},
		[]string{"profile", "mailbox", "check"})
	m.lastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mailoauth_check_last_success_timestamp_seconds",
		Help: "Unix time of the mailbox's last passed check."}, []string{"profile", "mailbox", "check"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mailoauth_check_duration_seconds",
		Help: "How long each check took.", Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 60}},
		[]string{"profile", "check"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailoauth_tokens_total",
		Help: "Access tokens the token check used, by source: minted (new from Google) or cached."}, []string{"profile", "source"})
	m.findings = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mailoauth_findings",
		Help: "Failing checks and early warnings in force, by finding code."}, []string{"profile", "code"})
	m.deadline = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mailoauth_deadline_seconds",
		Help: "Seconds until a known deadline: a Testing app's consent expiry, an unused refresh token's end, the key's rotation age, a .p12 certificate's end (negative once past)."},
		[]string{"profile", "mailbox", "kind"})
	m.roundSeconds = prometheus.NewGauge(prometheus.GaugeOpts{Name: "mailoauth_round_duration_seconds",
		Help: "How long the last complete round took, from its first check's start to its last check's end."})
	m.rounds = prometheus.NewCounter(prometheus.CounterOpts{Name: "mailoauth_rounds_total", Help: "Rounds completed."})
	m.alerts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailoauth_alerts_total",
		Help: "Alerts sent, by state."}, []string{"state"})
	m.reg.MustRegister(m.checkOK, m.lastSuccess, m.duration, m.tokens, m.findings, m.deadline, m.roundSeconds, m.rounds, m.alerts)
	return m
}

// MetricNames lists the names of the metrics the watcher exports (for
// checking alerting rules against them).
func MetricNames() []string {
	ch := make(chan *prometheus.Desc, 32)
	go func() { newMetrics().reg.Describe(ch); close(ch) }()
	var out []string
	for d := range ch {
		if m := fqNameRe.FindStringSubmatch(d.String()); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

var fqNameRe = regexp.MustCompile(`fqName: "([a-z_]+)"`)

// result records one mailbox's checks: those that ran, and 0 for the ones
// asked for that could not run after an earlier failure.
func (m *metrics) result(profile string, r core.MailboxResult, asked []core.CheckName) {
	for _, c := range asked {
		cr, ran := r.Check(c)
		l := prometheus.Labels{"profile": profile, "mailbox": r.Mailbox, "check": string(c)}
		if !ran || !cr.OK {
			m.checkOK.With(l).Set(0)
			if ran {
				m.duration.WithLabelValues(profile, string(c)).Observe(cr.Duration.Seconds())
			}
			continue
		}
		m.checkOK.With(l).Set(1)
		m.lastSuccess.With(l).Set(float64(r.CheckedAt.Add(cr.Duration).Unix()))
		m.duration.WithLabelValues(profile, string(c)).Observe(cr.Duration.Seconds())
	}
}

// setFindings replaces the per-code counts with the problems in force,
// read under the lock: concurrent checks never add up each other's counts.
func (m *metrics) setFindings(problems func() []Problem) {
	m.findingsMu.Lock()
	defer m.findingsMu.Unlock()
	ps := problems()
	m.findings.Reset()
	for _, p := range ps {
		m.findings.WithLabelValues(p.Profile, string(p.Code)).Inc()
	}
}

// setDeadlines replaces the profile's deadlines.
func (m *metrics) setDeadlines(profile string, ds []core.Deadline, now time.Time) {
	m.deadline.DeletePartialMatch(prometheus.Labels{"profile": profile})
	for _, d := range ds {
		m.deadline.WithLabelValues(profile, d.Mailbox, string(d.Kind)).Set(d.Left(now).Seconds())
	}
}

// forget drops the series of a mailbox no longer watched (or of a whole
// profile when mailbox is empty).
func (m *metrics) forget(profile, mailbox string) {
	l := prometheus.Labels{"profile": profile}
	if mailbox != "" {
		l["mailbox"] = mailbox
	}
	m.checkOK.DeletePartialMatch(l)
	m.lastSuccess.DeletePartialMatch(l)
	if mailbox == "" {
		m.duration.DeletePartialMatch(l)
		m.tokens.DeletePartialMatch(l)
		m.deadline.DeletePartialMatch(l)
	}
}

// Health is the /healthz answer.
type Health struct {
	// State: "starting" before the first round completed, then "failing"
	// when a check fails, "warning" when only warnings are in force, "ok".
	State     string    `json:"state"`
	Rounds    int       `json:"rounds"`
	LastRound time.Time `json:"last_round,omitzero"`
	Mailboxes int       `json:"mailboxes"`
	Failing   []Problem `json:"failing"`
	Warnings  []Problem `json:"warnings"`
}

// Handler serves /metrics (Prometheus text format) and /healthz (JSON,
// HTTP 503 while a check is failing, else 200).
func (w *Watcher) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(w.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, r *http.Request) {
		h := w.Health()
		rw.Header().Set("Content-Type", "application/json")
		if h.State == "failing" {
			rw.WriteHeader(http.StatusServiceUnavailable)
		}
		enc := json.NewEncoder(rw)
		enc.SetIndent("", "  ")
		_ = enc.Encode(h)
	})
	return mux
}
