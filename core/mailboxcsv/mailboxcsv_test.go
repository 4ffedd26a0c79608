package mailboxcsv

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mailoauth/mailoauth/core"
)

// controlOr reports whether s holds a control character other than the
// newlines and tabs allowed, a C1 control or a bidi override.
func controlOr(s string, allowed ...rune) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x20 && !strings.ContainsRune(string(allowed), r) || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x202e
	})
}

// rawControl reports whether s holds a control character but a newline or
// a tab.
func rawControl(s string) bool { return controlOr(s, '\n', '\t') }

// oneSentence fails unless err is one line without control characters that
// mentions each of want.
func oneSentence(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", want)
	}
	if msg := err.Error(); controlOr(msg) {
		t.Errorf("error is several lines or holds control characters: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err.Error(), w)
		}
	}
}

// safeMessage fails unless msg is fit for a terminal: valid UTF-8, no
// control character but (when lines) a newline, and one line unless lines.
func safeMessage(t *testing.T, msg string, lines bool) {
	t.Helper()
	clean := core.SafeText(msg)
	if lines {
		clean = core.SafeLines(msg)
	}
	if !utf8.ValidString(msg) || clean != msg || !lines && strings.Contains(msg, "\n") {
		t.Fatalf("message is not valid UTF-8, holds control characters or is several lines: %q", msg)
	}
}

func TestCSVImportReportsEveryBadLineAndKeepsNothing(t *testing.T) {
	in := "email,display_name,owner_kind,owner_name\n" +
		"user1@acme.example,User One,user,Alice\n" +
		"not-an-address,X,user,\n" +
		"user3@acme.example,,robot,\n" +
		"user4@other.example,,,\n" +
		"USER1@acme.example,,,\n"
	_, err := Parse(core.MailboxRule{Domain: "acme.example"}, strings.NewReader(in), "boxes.csv")
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
	boxes, err := Parse(core.MailboxRule{Domain: "acme.example"}, strings.NewReader(in), "boxes.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(boxes) != 2 || boxes[0].DisplayName != "Doe, Jane" || boxes[1].OwnerKind != core.OwnerACD || boxes[1].DisplayName != "user2@acme.example" {
		t.Fatalf("%+v", boxes)
	}
	var buf bytes.Buffer
	if err := Write(&buf, boxes); err != nil {
		t.Fatal(err)
	}
	again, err := Parse(core.MailboxRule{Domain: "acme.example"}, &buf, "again.csv")
	if err != nil || len(again) != 2 || again[0] != boxes[0] || again[1] != boxes[1] {
		t.Fatalf("round trip: %+v %v", again, err)
	}
	if _, err := Parse(core.MailboxRule{Domain: "acme.example"}, strings.NewReader("mail,name\n"), "x.csv"); err == nil || !strings.Contains(err.Error(), "header") {
		t.Fatalf("bad header: %v", err)
	}
}

func TestMailboxRuleCSV(t *testing.T) {
	in := "email,display_name,owner_kind,owner_name\n" +
		"user1@example.test,,user,Alice\n" +
		"Someone@Partner.test,Partner desk,workgroup,Partners\n" +
		"mailer@p.iam.gserviceaccount.com,,,\n"
	oauth := core.MailboxRule{Domain: "example.test", Kind: core.KindOAuthClient}
	_, err := Parse(oauth, strings.NewReader(in), "boxes.csv")
	if err == nil || !strings.Contains(err.Error(), "line 4") || strings.Contains(err.Error(), "line 3") {
		t.Fatalf("OAuth client import: want only line 4 refused, got %v", err)
	}
	boxes, err := Parse(oauth, strings.NewReader(strings.Join(strings.SplitAfter(in, "\n")[:3], "")), "boxes.csv")
	if err != nil || len(boxes) != 2 || boxes[1].Email != "someone@partner.test" || boxes[1].OwnerKind != core.OwnerWorkgroup {
		t.Fatalf("OAuth client import: %+v %v", boxes, err)
	}
	sa := core.MailboxRule{Domain: "example.test", Kind: core.KindServiceAccount}
	_, err = Parse(sa, strings.NewReader(in), "boxes.csv")
	if err == nil || !strings.Contains(err.Error(), "line 3: someone@partner.test is not in the domain example.test") || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("service-account import: %v", err)
	}
}

