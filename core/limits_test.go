package core

import (
	"strings"
	"testing"
	"time"
)

// Issue 15 item 5: a 1 MB display name was stored and made `mailbox ls`
// write a gigabyte. Every stored text field is bounded in the one rule
// that the CLI, the wizard, the CSV import and the legacy import share.
func TestLongFieldsAreRefusedNamingFieldLimitAndLine(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	rule := MailboxRule{Domain: "example.test"}
	for _, c := range []struct {
		m    Mailbox
		want string
	}{
		{Mailbox{Email: "a@example.test", DisplayName: huge}, "the display name is 1048576 characters long, over the limit of 200"},
		{Mailbox{Email: "a@example.test", OwnerName: huge}, "the owner name is 1048576 characters long, over the limit of 200"},
		{Mailbox{Email: strings.Repeat("a", 300) + "@example.test"}, "is 313 characters long; an e-mail address has at most 254"},
		{Mailbox{Email: huge + "@example.test"}, "an e-mail address has at most 254"},
	} {
		err := rule.Mailbox(&c.m)
		oneSentence(t, err, c.want)
		if err != nil && len(err.Error()) > 400 {
			t.Errorf("the message quotes the runaway value: %d bytes", len(err.Error()))
		}
	}
	// 200 characters (not bytes) is legal
	ok := Mailbox{Email: "a@example.test", DisplayName: strings.Repeat("ü", 200), OwnerName: strings.Repeat("東", 200)}
	if err := rule.Mailbox(&ok); err != nil {
		t.Fatalf("200-character names: %v", err)
	}

	legacy := `{"domain":"example.test","mailboxes":[{"email":"a@example.test","display_name":"` + huge + `","password":"p"}]}`
	_, err := parseLegacy([]byte(legacy), "legacy.json")
	if err == nil || !strings.Contains(err.Error(), "mailbox 1: the display name is 1048576 characters long, over the limit of 200") {
		t.Fatalf("legacy import: %v", err)
	}
	legacy = `{"domain":"example.test","mailboxes":[{"email":"a@example.test","password":"` + strings.Repeat("p", 2000) + `"}]}`
	if _, err = parseLegacy([]byte(legacy), "legacy.json"); err == nil || !strings.Contains(err.Error(), "mailbox 1: the password is 2000 bytes long, over the limit of 1024") {
		t.Fatalf("legacy password: %v", err)
	}
	if _, err := NormalizeDomain(huge); err == nil || len(err.Error()) > 400 {
		t.Fatalf("a 1 MB domain: %.200v", err)
	}
}

// SetDefaults fills an unset (zero or negative) number and a nil func from
// the table, and leaves what is set, what the table has no default for, and
// unexported fields as they are.
func TestSetDefaults(t *testing.T) {
	type config struct {
		Max     int
		Timeout time.Duration
		Hook    func() string
		Name    string
		Kept    int
		NoDef   int
		hidden  int
	}
	hook := func() string { return "default" }
	cfg := config{Max: -1, Kept: 3, NoDef: -2, Name: "x"}
	SetDefaults(&cfg, config{Max: 10, Timeout: time.Second, Hook: hook, Name: "y", Kept: 5, hidden: 7})
	if cfg.Max != 10 || cfg.Timeout != time.Second || cfg.Hook == nil || cfg.Hook() != "default" ||
		cfg.Name != "x" || cfg.Kept != 3 || cfg.NoDef != -2 || cfg.hidden != 0 {
		t.Fatalf("SetDefaults: %+v", cfg)
	}
}

// oneSentence fails unless err is a single line naming want.
func oneSentence(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", want)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is several lines: %q", msg)
	}
	if strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		t.Errorf("error holds control characters: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
}
