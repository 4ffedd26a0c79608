package core

import (
	"fmt"
	"testing"
)

// TestFindingSentence: an error line is one sentence: the summary loses its
// period and its capital, the fix follows after "; " in lower case, names
// and addresses keep their spelling.
func TestFindingSentence(t *testing.T) {
	for _, c := range []struct{ summary, fix, want string }{
		{"The file is JSON, but a list.", "Load the .json file Google downloaded.", "the file is JSON, but a list; load the .json file Google downloaded."},
		{"user@other.test is not in the domain example.test.", "Use an address of example.test.", "user@other.test is not in the domain example.test; use an address of example.test."},
		{"Google does not know the mailbox x@example.test.", "Check the spelling.", "Google does not know the mailbox x@example.test; check the spelling."},
		{"IMAP is disabled.", "OAuth clients need it.", "IMAP is disabled; OAuth clients need it."},
	} {
		f := NewFinding(CodeUnknown, c.summary, c.fix)
		if got := f.sentence(); got != c.want {
			t.Errorf("Sentence(%q, %q) = %q, want %q", c.summary, c.fix, got, c.want)
		}
		wrapped := fmt.Errorf("key.json: %w", &FindingError{Finding: f})
		if got := ErrorSentence(wrapped); got != "key.json: "+c.want {
			t.Errorf("ErrorSentence = %q", got)
		}
	}
}
