package mailboxcsv

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/mailoauth/mailoauth/core"
)

const csvHead = "email,display_name,owner_kind,owner_name\n"

// The three stray-quote files of issue 15 crashed the import (FieldPos
// after a parse error); each is now one sentence with its line and what is
// wrong, and nothing is imported.
func TestCSVStrayQuotesAreOneSentenceWithTheLine(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"bare quote", csvHead + "a\"b@example.test,x,user,y\n", "line 2: has a quote (\") inside a field that does not start with one"},
		{"never closed", csvHead + "ok@example.test,x,user,y\n\"user@x,a,user,y\n", "line 3: opens a quoted field (\") that is never closed"},
		{"text after the closing quote", csvHead + "\"a\"x,a,user,y\n", "line 2: has text after the closing quote"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			boxes, err := Parse(core.MailboxRule{Domain: "example.test"}, strings.NewReader(c.in), "bq.csv")
			if boxes != nil {
				t.Fatalf("a malformed file imported %v", boxes)
			}
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("want an ImportError, got %T %v", err, err)
			}
			oneSentence(t, err, "bq.csv "+c.want, "nothing was imported")
		})
	}
}

func TestCSVSemicolonsAndUTF16SayWhatWasFoundAndWhatIsExpected(t *testing.T) {
	utf16le := func(s string, bom bool) string {
		var b []byte
		if bom {
			b = append(b, 0xff, 0xfe)
		}
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return string(b)
	}
	rows := csvHead + "user1@example.test,One,user,Alice\n"
	cases := []struct{ name, in, want string }{
		{"semicolons", strings.ReplaceAll(rows, ",", ";"), "separates its columns with semicolons (;)"},
		{"tabs", strings.ReplaceAll(rows, ",", "\t"), "separates its columns with tabs"},
		{"UTF-16 with BOM", utf16le(rows, true), "encoded as UTF-16"},
		{"UTF-16 without BOM", utf16le(rows, false), "encoded as UTF-16"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(core.MailboxRule{Domain: "example.test"}, strings.NewReader(c.in), "boxes.csv")
			oneSentence(t, err, c.want, "comma-separated UTF-8 with the header email,display_name,owner_kind,owner_name")
			if strings.Contains(err.Error(), "is not the header") {
				t.Errorf("still the misleading wording: %v", err)
			}
		})
	}
	// A file with a semicolon inside a field is still read as CSV.
	if _, err := Parse(core.MailboxRule{Domain: "example.test"}, strings.NewReader(csvHead+"user1@example.test,\"One; Two\",user,Alice\n"), "ok.csv"); err != nil {
		t.Fatalf("a comma-separated file with a ; in a name: %v", err)
	}
}
