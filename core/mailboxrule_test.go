package core

import (
	"strings"
	"testing"
)

const (
	testSAJSON     = `{"type":"service_account","client_email":"m@p.iam.gserviceaccount.com"}`
	testClientJSON = `{"web":{"client_id":"1-a.apps.googleusercontent.com","client_secret":"s"}}`
)

func TestSniffCredentialKind(t *testing.T) {
	for in, want := range map[string]CredentialKind{
		testSAJSON:                          KindServiceAccount,
		"\xef\xbb\xbf\r\n" + testClientJSON: KindOAuthClient,
		`{"installed":{"client_id":"x"}}`:   KindOAuthClient,
		`{"type":"authorized_user"}`:        KindAuthorizedUser,
		"\x30\x82\x01\x00":                  KindServiceAccountP12,
		"":                                  "",
		`{"type":"external_account"}`:       "",
		`{"web":`:                           "",
		"-----BEGIN PRIVATE KEY-----":       "",
	} {
		if got := SniffCredentialKind([]byte(in)); got != want {
			t.Errorf("SniffCredentialKind(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMailboxRuleOAuthClientAcceptsAnyDomain(t *testing.T) {
	oauth := (&Profile{Domain: "example.test", Credential: []byte(testClientJSON)}).MailboxRule()
	for in, want := range map[string]string{
		"Someone@Partner.TEST": "someone@partner.test",
		"jane.doe@gmail.com":   "jane.doe@gmail.com",
		"user1@example.test":   "user1@example.test",
		"kim@bücher.example":   "kim@xn--bcher-kva.example",
	} {
		if got, err := oauth.Address(in); err != nil || got != want {
			t.Errorf("OAuth client profile: Address(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// Still refused on the OAuth client path: the service account itself, and junk.
	_, err := oauth.Address("mailer@proj.iam.gserviceaccount.com")
	if f := FindingOf(err); f == nil || f.Code != CodeServiceAccountAsMailbox {
		t.Fatalf("service account as mailbox on the OAuth client path: %v", err)
	}
	for _, bad := range []string{"", "someone", "a@b@partner.test", "Someone <someone@partner.test>", "x@partner..test", "x@localhost"} {
		if got, err := oauth.Address(bad); err == nil {
			t.Errorf("OAuth client profile accepted %q as %q", bad, got)
		}
	}
	// A domain merely ending in the same letters is no service account.
	if _, err := oauth.Address("a@notgserviceaccount.com"); err != nil {
		t.Errorf("a@notgserviceaccount.com: %v", err)
	}
}

func TestMailboxRuleServiceAccountKeepsToItsDomain(t *testing.T) {
	for name, p := range map[string]*Profile{
		"JSON key":          {Domain: "example.test", Credential: []byte(testSAJSON)},
		"stored kind only":  {Domain: "example.test", CredentialKind: KindServiceAccountP12},
		"no credential yet": {Domain: "example.test"},
	} {
		rule := p.MailboxRule()
		if got, err := rule.Address("User1@Example.test"); err != nil || got != "user1@example.test" {
			t.Errorf("%s: in-domain address: %q, %v", name, got, err)
		}
		_, err := rule.Address("someone@partner.test")
		f := FindingOf(err)
		if f == nil || f.Code != CodeMailboxOutsideDomain {
			t.Fatalf("%s: outside address: %v", name, err)
		}
		// This profile on an OAuth client takes the mailbox; a new profile
		// for the stranger's domain would not be the admin's to make.
		if !strings.Contains(f.Fix, "@example.test") || !strings.Contains(f.Fix, "--client") || strings.Contains(f.Fix, "partner.test") {
			t.Errorf("%s: the fix does not point at the OAuth client path: %s", name, f.Fix)
		}
	}
}

func TestMailboxRuleCredentialBytesWinOverStoredKind(t *testing.T) {
	// A credential just replaced in memory counts before the profile is saved again.
	p := &Profile{Domain: "example.test", CredentialKind: KindOAuthClient, Credential: []byte(testSAJSON)}
	if _, err := p.MailboxRule().Address("someone@partner.test"); FindingOf(err) == nil {
		t.Fatal("a profile whose credential is now a service account accepted an outside mailbox")
	}
	p = &Profile{Domain: "example.test", CredentialKind: KindOAuthClient}
	if _, err := p.MailboxRule().Address("someone@partner.test"); err != nil {
		t.Fatalf("stored OAuth client kind: %v", err)
	}
}
