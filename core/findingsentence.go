package core

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// sentence renders the finding as the one sentence an error line shows
// ("mailoauth: <what is wrong>; <what to do>"): the summary without its
// closing period, then the fix, each starting in lower case unless it
// starts with a name. The wizard shows Summary and Fix apart instead.
func (f *Finding) sentence() string {
	if f == nil {
		return ""
	}
	s := lowerFirst(strings.TrimRight(strings.TrimSpace(f.Summary), "."))
	if fix := strings.TrimSpace(f.Fix); fix != "" {
		s += "; " + lowerFirst(fix)
	}
	return s
}

// ErrorSentence is err's text with every finding it carries rendered as one
// sentence (Finding.Sentence): the command line's error line.
func ErrorSentence(err error) string {
	msg := err.Error()
	if f := FindingOf(err); f != nil {
		msg = strings.Replace(msg, f.String(), f.sentence(), 1)
	}
	return msg
}

// names keep their capital at the start of a sentence's second half.
var names = map[string]bool{"Google": true, "Gmail": true, "Workspace": true, "OAuth": true, "I": true}

// lowerFirst lower-cases s's first letter when its first word is an
// ordinary word (one capital, then lower case, not a name), so "The file"
// becomes "the file" but "Google", "IMAP" and "user@example.test" stay.
func lowerFirst(s string) string {
	word, _, _ := strings.Cut(s, " ")
	word = strings.TrimRight(word, ",:;.")
	r, n := utf8.DecodeRuneInString(word)
	if !unicode.IsUpper(r) || names[word] {
		return s
	}
	for _, c := range word[n:] {
		if !unicode.IsLower(c) {
			return s
		}
	}
	return string(unicode.ToLower(r)) + s[n:]
}
