package main

import (
	"io"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/mailoauth/mailoauth/core"
)

// column is one column of a table: the most room it takes, and whether a
// longer cell is cut with "…" (a name) or shown whole past its column (an
// address, which a reader copies).
type column struct {
	head string
	max  int
	cut  bool
}

// writeTable writes rows under their headings, columns two spaces apart. A
// column is as wide as its widest cell up to its max, so one long value
// never pads every row (text/tabwriter sizes a column by its widest cell,
// however wide). Every cell is untrusted text and goes through
// core.SafeText.
func writeTable(w io.Writer, cols []column, rows [][]string) error {
	width := make([]int, len(cols))
	for i, c := range cols {
		width[i] = min(ansi.StringWidth(c.head), c.max)
	}
	for ri, row := range rows {
		for i := range cols {
			if i >= len(row) {
				break
			}
			row[i] = core.SafeText(row[i])
			if cols[i].cut {
				row[i] = cutTo(row[i], cols[i].max)
			}
			width[i] = max(width[i], min(ansi.StringWidth(row[i]), cols[i].max))
		}
		rows[ri] = row
	}
	var b strings.Builder
	line := func(cells []string) error {
		b.Reset()
		for i := range cols {
			cell := ""
			if i < len(cells) {
				cell = cells[i]
			}
			b.WriteString(cell)
			if i < len(cols)-1 {
				b.WriteString(strings.Repeat(" ", max(width[i]-ansi.StringWidth(cell), 0)+2))
			}
		}
		_, err := io.WriteString(w, strings.TrimRight(b.String(), " ")+"\n")
		return err
	}
	heads := make([]string, len(cols))
	for i, c := range cols {
		heads[i] = c.head
	}
	if err := line(heads); err != nil {
		return err
	}
	for _, r := range rows {
		if err := line(r); err != nil {
			return err
		}
	}
	return nil
}

// cutTo shortens s to n columns, ending it with "…" when cut.
func cutTo(s string, n int) string {
	if ansi.StringWidth(s) <= n {
		return s
	}
	return ansi.Truncate(s, n, "…")
}
