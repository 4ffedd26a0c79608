package core

import (
	"bytes"
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

func TestCSVImportReportsEveryBadLineAndKeepsNothing(t *testing.T) {
	in := "email,display_name,owner_kind,owner_name\n" +
		"user1@acme.example,User One,user,Alice\n" +
		"not-an-address,X,user,\n" +
		"user3@acme.example,,robot,\n" +
		"user4@other.example,,,\n" +
		"USER1@acme.example,,,\n"
	_, err := ParseMailboxCSV(strings.NewReader(in), "boxes.csv", "acme.example")
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("want ImportError, got %v", err)
	}
	var lines []int
	for _, l := range ie.Lines {
		lines = append(lines, l.Line)
	}
	if len(lines) != 4 || lines[0] != 3 || lines[1] != 4 || lines[2] != 5 || lines[3] != 6 {
		t.Fatalf("bad lines %v, want 3 4 5 6: %v", lines, err)
	}
	if !strings.Contains(err.Error(), "line 6: user1@acme.example is already on line 2") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("message: %v", err)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	in := "\ufeffemail,display_name,owner_kind,owner_name\r\n" +
		"user1@acme.example,\"Doe, Jane\",workgroup,Support\r\n" +
		"user2@acme.example,,ACD,Sales queue\r\n\r\n"
	boxes, err := ParseMailboxCSV(strings.NewReader(in), "boxes.csv", "acme.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(boxes) != 2 || boxes[0].DisplayName != "Doe, Jane" || boxes[1].OwnerKind != OwnerACD || boxes[1].DisplayName != "user2@acme.example" {
		t.Fatalf("%+v", boxes)
	}
	var buf bytes.Buffer
	if err := WriteMailboxCSV(&buf, boxes); err != nil {
		t.Fatal(err)
	}
	again, err := ParseMailboxCSV(&buf, "again.csv", "acme.example")
	if err != nil || len(again) != 2 || again[0] != boxes[0] || again[1] != boxes[1] {
		t.Fatalf("round trip: %+v %v", again, err)
	}
	if _, err := ParseMailboxCSV(strings.NewReader("mail,name\n"), "x.csv", "acme.example"); err == nil || !strings.Contains(err.Error(), "header") {
		t.Fatalf("bad header: %v", err)
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
