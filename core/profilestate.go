package core

import (
	"fmt"
	"strings"
	"time"
)

// ProfileState is how far a profile's work really stands, as the store
// knows it, whichever face did the work (the wizard, `setup`, `test`): what
// `mailoauth profile ls` prints and the wizard's profile step shows and
// resumes from.
type ProfileState struct {
	Domain        string         `json:"domain"`
	Kind          CredentialKind `json:"credential_kind"` // "" while no credential is loaded
	DefaultSender string         `json:"default_sender"`
	Mailboxes     int            `json:"mailboxes"`
	// Tested and Passed count the mailboxes (the default sender included)
	// whose last test is stored, and those among them that passed.
	Tested int `json:"tested"`
	Passed int `json:"passed"`
	// Untested counts the mailboxes (the default sender included) with no
	// stored test result.
	Untested int `json:"untested"`
	// LastTest is when the latest of those tests ran.
	LastTest time.Time `json:"last_test,omitzero"`
	// Verified: a token was minted for one of them, so the delegation (or
	// a consent, on the OAuth client path) works.
	Verified   bool      `json:"verified"`
	WizardStep int       `json:"wizard_step"`
	Updated    time.Time `json:"updated"`
}

// Count notes one stored result of a mailbox the profile still holds.
func (s *ProfileState) Count(r MailboxResult) {
	s.Tested++
	if r.OK {
		s.Passed++
	}
	if c, ok := r.Check(CheckToken); ok && c.OK {
		s.Verified = true
	}
	if r.CheckedAt.After(s.LastTest) {
		s.LastTest = r.CheckedAt
	}
}

// Complete reports work finished: a credential, a working token and every
// mailbox (with the sender) tested and passing.
func (s ProfileState) Complete() bool {
	return s.Kind != "" && s.Verified && s.Tested > 0 && s.Passed == s.Tested && s.Untested == 0
}

// CredentialText says which credential is loaded, if any.
func (s ProfileState) CredentialText() string {
	if s.Kind == "" {
		return "no credential"
	}
	return s.Kind.Describe()
}

// VerifiedText says whether a token was had, in the credential's words.
func (s ProfileState) VerifiedText() string {
	switch {
	case s.Kind == "":
		return ""
	case s.Verified && s.Kind == KindOAuthClient:
		return "consent verified"
	case s.Verified:
		return "delegation verified"
	case s.Kind == KindOAuthClient:
		return "no consent verified yet"
	}
	return "delegation not verified yet"
}

// TestText is the last test's result and when, in the local time layout.
func (s ProfileState) TestText(layout string) string {
	if s.Tested == 0 {
		return "never tested"
	}
	verdict := fmt.Sprintf("%d/%d passed", s.Passed, s.Tested)
	if s.Passed == s.Tested {
		verdict = fmt.Sprintf("all %d passed", s.Tested)
	}
	text := "last test " + verdict + " " + s.LastTest.Local().Format(layout)
	if s.Untested > 0 {
		text += fmt.Sprintf(", %d untested", s.Untested)
	}
	return text
}

// Summary is the state in one line: credential, verification, mailboxes,
// last test.
func (s ProfileState) Summary(layout string) string {
	parts := []string{s.CredentialText()}
	if v := s.VerifiedText(); v != "" {
		parts = append(parts, v)
	}
	parts = append(parts, fmt.Sprintf("%d mailbox(es)", s.Mailboxes), s.TestText(layout))
	return strings.Join(parts, " · ")
}
