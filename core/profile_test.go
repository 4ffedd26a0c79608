package core

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeDomain(t *testing.T) {
	good := map[string]string{"Example.COM": "example.com", "bücher.example": "xn--bcher-kva.example", "xn--bcher-kva.example.": "xn--bcher-kva.example"}
	for in, want := range good {
		if got, err := NormalizeDomain(in); err != nil || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, mention := range map[string]string{"": "empty", "admin@acme.example": "only the part after @", "https://acme.example/": "URL", "localhost": "no dot", "a..b": "not a valid"} {
		_, err := NormalizeDomain(in)
		if err == nil || !strings.Contains(err.Error(), mention) {
			t.Errorf("NormalizeDomain(%q) = %v; want an error mentioning %q", in, err, mention)
		}
	}
}

func TestNormalizeMailbox(t *testing.T) {
	if got, err := NormalizeMailbox(" Admin@Bücher.example ", "xn--bcher-kva.example"); err != nil || got != "admin@xn--bcher-kva.example" {
		t.Fatalf("got %q, %v", got, err)
	}
	_, err := NormalizeMailbox("user@other.example", "acme.example")
	if f := FindingOf(err); f == nil || f.Code != CodeMailboxOutsideDomain || !strings.Contains(f.Fix, "@acme.example") {
		t.Fatalf("outside domain: %v", err)
	}
	_, err = NormalizeMailbox("mailer@acme-mail.iam.gserviceaccount.com", "acme.example")
	if f := FindingOf(err); f == nil || f.Code != CodeServiceAccountAsMailbox {
		t.Fatalf("service account as mailbox: %v", err)
	}
	for _, bad := range []string{"", "Alice <alice@acme.example>", "alice", "a@b@acme.example"} {
		if _, err := NormalizeMailbox(bad, "acme.example"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Without a profile, the tester refuses with an input error naming the
// setup command to run (core/consent's test does the same for consent.New).
func TestNoProfileSaysSetup(t *testing.T) {
	var ie *InputError
	if _, err := NewTesterWith(nil, nil, nil); !errors.As(err, &ie) || err.Error() != "no profile is configured; run `mailoauth setup` first" {
		t.Errorf("NewTesterWith(nil): %v", err)
	}
}
