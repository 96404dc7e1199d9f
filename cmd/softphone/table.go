package main

import (
	"io"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// writeTable writes rows as columns two spaces apart, aligned by display
// width: account and nicknames may be Chinese, two cells per character,
// which tabwriter counts as one. The last column is not padded. Every CLI
// table (records, user list) goes through here.
func writeTable(w io.Writer, rows [][]string) error {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], ansi.StringWidth(cell))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-ansi.StringWidth(cell)+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
