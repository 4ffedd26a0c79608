package core

import (
	"slices"
	"testing"
)

func TestTestTargetsAllIncludesTheDefaultSenderOnce(t *testing.T) {
	p := &Profile{Domain: "acme.example", DefaultSender: "administrator@acme.example"}
	boxes := []Mailbox{{Email: "sales@acme.example"}, {Email: "Administrator@acme.example"}, {Email: "help@acme.example"}}
	cases := []struct {
		name   string
		all    bool
		picked []string
		want   []string
	}{
		{"all", true, nil, []string{"administrator@acme.example", "sales@acme.example", "help@acme.example"}},
		{"all plus picked", true, []string{"other@acme.example", "sales@acme.example"},
			[]string{"administrator@acme.example", "sales@acme.example", "help@acme.example", "other@acme.example"}},
		{"picked only", false, []string{"help@acme.example"}, []string{"help@acme.example"}},
		{"nothing", false, nil, []string{"administrator@acme.example"}},
	}
	for _, c := range cases {
		if got := TestTargets(p, boxes, c.all, c.picked); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestHostSettingsOneWording(t *testing.T) {
	p := &Profile{Domain: "acme.example", DefaultSender: "administrator@acme.example"}
	h := HostSettings(p, nil)
	if h.IMAP.String() != "imap.gmail.com:993 SSL/TLS" || h.SMTP.Port != 465 ||
		h.SMTP.String() != "smtp.gmail.com:465 SSL/TLS, or port 587 STARTTLS" || h.Auth != "OAuth 2.0 (SASL XOAUTH2)" {
		t.Fatalf("Gmail's settings: %+v", h)
	}
	p.Endpoints = Endpoints{IMAP: "127.0.0.1:1143", IMAPSecurity: SecurityStartTLS, SMTP: "127.0.0.1:1587", SMTPSecurity: SecurityStartTLS}
	h = HostSettings(p, nil)
	if h.IMAP.String() != "127.0.0.1:1143 STARTTLS" || h.SMTP.String() != "127.0.0.1:1587 STARTTLS" || h.CallbackURL != "" {
		t.Fatalf("an endpoints file's settings: %+v", h)
	}
}
