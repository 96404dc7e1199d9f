package termsafe

import (
	"io"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// WriteTable writes rows as columns separated by two spaces, every cell
// sanitised and padded to its column's display width (so 张伟 takes the
// four cells it occupies, where text/tabwriter would count two). The last
// column is not padded.
func WriteTable(w io.Writer, rows [][]string) error {
	var widths []int
	clean := make([][]string, len(rows))
	for i, row := range rows {
		clean[i] = make([]string, len(row))
		for j, cell := range row {
			c := String(cell)
			clean[i][j] = c
			if j >= len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], ansi.StringWidth(c))
		}
	}
	var b strings.Builder
	for _, row := range clean {
		for j, c := range row {
			if j == len(row)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", widths[j]-ansi.StringWidth(c)+2))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