func TestCSVNameWithNULAndESCIsRefusedAndShownEscaped(t *testing.T) {
	_, err := Parse(core.MailboxRule{Domain: "example.test"}, strings.NewReader(csvHead+"user1@example.test,Ann\x00\x1b[31mRed,user,x\n"), "boxes.csv")
	oneSentence(t, err, "boxes.csv line 2: the display name", `holds a control character (\x00)`)
	if rawControl(err.Error()) {
		t.Errorf("raw control character in %q", err.Error())
	}
	// an address with them is refused with the address quoted, escaped
	_, err = Parse(core.MailboxRule{Domain: "example.test"}, strings.NewReader(csvHead+"\"us\x1b[2Jer@example.test\",A,user,x\n"), "boxes.csv")
	if err == nil || rawControl(err.Error()) {
		t.Errorf("address with ESC: %q", err)
	}
}

// A 1 MB display name in a CSV file is refused by core's rule, with its
// file, line and limit (issue 15 item 5).
func TestLongDisplayNameIsRefusedWithItsLine(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	_, err := Parse(core.MailboxRule{Domain: "example.test"}, strings.NewReader(csvHead+"a@example.test,ok,user,x\nb@example.test,"+huge+",user,y\n"), "big.csv")
	oneSentence(t, err, "big.csv line 3: the display name is 1048576 characters long, over the limit of 200")
}

// The fuzz target of the CSV import; its seeds (f.Add and
// testdata/fuzz/FuzzParse) run in every `go test`.
func FuzzParse(f *testing.F) {
	f.Add([]byte(csvHead+"user1@example.test,One,user,Alice\n"), false)
	f.Add([]byte("\ufeffemail,display_name,owner_kind,owner_name\r\nuser1@example.test,\"Doe, Jane\",workgroup,Support\r\n\r\n"), false)
	f.Add([]byte(csvHead+"a\"b@example.test,x,user,y\n"), false)
	f.Add([]byte(csvHead+"\"user@x,a,user,y\n"), true)
	f.Add([]byte(csvHead+"\"a\"x,a,user,y\n"), false)
	f.Add([]byte("email;display_name\nuser1@example.test;One\n"), false)
	f.Add([]byte("\xff\xfee\x00m\x00a\x00i\x00l\x00\n\x00"), false)
	f.Add([]byte(csvHead+"user1@example.test,Ann\x00\x1b[31m,user,x\nuser1@example.test,,,\nx@other.test,,robot,\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, oauth bool) {
		rule := core.MailboxRule{Domain: "example.test"}
		if oauth {
			rule.Kind = core.KindOAuthClient
		}
		boxes, err := Parse(rule, strings.NewReader(string(data)), "boxes.csv")
		if err != nil {
			if boxes != nil {
				t.Fatalf("mailboxes and an error: %v", err)
			}
			var ie *ImportError
			multi := errors.As(err, &ie) && len(ie.Lines) > 1
			safeMessage(t, err.Error(), multi)
			if ie != nil {
				if len(ie.Lines) == 0 {
					t.Fatal("an ImportError without a line")
				}
				for i, l := range ie.Lines {
					if l.Line < 1 || i > 0 && l.Line < ie.Lines[i-1].Line {
						t.Fatalf("bad line numbers %+v", ie.Lines)
					}
				}
			}
			return
		}
		seen := map[string]bool{}
		for _, m := range boxes {
			again := m
			if err := rule.Mailbox(&again); err != nil || again != m {
				t.Fatalf("an imported mailbox does not pass the rule again: %+v -> %+v, %v", m, again, err)
			}
			if seen[m.Email] {
				t.Fatalf("%s imported twice", m.Email)
			}
			seen[m.Email] = true
		}
	})
}
