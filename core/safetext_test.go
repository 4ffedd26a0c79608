package core

import (
	"testing"
)

func TestSafeTextEscapesControlsAndKeepsUnicode(t *testing.T) {
	cases := []struct{ in, one, lines string }{
		{"plain ascii, ok", "plain ascii, ok", "plain ascii, ok"},
		{"Bücher 東京 🙂 café", "Bücher 東京 🙂 café", "Bücher 東京 🙂 café"},
		{"a\x1b[2Jb", `a\x1b[2Jb`, `a\x1b[2Jb`},
		{"nul\x00del\x7f", `nul\x00del\x7f`, `nul\x00del\x7f`},
		{"csi\u009b31m", `csi\u009b31m`, `csi\u009b31m`},
		{"rlo\u202etxt.exe", `rlo\u202etxt.exe`, `rlo\u202etxt.exe`},
		{"iso\u2066x\u2069", `iso\u2066x\u2069`, `iso\u2066x\u2069`},
		{"two\nlines\tand\rcr", `two\nlines\tand\rcr`, "two\nlines\tand\\rcr"},
		{"bad\xffutf8", "bad\ufffdutf8", "bad\ufffdutf8"},
		{"osc\x1b]0;title\x07", `osc\x1b]0;title\x07`, `osc\x1b]0;title\x07`},
	}
	for _, c := range cases {
		if got := SafeText(c.in); got != c.one {
			t.Errorf("SafeText(%q) = %q, want %q", c.in, got, c.one)
		}
		if got := SafeLines(c.in); got != c.lines {
			t.Errorf("SafeLines(%q) = %q, want %q", c.in, got, c.lines)
		}
		if got := SafeText(c.in); got != SafeText(got) {
			t.Errorf("SafeText is not idempotent on %q", c.in)
		}
	}
}
