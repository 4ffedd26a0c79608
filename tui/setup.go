package tui

import "github.com/mailoauth/mailoauth/core"

// setupState is what the wizard has gathered so far: the profile being set
// up, its credential, its mailboxes, the ones selected for the test and
// the upgrade's state. The steps read and change it through their
// context's setup pointer, which all of them share, so c.setup.profile
// reads as the setup's data and c.styles as the context's.
type setupState struct {
	profile core.Profile
	// isNew: the profile is not in the store yet (its domain can be edited)
	isNew bool
	cred  *core.Credential
	// boxes is the profile's mailboxes, read from the store when the
	// mailboxes or test step first needs them (nil until then)
	boxes    *mailboxList
	selected map[string]bool
	// pasteChoice is how consents come back when the administrator chose
	// (m on the consent step); nil: pasteByDefault decides
	pasteChoice *bool
	// upg is the upgrade's state the intro and the summary show
	upg upgradeState
}

func newSetupState() *setupState { return &setupState{selected: map[string]bool{}} }

// begin makes p the profile being set up, with its stored credential and
// no mailboxes read or selected yet. How consents come back and the
// upgrade's state are the session's and stay.
func (s *setupState) begin(p core.Profile, isNew bool) {
	s.profile, s.isNew, s.cred = p, isNew, nil
	if len(p.Credential) > 0 {
		if c, err := p.LoadCredential(); err == nil {
			s.cred = c
		}
	}
	s.boxes = nil
	s.selected = map[string]bool{}
}

// isOAuthClient reports whether the profile takes the OAuth client path.
func (s *setupState) isOAuthClient() bool {
	k, ok := s.storedKind()
	return ok && k == credOAuthClient
}
