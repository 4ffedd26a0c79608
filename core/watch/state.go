package watch

import (
	"sort"
	"sync"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// State is what an alert reports about a mailbox's check or warning.
type State string

// The states an alert reports.
const (
	// StateFailing: the check failed (first time, a new finding, or the
	// re-notification of one still failing).
	StateFailing State = "failing"
	// StateRecovered: the check passes again, or the warning is gone.
	StateRecovered State = "recovered"
	// StateWarning: a known deadline is near (an early warning).
	StateWarning State = "warning"
)

// Alert is one notification: a state change of one mailbox's check (or of
// an early warning), with its finding and fix. It is what the webhook
// receives as JSON: profile, mailbox, check, code, summary, fix, since (when
// the failure or warning began; for recovered, when the one it ends
// began), state, time.
type Alert struct {
	Problem
	State State     `json:"state"`
	Time  time.Time `json:"time"`
	// Renotify marks the repeat of an alert still in force after the
	// re-notify period.
	Renotify bool `json:"renotify,omitempty"`
	// EmailError says the alert e-mail could not be sent, and why (e.g.
	// the default sender itself is failing).
	EmailError string `json:"email_error,omitempty"`
}

type key struct{ profile, mailbox, check string }

// status is what the tracker remembers of one mailbox's check or warning.
type status struct {
	bad      bool // failing, or the warning is in force
	warning  bool
	finding  *core.Finding
	since    time.Time
	notified time.Time
}

// tracker is the state machine of every mailbox's checks and warnings: it
// turns observations into alerts on state changes only.
type tracker struct {
	mu       sync.Mutex
	renotify time.Duration
	states   map[key]*status
}

func newTracker(renotify time.Duration) *tracker {
	return &tracker{renotify: renotify, states: map[key]*status{}}
}

// failingWith reports whether k is already failing with code.
func (t *tracker) failingWith(k key, code core.Code) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.states[k]
	return s != nil && s.bad && !s.warning && s.finding.Code == code
}

// check records one check's outcome at now; f is the finding of a failure,
// started when a new failure began (zero: now; earlier when the history
// knew it before the watcher saw it).
func (t *tracker) check(k key, ok bool, f *core.Finding, now, started time.Time) *Alert {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.states[k]
	if s == nil {
		s = &status{}
		t.states[k] = s
	}
	if ok {
		if !s.bad {
			return nil
		}
		a := alertOf(k, s.finding, s.since, StateRecovered, now)
		*s = status{}
		return a
	}
	if f == nil {
		f = unexplainedFailureFinding(k.mailbox)
	}
	switch {
	case !s.bad || s.finding.Code != f.Code:
		if started.IsZero() || started.After(now) {
			started = now
		}
		*s = status{bad: true, finding: f, since: started, notified: now}
		return alertOf(k, f, started, StateFailing, now)
	case t.renotify > 0 && now.Sub(s.notified) >= t.renotify:
		s.finding, s.notified = f, now
		a := alertOf(k, f, s.since, StateFailing, now)
		a.Renotify = true
		return a
	}
	s.finding = f
	return nil
}

// warnings replaces the warnings in force for one profile (keys whose
// check is a deadline kind) and returns the alerts: a new warning, a
// re-notification, or recovered for one that is gone.
func (t *tracker) warnings(profile string, current map[key]*core.Finding, now time.Time) []Alert {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Alert
	for k, s := range t.states {
		if k.profile != profile || !s.warning {
			continue
		}
		if _, still := current[k]; !still {
			out = append(out, *alertOf(k, s.finding, s.since, StateRecovered, now))
			delete(t.states, k)
		}
	}
	for k, f := range current {
		s := t.states[k]
		switch {
		case s == nil || s.finding.Code != f.Code:
			t.states[k] = &status{bad: true, warning: true, finding: f, since: now, notified: now}
			out = append(out, *alertOf(k, f, now, StateWarning, now))
		case t.renotify > 0 && now.Sub(s.notified) >= t.renotify:
			s.finding, s.notified = f, now
			a := alertOf(k, f, s.since, StateWarning, now)
			a.Renotify = true
			out = append(out, *a)
		default:
			s.finding = f // the wording (time left) moves on
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mailbox+out[i].Check < out[j].Mailbox+out[j].Check })
	return out
}

// forget drops the states of mailboxes no longer watched (the profile's
// own, with no mailbox, stay).
func (t *tracker) forget(profile string, keep func(mailbox string) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.states {
		if k.profile == profile && k.mailbox != "" && !keep(k.mailbox) {
			delete(t.states, k)
		}
	}
}

// forgetProfile drops every state of a profile deleted from the store.
func (t *tracker) forgetProfile(profile string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.states {
		if k.profile == profile {
			delete(t.states, k)
		}
	}
}

// Problem is a failing check or a warning in force, for /healthz and the
// wizard.
type Problem struct {
	Profile string `json:"profile"`
	Mailbox string `json:"mailbox"`
	Check   string `json:"check"`
	// Finding is what fails and its fix (its fields are the JSON's code,
	// summary and fix).
	core.Finding
	Since   time.Time `json:"since"`
	Warning bool      `json:"warning,omitempty"`
}

// problems lists every failing check and warning in force, sorted.
func (t *tracker) problems() []Problem {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Problem
	for k, s := range t.states {
		if s.bad {
			out = append(out, problemOf(k, s.finding, s.since, s.warning))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Profile != b.Profile {
			return a.Profile < b.Profile
		}
		if a.Mailbox != b.Mailbox {
			return a.Mailbox < b.Mailbox
		}
		return a.Check < b.Check
	})
	return out
}

func problemOf(k key, f *core.Finding, since time.Time, warning bool) Problem {
	p := Problem{Profile: k.profile, Mailbox: k.mailbox, Check: k.check, Since: since.UTC(), Warning: warning}
	if f != nil {
		p.Finding = *f
	}
	return p
}

func alertOf(k key, f *core.Finding, since time.Time, st State, now time.Time) *Alert {
	return &Alert{Problem: problemOf(k, f, since, st == StateWarning), State: st, Time: now.UTC()}
}
