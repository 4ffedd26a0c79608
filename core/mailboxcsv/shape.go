package mailboxcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"

	"github.com/mailoauth/mailoauth/core"
)

// csvExpected is what a mailbox CSV file must be, said the same way in
// every message about its shape.
func csvExpected() string {
	return "comma-separated UTF-8 with the header " + strings.Join(Header, ",")
}

// checkCSVShape looks at the start of a mailbox CSV file for the mistakes a
// spreadsheet makes when it saves one (UTF-16 text, ; or tab as the
// separator) and names them, instead of the header "not being the header".
func checkCSVShape(data []byte, name string) error {
	head := data[:min(len(data), 4096)]
	if bytes.HasPrefix(head, []byte{0xff, 0xfe}) || bytes.HasPrefix(head, []byte{0xfe, 0xff}) || looksUTF16(head) {
		return core.Inputf("%s is encoded as UTF-16 (as Excel's \"Unicode text\" saves it); save it as %s (Excel: Save As > CSV UTF-8)", name, csvExpected())
	}
	first, _, _ := bytes.Cut(head, []byte("\n"))
	first = bytes.TrimPrefix(first, []byte("\xef\xbb\xbf"))
	if !bytes.ContainsRune(first, ',') {
		for _, sep := range []struct {
			b    byte
			name string
		}{{';', "semicolons (;)"}, {'\t', "tabs"}, {'|', "vertical bars (|)"}} {
			if bytes.IndexByte(first, sep.b) >= 0 {
				return core.Inputf("%s separates its columns with %s; save it as %s (in a spreadsheet: CSV with comma as the field delimiter)", name, sep.name, csvExpected())
			}
		}
	}
	return nil
}

// looksUTF16 reports whether text without a byte-order mark is UTF-16: every
// other byte of its ASCII part is NUL.
func looksUTF16(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	n := min(len(b), 64) &^ 1
	zeros := 0
	for i := 0; i < n; i++ {
		if b[i] == 0 {
			zeros++
		}
	}
	return zeros*3 >= n // a third or more NUL bytes: not text in UTF-8
}

// csvSyntaxError turns an error of encoding/csv reading data into the line
// it is on and what is wrong, in words a spreadsheet user knows.
func csvSyntaxError(err error, data []byte) (int, error) {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return 0, fmt.Errorf("cannot be read (%v)", err)
	}
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return pe.Line, fmt.Errorf(`has a quote (") inside a field that does not start with one (at character %d); put the whole field in quotes and double the quote inside it, e.g. "a""b"`, pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote) && pe.Column > len(lineOf(data, pe.Line)):
		// The reader ran to the end of the file looking for the closing quote.
		return pe.StartLine, errors.New(`opens a quoted field (") that is never closed; add the closing quote at the end of the field`)
	case errors.Is(pe.Err, csv.ErrQuote):
		return pe.Line, fmt.Errorf(`has text after the closing quote of a quoted field (at character %d); a quoted field ends with its quote followed by a comma or the end of the line, and a quote inside it is doubled ("")`, pe.Column)
	}
	return pe.StartLine, fmt.Errorf("is not valid CSV (%v)", pe.Err)
}

// lineOf returns line n (1-based) of data without its line end.
func lineOf(data []byte, n int) []byte {
	for ; n > 1 && len(data) > 0; n-- {
		_, data, _ = bytes.Cut(data, []byte("\n"))
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}
