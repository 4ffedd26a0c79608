package store

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/mailoauth/mailoauth/core"
)

// ProfileChangesSince returns the saves of the profile after revision rev,
// oldest first, as the audit log recorded them (who, when, which fields):
// what a session that loaded revision rev has missed.
func (s *Store) ProfileChangesSince(domain string, rev int64) ([]AuditEntry, error) {
	entries, err := s.Audit(domain, 0)
	if err != nil {
		return nil, err
	}
	var out []AuditEntry
	for _, e := range entries { // newest first
		if e.Action != "profile.save" {
			continue
		}
		var n int64
		if _, err := fmt.Sscanf(e.Detail, "revision %d:", &n); err != nil {
			continue
		}
		if n <= rev {
			break
		}
		e.Detail = strings.TrimSpace(e.Detail[strings.Index(e.Detail, ":")+1:])
		out = append(out, e)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// profileFields are a profile's settings as a conflict sees them, each
// with how to tell two values apart.
var profileFields = []struct {
	name string
	same func(a, b *core.Profile) bool
}{
	{"default sender", func(a, b *core.Profile) bool { return a.DefaultSender == b.DefaultSender }},
	{"credential", func(a, b *core.Profile) bool {
		return bytes.Equal(a.Credential, b.Credential) && a.P12Password == b.P12Password &&
			a.P12ClientEmail == b.P12ClientEmail && a.P12ClientID == b.P12ClientID
	}},
	{"endpoints", func(a, b *core.Profile) bool { return a.Endpoints == b.Endpoints }},
	{"scopes", func(a, b *core.Profile) bool { return slices.Equal(a.Scopes, b.Scopes) }},
	{"redirect URI", func(a, b *core.Profile) bool { return a.RedirectURI == b.RedirectURI }},
	{"consent screen", func(a, b *core.Profile) bool {
		return a.ConsentUserType == b.ConsentUserType && a.ConsentPublishing == b.ConsentPublishing
	}},
}

// RebaseProfile puts a session's profile (mine, as it loaded it: base) on
// top of the stored one (theirs), changed meanwhile by someone else. Every
// setting mine left as loaded, or set to what theirs holds, takes theirs'
// value, and the resume point is the further of the two: the result is
// what the store holds plus nothing but the session's progress. own names
// the settings the session changed to something theirs does not hold; when
// it is not empty the session's save is a real conflict and must be
// refused, as saving the result would drop those changes.
func RebaseProfile(base, mine, theirs core.Profile) (rebased core.Profile, own []string) {
	rebased = theirs
	for _, f := range profileFields {
		if !f.same(&mine, &base) && !f.same(&mine, &theirs) {
			own = append(own, f.name)
		}
	}
	rebased.WizardStep = max(mine.WizardStep, theirs.WizardStep)
	return rebased, own
}
