package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// One long (legal) value must not pad every row to its width: the output
// stays proportional to the data, not to rows × the widest cell.
func TestTableIsNotSizedByItsWidestCell(t *testing.T) {
	cols := []column{{"EMAIL", 48, false}, {"DISPLAY NAME", 32, true}, {"OWNER", 32, true}}
	const n = 100_000
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = []string{fmt.Sprintf("u%d@example.test", i), "User", "user"}
	}
	long := strings.Repeat("a", 240) + "@example.test"
	rows[7] = []string{long, strings.Repeat("N", 200), "user:" + strings.Repeat("O", 200)}
	var buf bytes.Buffer
	if err := writeTable(&buf, cols, rows); err != nil {
		t.Fatal(err)
	}
	if max := n * (48 + 32 + 32 + 8); buf.Len() > max {
		t.Fatalf("%d rows wrote %d bytes, more than %d: a column is sized by one long value", n, buf.Len(), max)
	}
	lines := strings.Split(buf.String(), "\n")
	if !strings.Contains(lines[8], long) {
		t.Errorf("the long address is not shown whole: %q", lines[8])
	}
	if !strings.Contains(lines[8], strings.Repeat("N", 31)+"…") || strings.Contains(lines[8], strings.Repeat("N", 33)) {
		t.Errorf("the long name is not cut to 32 columns with …: %q", lines[8])
	}
	if got := lines[2]; !strings.HasPrefix(got, "u1@example.test ") || len(got) > 48+2+32+2+4 {
		t.Errorf("an ordinary row: %q", got)
	}
}

// A cell with control characters reaches the terminal escaped.
func TestTableEscapesControlCharacters(t *testing.T) {
	var buf bytes.Buffer
	if err := writeTable(&buf, []column{{"A", 20, true}, {"B", 20, false}}, [][]string{{"x\x1b[2Jy", "n\x00l"}}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(buf.String(), "\x1b\x00") || !strings.Contains(buf.String(), `x\x1b[2Jy`) {
		t.Fatalf("%q", buf.String())
	}
}
