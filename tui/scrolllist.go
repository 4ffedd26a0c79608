package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// scrollList is the cursor and the visible window of a list taller than
// its room: the mailboxes and the test step's table. The step fits it to
// its room in SetSize; the view shows the window it was fitted to.
type scrollList struct {
	cursor, offset int
	// pageSize is how many rows the room holds (pgup/pgdn move by it)
	pageSize int
}

// clampTo keeps the cursor on one of n rows and the window around it.
func (l *scrollList) clampTo(n int) {
	l.cursor = max(0, min(l.cursor, n-1))
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+l.pageSize {
		l.offset = l.cursor - l.pageSize + 1
	}
	l.offset = max(0, min(l.offset, n-l.pageSize))
}

// fitted is the list with a room of rows for n rows: what SetSize stores
// and, a copy, what the view shows.
func (l scrollList) fitted(n, rows int) scrollList {
	l.pageSize = max(rows, 1)
	l.clampTo(n)
	return l
}

// moveKey moves the cursor for ↑/↓/pgup/pgdn of keys (the context's
// keys.List); handled reports whether k was one of them. The caller clamps.
func (l *scrollList) moveKey(keys listKeys, k tea.KeyPressMsg) bool {
	switch {
	case key.Matches(k, keys.Up):
		l.cursor--
	case key.Matches(k, keys.Down):
		l.cursor++
	case key.Matches(k, keys.PgDown):
		l.cursor += l.pageSize
	case key.Matches(k, keys.PgUp):
		l.cursor -= l.pageSize
	default:
		return false
	}
	return true
}
