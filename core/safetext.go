package core

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The one sanitiser for untrusted text on its way to a terminal: a key's
// fields, a CSV file's names, a server's reply, an SSH user name. A hostile
// file or server must not be able to move the cursor, clear the screen,
// retitle the window or reorder what the administrator reads, so every
// control character (C0, DEL, C1: ESC, NUL, CSI...), every bidirectional
// override or isolate and every line or paragraph separator is shown as a
// visible escape (\x1b, \x00, \u202e) and every byte that is not UTF-8
// becomes U+FFFD. Ordinary Unicode (accents, CJK, emoji) is kept as it is.
// JSON output needs none of this: encoding/json escapes what it must.

// SafeText returns s fit to print on one line: newlines and tabs are
// escaped too.
func SafeText(s string) string { return sanitize(s, false) }

// SafeLines returns s fit to print as it is, keeping its newlines and tabs
// (a multi-line message); everything else SafeText escapes is escaped.
func SafeLines(s string) string { return sanitize(s, true) }

// unsafeRune reports whether r must not reach a terminal as it is.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true // bidirectional marks, embeddings, overrides, isolates
	case r == 0x2028, r == 0x2029:
		return true // line and paragraph separators
	}
	return false
}

func sanitize(s string, keepLines bool) string {
	clean := true
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n <= 1) || (unsafeRune(r) && !(keepLines && (r == '\n' || r == '\t'))) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteRune(utf8.RuneError)
		case keepLines && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
