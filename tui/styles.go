package tui

import (
	"image/color"
	"os"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/progress"
	"charm.land/lipgloss/v2"
)

// Styles is every style the wizard uses, built for a light or dark
// background; with NO_COLOR set they carry no colour at all.
type Styles struct {
	NoColor bool
	IsDark  bool

	App         lipgloss.Style
	Title       lipgloss.Style
	Badge       lipgloss.Style
	Heading     lipgloss.Style
	Text        lipgloss.Style
	Muted       lipgloss.Style
	Label       lipgloss.Style
	Value       lipgloss.Style
	Code        lipgloss.Style
	OK          lipgloss.Style
	Error       lipgloss.Style
	Warn        lipgloss.Style
	Key         lipgloss.Style
	Selected    lipgloss.Style
	Box         lipgloss.Style
	FocusLabel  lipgloss.Style
	StepDone    lipgloss.Style
	StepCurrent lipgloss.Style
	StepTodo    lipgloss.Style
	Sidebar     lipgloss.Style
	Dialog      lipgloss.Style
	Help        help.Styles
	Accent      color.Color
	Subtle      color.Color
}

// noColor reports whether the NO_COLOR convention asks for no colour.
func noColor() bool {
	v, ok := os.LookupEnv("NO_COLOR")
	return ok && v != ""
}

// NewStyles builds the styles for a background; noColor drops every colour.
func NewStyles(isDark, noColor bool) Styles {
	ld := lipgloss.LightDark(isDark)
	c := func(light, dark string) color.Color {
		if noColor {
			return nil
		}
		return ld(lipgloss.Color(light), lipgloss.Color(dark))
	}
	fg := func(s lipgloss.Style, col color.Color) lipgloss.Style {
		if col == nil {
			return s
		}
		return s.Foreground(col)
	}
	accent := c("#5A3FD9", "#9D8CFF")
	green := c("#1A7F37", "#56D364")
	red := c("#CF222E", "#FF7B72")
	yellow := c("#9A6700", "#E3B341")
	muted := c("#6E7781", "#8B949E")
	text := c("#1F2328", "#E6EDF3")
	code := c("#0550AE", "#79C0FF")
	border := c("#D0D7DE", "#30363D")

	s := Styles{NoColor: noColor, IsDark: isDark, Accent: accent, Subtle: muted}
	s.App = lipgloss.NewStyle()
	s.Title = fg(lipgloss.NewStyle().Bold(true), accent)
	s.Badge = lipgloss.NewStyle().Bold(true)
	if !noColor {
		s.Badge = s.Badge.Foreground(c("#FFFFFF", "#0D1117")).Background(yellow).Padding(0, 1)
	} else {
		s.Badge = s.Badge.Padding(0, 1)
	}
	s.Heading = fg(lipgloss.NewStyle().Bold(true), text)
	s.Text = fg(lipgloss.NewStyle(), text)
	s.Muted = fg(lipgloss.NewStyle(), muted)
	if noColor {
		s.Muted = s.Muted.Faint(true)
	}
	s.Label = fg(lipgloss.NewStyle(), muted)
	s.FocusLabel = fg(lipgloss.NewStyle().Bold(true), accent)
	s.Value = fg(lipgloss.NewStyle(), text)
	s.Code = fg(lipgloss.NewStyle(), code)
	s.OK = fg(lipgloss.NewStyle().Bold(true), green)
	s.Error = fg(lipgloss.NewStyle().Bold(true), red)
	s.Warn = fg(lipgloss.NewStyle().Bold(true), yellow)
	s.Key = fg(lipgloss.NewStyle().Bold(true), accent)
	s.Selected = fg(lipgloss.NewStyle().Bold(true), accent)
	if noColor {
		s.Selected = s.Selected.Reverse(true)
	}
	s.Box = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1)
	s.Dialog = lipgloss.NewStyle().Border(lipgloss.DoubleBorder()).Padding(0, 2)
	if border != nil {
		s.Box = s.Box.BorderForeground(border)
		s.Dialog = s.Dialog.BorderForeground(accent)
	}
	s.StepDone = fg(lipgloss.NewStyle(), green)
	s.StepCurrent = fg(lipgloss.NewStyle().Bold(true), accent)
	s.StepTodo = fg(lipgloss.NewStyle(), muted)
	s.Sidebar = lipgloss.NewStyle().Border(lipgloss.NormalBorder(), false, true, false, false).PaddingRight(1)
	if border != nil {
		s.Sidebar = s.Sidebar.BorderForeground(border)
	}
	if noColor {
		s.Help = help.Styles{
			Ellipsis: lipgloss.NewStyle(), ShortKey: lipgloss.NewStyle().Bold(true), ShortDesc: lipgloss.NewStyle(),
			ShortSeparator: lipgloss.NewStyle(), FullKey: lipgloss.NewStyle().Bold(true), FullDesc: lipgloss.NewStyle(),
			FullSeparator: lipgloss.NewStyle(),
		}
	} else {
		s.Help = help.DefaultStyles(isDark)
	}
	return s
}

// progressBar is bubbles' progress bar in these colours, width columns
// wide, drawn with ViewAs (no animation, so a view stays pure) and without
// its percentage (the test step writes done/total beside it). It fills
// with full blocks: the default half block (▌) is made for blending two
// colours per cell, and with NO_COLOR, where the colours are nil and the
// bar carries no escape codes at all, it would leave a gap in every cell.
func (s Styles) progressBar(width int) progress.Model {
	bar := progress.New(progress.WithWidth(width), progress.WithoutPercentage(),
		progress.WithFillCharacters(progress.DefaultFullCharFullBlock, progress.DefaultEmptyCharBlock),
		progress.WithColors(s.Accent))
	bar.EmptyColor = s.Subtle
	return bar
}
