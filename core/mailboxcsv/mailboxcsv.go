// Package mailboxcsv reads and writes the mailbox CSV file (header
// email,display_name,owner_kind,owner_name) that `mailoauth mailbox import`
// and the wizard's import take and `mailoauth mailbox export` writes. Every
// row is checked under core's mailbox rule; a file saved wrongly by a
// spreadsheet (UTF-16, ; or tab separators, stray quotes) is named as such.
//
// mailboxcsv builds on core alone: it must never import store, tui, cmd or
// another core subpackage, and core must never import it.
package mailboxcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mailoauth/mailoauth/core"
)

// Header is the header of a mailbox CSV file.
var Header = []string{"email", "display_name", "owner_kind", "owner_name"}

// LineError is one bad row of an imported file.
type LineError struct {
	Line int
	Err  error
}

// ImportError lists every bad row of an import; nothing of it was saved.
type ImportError struct {
	File  string
	Lines []LineError
}

func (e *ImportError) Error() string {
	if len(e.Lines) == 1 { // one bad row: one sentence
		return core.SafeText(fmt.Sprintf("%s line %d: %v; nothing was imported, fix it and import again", e.File, e.Lines[0].Line, e.Lines[0].Err))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s has %d bad row(s) and nothing was imported; fix them and import again:", e.File, len(e.Lines))
	for _, l := range e.Lines {
		fmt.Fprintf(&b, "\n  line %d: %v", l.Line, l.Err)
	}
	return core.SafeLines(b.String())
}

// Parse reads mailbox assignments (header
// email,display_name,owner_kind,owner_name) from the file called name and
// validates every row under the rule. Either every row is good or an
// *ImportError lists all the bad ones by line number.
func Parse(rule core.MailboxRule, r io.Reader, name string) ([]core.Mailbox, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &core.InputError{Msg: fmt.Sprintf("cannot read %s: %v", name, err), Env: true}
	}
	if err := checkCSVShape(data, name); err != nil {
		return nil, err
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, core.Inputf("%s is empty; its first line must be the header %s", name, strings.Join(Header, ","))
	}
	if err != nil {
		line, why := csvSyntaxError(err, data)
		return nil, core.Inputf("%s line %d (the header) %v; make the first line %s", name, line, why, strings.Join(Header, ","))
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	cols := map[string]int{}
	for i, h := range header {
		cols[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := cols["email"]; !ok {
		return nil, core.Inputf("%s line 1 is not the header; make the first line %s", name, strings.Join(Header, ","))
	}
	for h := range cols {
		known := false
		for _, k := range Header {
			known = known || h == k
		}
		if !known {
			return nil, core.Inputf("%s line 1 has an unknown column %q; the columns are %s", name, h, strings.Join(Header, ","))
		}
	}
	get := func(rec []string, col string) string {
		if i, ok := cols[col]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var out []core.Mailbox
	bad := &ImportError{File: name}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil { // FieldPos is only valid after a record was read
			line, why := csvSyntaxError(err, data)
			bad.Lines = append(bad.Lines, LineError{line, why})
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) > len(header) {
			bad.Lines = append(bad.Lines, LineError{line, fmt.Errorf("has %d fields, the header has %d", len(rec), len(header))})
			continue
		}
		m := core.Mailbox{Email: get(rec, "email"), DisplayName: get(rec, "display_name"),
			OwnerKind: core.OwnerKind(get(rec, "owner_kind")), OwnerName: get(rec, "owner_name")}
		if err := rule.Mailbox(&m); err != nil {
			bad.Lines = append(bad.Lines, LineError{line, err})
			continue
		}
		if first, dup := seen[m.Email]; dup {
			bad.Lines = append(bad.Lines, LineError{line, fmt.Errorf("%s is already on line %d", m.Email, first)})
			continue
		}
		seen[m.Email] = line
		out = append(out, m)
	}
	if len(bad.Lines) > 0 {
		sort.SliceStable(bad.Lines, func(i, j int) bool { return bad.Lines[i].Line < bad.Lines[j].Line })
		return nil, bad
	}
	return out, nil
}

// Write writes mailboxes in the format Parse reads.
func Write(w io.Writer, boxes []core.Mailbox) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Header); err != nil {
		return err
	}
	for _, m := range boxes {
		if err := cw.Write([]string{m.Email, m.DisplayName, string(m.OwnerKind), m.OwnerName}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
