package core

import (
	"fmt"
	"time"

	"golang.org/x/oauth2"
)

// Early warnings: nothing has failed yet, but something will stop working
// by a known date unless somebody acts. Each is a finding with its fix, and
// a Deadline the watcher exports as seconds left.
const (
	// CodeConsentExpiring: the refresh token of an app in Testing (or one
	// Google gave a lifetime) ends soon; publish the app or re-consent.
	CodeConsentExpiring Code = "consent_expiring"
	// CodeRefreshTokenIdle: a refresh token unused for months; Google
	// drops those unused for six months.
	CodeRefreshTokenIdle Code = "refresh_token_idle"
	// CodeKeyRotationDue: the service-account key is older than the
	// organisation's rotation age.
	CodeKeyRotationDue Code = "key_rotation_due"
	// CodeKeyCertificateExpiring: the .p12 key's certificate ends soon.
	CodeKeyCertificateExpiring Code = "key_certificate_expiring"
)

// Warning thresholds.
const (
	// consentExpiryWarning is how long before a refresh token's end the
	// consent_expiring warning starts.
	consentExpiryWarning = 48 * time.Hour
	// refreshIdleLife is how long Google keeps a refresh token nobody uses.
	refreshIdleLife = 183 * 24 * time.Hour
	// refreshIdleWarning is how long before that the warning starts.
	refreshIdleWarning = 30 * 24 * time.Hour
	// DefaultKeyMaxAge is the default rotation age of a service-account key.
	DefaultKeyMaxAge = 90 * 24 * time.Hour
	// certExpiryWarning is how long before a .p12 certificate's end the
	// warning starts.
	certExpiryWarning = 30 * 24 * time.Hour
)

// DeadlineKind names what a Deadline is about (a metric label).
type DeadlineKind string

// The deadlines mailoauth knows of.
const (
	DeadlineConsentExpiry  DeadlineKind = "consent_expiry"
	DeadlineRefreshIdle    DeadlineKind = "refresh_token_idle"
	DeadlineKeyRotation    DeadlineKind = "key_rotation"
	DeadlineKeyCertificate DeadlineKind = "key_certificate"
)

// Deadline is a known time by which something stops working (or is due)
// unless acted on. Finding is set once the warning threshold is reached.
type Deadline struct {
	Mailbox string // empty: the profile's credential
	Kind    DeadlineKind
	At      time.Time // on this machine's clock
	Finding *Finding
}

// Left is the time left at now (negative once past).
func (d Deadline) Left(now time.Time) time.Duration { return d.At.Sub(now) }

// refreshExpiry is the end of a refresh token Google gave a lifetime
// (refresh_token_expires_in), counted from the response time at; zero when
// it sent none.
func refreshExpiry(ot *oauth2.Token, at time.Time) time.Time {
	var secs float64
	switch v := ot.Extra("refresh_token_expires_in").(type) {
	case float64:
		secs = v
	case int:
		secs = float64(v)
	case string:
		_, _ = fmt.Sscan(v, &secs)
	}
	if secs <= 0 {
		return time.Time{}
	}
	return at.Add(time.Duration(secs * float64(time.Second))).UTC()
}

// ConsentDeadlines are the deadlines of one mailbox's consent: the end of
// its refresh token when Google gave it a lifetime or the app is in
// Testing (testing: as far as mailoauth knows; 7 days from consent), and
// the end of an unused one (lastUsed: the latest refresh known). offset is
// this machine's clock minus Google's (MeasureClock), since Google dates
// consent by its own clock; now is this machine's time.
func ConsentDeadlines(rt RefreshToken, testing bool, lastUsed time.Time, offset time.Duration, now time.Time) []Deadline {
	if rt.Token == "" {
		return nil
	}
	var out []Deadline
	end := rt.ExpiresAt
	if end.IsZero() && testing && !rt.ConsentedAt.IsZero() {
		end = rt.ConsentedAt.Add(TestingRefreshTokenLife)
	}
	if !end.IsZero() {
		d := Deadline{Mailbox: rt.Mailbox, Kind: DeadlineConsentExpiry, At: end.Add(offset)}
		if left := d.Left(now); left <= consentExpiryWarning {
			d.Finding = consentExpiringFinding(rt.Mailbox, left, d.At, rt.ConsentedAt)
		}
		out = append(out, d)
	}
	used := rt.ConsentedAt.Add(offset)
	if rt.Rotated.Add(offset).After(used) {
		used = rt.Rotated.Add(offset)
	}
	if lastUsed.After(used) {
		used = lastUsed
	}
	if !used.IsZero() {
		d := Deadline{Mailbox: rt.Mailbox, Kind: DeadlineRefreshIdle, At: used.Add(refreshIdleLife)}
		if d.Left(now) <= refreshIdleWarning {
			d.Finding = refreshTokenIdleFinding(rt.Mailbox, now.Sub(used), d.At)
		}
		out = append(out, d)
	}
	return out
}

// KeyDeadlines are the deadlines of a service-account key: its rotation
// (created + maxAge; the creation is the .p12 certificate's start, else
// loaded, when the key was saved) and a .p12 certificate's end.
func KeyDeadlines(c *Credential, loaded time.Time, maxAge time.Duration, now time.Time) []Deadline {
	if c == nil || !c.IsServiceAccount() {
		return nil
	}
	if maxAge <= 0 {
		maxAge = DefaultKeyMaxAge
	}
	var out []Deadline
	created, from := c.CertNotBefore, "its certificate"
	if created.IsZero() {
		created, from = loaded, "when it was loaded into mailoauth"
	}
	id := c.PrivateKeyID
	if id == "" {
		id = c.Fingerprint
	}
	if !created.IsZero() {
		d := Deadline{Kind: DeadlineKeyRotation, At: created.Add(maxAge)}
		if d.Left(now) <= 0 {
			d.Finding = keyRotationDueFinding(id, c.ClientEmail, now.Sub(created), from, created, maxAge)
		}
		out = append(out, d)
	}
	if !c.CertNotAfter.IsZero() {
		d := Deadline{Kind: DeadlineKeyCertificate, At: c.CertNotAfter}
		if left := d.Left(now); left <= certExpiryWarning {
			d.Finding = keyCertificateExpiringFinding(id, c.ClientEmail, left, c.CertNotAfter)
		}
		out = append(out, d)
	}
	return out
}

// inWords says a time left: "in 23 hours", "in 3 days", "already".
func inWords(left time.Duration) string {
	switch {
	case left <= 0:
		return "now"
	case left < 2*time.Hour:
		return fmt.Sprintf("in %d minutes", int(left.Minutes()))
	case left < 72*time.Hour:
		return fmt.Sprintf("in %d hours", int(left.Hours()))
	}
	return fmt.Sprintf("in %d days", int(left.Hours()/24))
}
