package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestProgressBarReadsWithoutColour: the test step's bar shows how far a
// run is in its characters alone, so it reads the same with NO_COLOR
// (no escape codes at all) as with colour (the same cells, coloured):
// full blocks for what is done, light shade for what is not.
func TestProgressBarReadsWithoutColour(t *testing.T) {
	for _, tc := range []struct {
		pct  float64
		want string
	}{
		{0, "░░░░░░░░░░"},
		{0.5, "█████░░░░░"},
		{2.0 / 3, "███████░░░"},
		{1, "██████████"},
	} {
		plain := NewStyles(true, true).progressBar(10).ViewAs(tc.pct)
		if plain != tc.want {
			t.Errorf("NO_COLOR bar at %.2f is %q, want %q", tc.pct, plain, tc.want)
		}
		coloured := NewStyles(true, false).progressBar(10).ViewAs(tc.pct)
		if !strings.Contains(coloured, "\x1b[") || ansi.Strip(coloured) != tc.want {
			t.Errorf("colour bar at %.2f is %q, want %q in colour", tc.pct, coloured, tc.want)
		}
	}
}
