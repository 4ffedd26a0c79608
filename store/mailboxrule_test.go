package store

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

const testClientJSON = `{"web":{"client_id":"123456789012-abc.apps.googleusercontent.com","client_secret":"GOCSPX-test","redirect_uris":["http://127.0.0.1/callback"]}}`

func saveOAuthProfile(t *testing.T, s *Store, domain string) {
	t.Helper()
	p := testProfile(domain)
	p.Credential, p.P12Password, p.P12ClientEmail, p.P12ClientID = []byte(testClientJSON), "", "", ""
	if err := s.SaveProfile(p, actor); err != nil {
		t.Fatal(err)
	}
}

func TestOAuthClientProfileHoldsMailboxesOfAnyDomain(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	saveOAuthProfile(t, s, "example.test")
	if p, err := s.Profile("example.test"); err != nil || p.CredentialKind != core.KindOAuthClient {
		t.Fatalf("kind of the saved profile: %q %v", p.CredentialKind, err)
	}
	if err := s.PutMailbox("example.test", core.Mailbox{Email: "Someone@Partner.test"}, actor); err != nil {
		t.Fatalf("outside mailbox on an OAuth client profile: %v", err)
	}
	if err := s.PutMailboxes("example.test", []core.Mailbox{{Email: "jane@gmail.com"}, {Email: "user1@example.test"}}, actor); err != nil {
		t.Fatalf("import of outside mailboxes on an OAuth client profile: %v", err)
	}
	err := s.PutMailbox("example.test", core.Mailbox{Email: "sa@proj.iam.gserviceaccount.com"}, actor)
	if f := core.FindingOf(err); f == nil || f.Code != core.CodeServiceAccountAsMailbox {
		t.Fatalf("service account as mailbox: %v", err)
	}
	ms, _ := s.Mailboxes("example.test")
	if len(ms) != 3 || ms[0].Email != "jane@gmail.com" || ms[1].Email != "someone@partner.test" {
		t.Fatalf("mailboxes: %+v", ms)
	}

	// Going back to a service account would strand them: refused, naming them.
	err = s.SaveProfile(testProfile("example.test"), actor)
	if f := core.FindingOf(err); f == nil || f.Code != core.CodeMailboxOutsideDomain ||
		!strings.Contains(f.Summary, "2 mailbox(es)") || !strings.Contains(f.Summary, "someone@partner.test") || !strings.Contains(f.Fix, "mailbox rm") {
		t.Fatalf("replacing the OAuth client with a key while outside mailboxes remain: %v", err)
	}
	if p, _ := s.Profile("example.test"); p.CredentialKind != core.KindOAuthClient {
		t.Fatalf("the refused save changed the credential to %q", p.CredentialKind)
	}
	for _, m := range []string{"jane@gmail.com", "someone@partner.test"} {
		if err := s.DeleteMailbox("example.test", m, actor); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveProfile(testProfile("example.test"), actor); err != nil {
		t.Fatalf("key after the outside mailboxes are gone: %v", err)
	}
	if err := s.PutMailbox("example.test", core.Mailbox{Email: "someone@partner.test"}, actor); core.FindingOf(err) == nil {
		t.Fatalf("the profile is a service account again, yet took an outside mailbox: %v", err)
	}
}

func TestServiceAccountProfileRefusesOutsideMailboxes(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "example.test")
	err := s.PutMailbox("example.test", core.Mailbox{Email: "someone@partner.test"}, actor)
	if f := core.FindingOf(err); f == nil || f.Code != core.CodeMailboxOutsideDomain || !strings.Contains(f.Fix, "--client") {
		t.Fatalf("outside mailbox on a service-account profile: %v", err)
	}
	err = s.PutMailboxes("example.test", []core.Mailbox{{Email: "a@example.test"}, {Email: "someone@partner.test"}}, actor)
	if f := core.FindingOf(err); f == nil || f.Code != core.CodeMailboxOutsideDomain || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("import with an outside mailbox on a service-account profile: %v", err)
	}
	if n, _ := s.MailboxCount("example.test"); n != 0 {
		t.Fatalf("%d mailbox(es) saved from a refused import", n)
	}
}

// A profile written before the kind was kept in the clear has none in its
// record: the store derives it from the sealed credential.
func TestCredentialKindDerivedForOlderRecords(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	saveOAuthProfile(t, s, "example.test")
	err := s.update(func(tx *bolt.Tx) error {
		b := domainBucket(tx, "example.test")
		var rec map[string]any
		if err := json.Unmarshal(b.Get([]byte(profileKey)), &rec); err != nil {
			return err
		}
		prof, _ := rec["profile"].(map[string]any)
		if prof["credential_kind"] != string(core.KindOAuthClient) {
			return errors.New("the record does not hold credential_kind in the clear")
		}
		delete(prof, "credential_kind")
		raw, _ := json.Marshal(rec)
		return b.Put([]byte(profileKey), raw)
	})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Profile("example.test"); err != nil || p.CredentialKind != core.KindOAuthClient {
		t.Fatalf("derived kind: %q %v", p.CredentialKind, err)
	}
	if err := s.PutMailbox("example.test", core.Mailbox{Email: "someone@partner.test"}, actor); err != nil {
		t.Fatalf("outside mailbox on an older OAuth client record: %v", err)
	}
}
