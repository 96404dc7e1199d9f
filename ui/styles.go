package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// styles are built from one renderer per program, so the colour profile
// follows the program's output (and tests pin it to ASCII).
type styles struct {
	title, tabOn, tabOff, dim, bold, selected, errText, okText, warnText lipgloss.Style
	online, inCall, offline                                              lipgloss.Style
	box, pane, outcome                                                   lipgloss.Style
	help                                                                 help.Styles
}

func newStyles(r *lipgloss.Renderer) styles {
	n := r.NewStyle
	dim := n().Foreground(lipgloss.AdaptiveColor{Light: "245", Dark: "243"})
	return styles{
		title:    n().Bold(true),
		tabOn:    n().Bold(true).Underline(true),
		tabOff:   dim,
		dim:      dim,
		bold:     n().Bold(true),
		selected: n().Reverse(true),
		errText:  n().Foreground(lipgloss.Color("9")),
		okText:   n().Foreground(lipgloss.Color("10")),
		warnText: n().Foreground(lipgloss.Color("11")),
		online:   n().Foreground(lipgloss.Color("10")),
		inCall:   n().Foreground(lipgloss.Color("11")),
		offline:  dim,
		box:      n().Border(lipgloss.RoundedBorder()).Padding(0, 1),
		pane:     n().Border(lipgloss.NormalBorder(), true, false, false, false),
		outcome:  n().Bold(true),
		help: help.Styles{
			Ellipsis:       dim,
			ShortKey:       n().Bold(true),
			ShortDesc:      dim,
			ShortSeparator: dim,
			FullKey:        n().Bold(true),
			FullDesc:       dim,
			FullSeparator:  dim,
		},
	}
}

// cell fits s into exactly w columns: cut with an ellipsis or padded.
func cell(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if pad := w - ansi.StringWidth(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

// center places s in the middle of w columns.
func center(s string, w int) string {
	sw := ansi.StringWidth(s)
	if sw >= w {
		return ansi.Truncate(s, w, "…")
	}
	left := (w - sw) / 2
	return strings.Repeat(" ", left) + s + strings.Repeat(" ", w-sw-left)
}

// block makes text exactly w×h: each line cut or padded, missing lines
// blank, extra lines dropped.
func block(s string, w, h int) string {
	if h <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	out := make([]string, h)
	for i := range out {
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		out[i] = cell(l, w)
	}
	return strings.Join(out, "\n")
}

// overlay draws fg centred over bg (both w columns wide, bg h lines), the
// way the incoming-call prompt appears over whatever is showing.
func overlay(bg, fg string, w, h int) string {
	bgl := strings.Split(block(bg, w, h), "\n")
	fgl := strings.Split(fg, "\n")
	fw := 0
	for _, l := range fgl {
		fw = max(fw, ansi.StringWidth(l))
	}
	fw = min(fw, w)
	top := max(0, (h-len(fgl))/2)
	left := max(0, (w-fw)/2)
	for i, l := range fgl {
		y := top + i
		if y >= len(bgl) {
			break
		}
		base := bgl[y]
		bgl[y] = cell(ansi.Truncate(base, left, ""), left) + cell(l, fw) + ansi.TruncateLeft(base, left+fw, "")
		// Wide characters cut in half leave the line short; keep it w wide.
		bgl[y] = cell(bgl[y], w)
	}
	return strings.Join(bgl, "\n")
}
