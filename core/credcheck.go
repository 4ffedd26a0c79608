package core

import "unicode/utf8"

// keyText refuses a text field of a credential file that no Google key
// holds: one with a control character (an ESC sequence in client_email
// would drive the terminal of whoever inspects the key) or one longer than
// max. what names the file ("key", "OAuth client JSON") and fix is the
// remedy.
func keyText(what, field, v string, max int, fix string) error {
	if n := utf8.RuneCountInString(v); n > max {
		return &FindingError{Finding: keyTextTooLongFinding(what, field, n, max, fix)}
	}
	if SafeText(v) != v {
		return &FindingError{Finding: keyTextControlFinding(what, field, v, fix)}
	}
	return nil
}

// keyField is one text field of a credential: its name, value and most
// characters.
type keyField struct {
	name, v string
	max     int
}

// checkKeyTexts applies keyText to each field of a credential that is
// shown to the user.
func checkKeyTexts(what, fix string, fields ...keyField) error {
	for _, f := range fields {
		if err := keyText(what, f.name, f.v, f.max, fix); err != nil {
			return err
		}
	}
	return nil
}
