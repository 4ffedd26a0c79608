package core

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// The limits on stored text. Every field a user or a file fills in is
// checked against them before it is stored, so no table is ever sized by a
// runaway value and no message quotes a megabyte.
const (
	// MaxAddressLen is the longest e-mail address (RFC 5321's 256-octet
	// path less its angle brackets), in characters: an internationalized
	// address is counted like any other (MailboxRule.Address).
	MaxAddressLen = 254
	// maxNameLen is the longest display or owner name, in characters.
	maxNameLen = 200
	// maxHostLen is the longest host name (DNS).
	maxHostLen = 253
	// maxSecretLen is the longest password or client secret taken from a
	// file.
	maxSecretLen = 1024
)

// checkText refuses a text field longer than max characters or holding a
// control character (ESC, NUL, a bidi override...), naming the field, its
// limit and, for a control character, which one.
func checkText(field, v string, max int) error {
	if n := utf8.RuneCountInString(v); n > max {
		return Inputf("the %s is %d characters long, over the limit of %d; shorten it", field, n, max)
	}
	if safe := SafeText(v); safe != v {
		return Inputf("the %s \"%s\" holds a control character (%s), which a terminal would obey; remove it", field, clip(safe, 60), firstEscape(v))
	}
	return nil
}

// clip shortens s to at most n characters, marking the cut with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// firstEscape is the visible escape of the first character SafeText
// escapes in s.
func firstEscape(s string) string {
	for _, r := range s {
		if e := SafeText(string(r)); e != string(r) {
			return e
		}
	}
	if !utf8.ValidString(s) {
		return "a byte that is not UTF-8"
	}
	return "?"
}

// tooLongQuoted is a value quoted in a message, clipped so a message never
// carries a runaway value.
func tooLongQuoted(v string) string {
	return fmt.Sprintf("%q", clip(strings.TrimSpace(v), 60))
}

// checkLegacyLogin bounds a legacy mailbox's user name and password. A
// password may hold any character but a line end or NUL, which no mail
// server takes.
func checkLegacyLogin(lm *LegacyMailbox) error {
	if err := checkText("username", lm.Username, MaxAddressLen); err != nil {
		return err
	}
	if n := len(lm.Password); n > maxSecretLen {
		return Inputf("the password is %d bytes long, over the limit of %d; check the exported file", n, maxSecretLen)
	}
	if strings.ContainsAny(lm.Password, "\x00\r\n") {
		return Inputf("the password holds a NUL or a line end, which no mail server takes; check the exported file")
	}
	return nil
}

// SetDefaults gives what the configuration struct *cfg leaves unset the
// value defaults has for it: a number (a count, a size or a duration) that
// is zero or negative, and a func that is nil, take the default's, where
// defaults sets one. It is how the servers' New functions (core/proxy,
// tui/sshserver) fill their limits and timeouts from one table each; the
// unexported fields of cfg are left alone.
func SetDefaults[T any](cfg *T, defaults T) {
	v, d := reflect.ValueOf(cfg).Elem(), reflect.ValueOf(defaults)
	for i := range v.NumField() {
		f, def := v.Field(i), d.Field(i)
		if !f.CanSet() || def.IsZero() {
			continue
		}
		if f.CanInt() && f.Int() <= 0 || f.Kind() == reflect.Func && f.IsNil() {
			f.Set(def)
		}
	}
}
