package sandbox

import (
	"crypto/rsa"
	"maps"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailoauth/mailoauth/core"
)

// SetUser adds or changes a mailbox. An address outside the sandbox's
// domain is a Google account of another organisation (a partner's Workspace,
// a consumer Gmail address), as Google hosts them side by side: it can
// consent to an External OAuth client, but the domain's service account
// cannot act for it, and the domain's IMAP setting does not apply to it.
func (s *Sandbox) SetUser(u UserUpdate) error {
	email, err := core.NormalizeMailbox(u.Email, "")
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	usr := s.users[email]
	if usr == nil {
		usr = s.addUserLocked(email)
	}
	if u.IMAP != nil {
		usr.imap = *u.IMAP
	}
	if u.Suspended != nil {
		usr.suspended = *u.Suspended
	}
	return nil
}

// inDomain reports whether a (lower-case) address is a user of the
// sandbox's own Workspace domain rather than of another organisation.
func (s *Sandbox) inDomain(email string) bool {
	return strings.HasSuffix(email, "@"+s.domain)
}

// Authorize sets the domain-wide delegation entry of a client ID (replacing
// any previous one), as the Admin console's "Add new" / "Edit" does.
func (s *Sandbox) Authorize(clientID string, scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delegation[clientID] = append([]string(nil), scopes...)
}

// Deauthorize removes the delegation entry of a client ID.
func (s *Sandbox) Deauthorize(clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.delegation, clientID)
}

// SetDomainIMAP enables or disables IMAP for the whole domain.
func (s *Sandbox) SetDomainIMAP(enabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.domainIMAP = enabled
}

// SetClockSkew sets the sandbox clock to host clock + d.
func (s *Sandbox) SetClockSkew(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skew = d
}

// Revoke invalidates every live token of the user.
func (s *Sandbox) Revoke(email string) {
	email = strings.ToLower(email)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.email == email {
			t.revoked = true
		}
	}
}

// SetFaults replaces the injected faults.
func (s *Sandbox) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.throttle = throttleState{}
}

// SetClient sets the console state of an OAuth client.
func (s *Sandbox) SetClient(c ClientState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.Disabled && !c.PolicyBlocked {
		delete(s.clients, c.ClientID)
		return
	}
	s.clients[c.ClientID] = c
}

// RegisterKey adds another key of a service account (e.g. a .p12 key).
func (s *Sandbox) RegisterKey(clientEmail, clientID string, pub *rsa.PublicKey, keyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[keyID] = &saKey{clientEmail: clientEmail, clientID: clientID, pub: pub}
}

// DeleteKey deletes a key as the console does: signatures by it are rejected.
func (s *Sandbox) DeleteKey(keyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[keyID]; k != nil {
		k.deleted = true
	}
}

// MessageCount is the number of messages in the user's INBOX (-1 if unknown).
func (s *Sandbox) MessageCount(email string) int {
	s.mu.Lock()
	u := s.users[strings.ToLower(email)]
	s.mu.Unlock()
	if u == nil {
		return -1
	}
	st, err := u.mem.Status("INBOX", &imap.StatusOptions{NumMessages: true})
	if err != nil || st.NumMessages == nil {
		return -1
	}
	return int(*st.NumMessages)
}

// TokensMinted is how many access tokens the token endpoint has issued.
func (s *Sandbox) TokensMinted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.minted
}

// Logins is how many IMAP and SMTP logins the sandbox accepted, by SASL
// mechanism (XOAUTH2, OAUTHBEARER, XOAUTH).
func (s *Sandbox) Logins() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.logins)
}

// loginAccepted counts a login by mech for Logins.
func (s *Sandbox) loginAccepted(mech string) {
	s.mu.Lock()
	s.logins[mech]++
	s.mu.Unlock()
}
