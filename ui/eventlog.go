package ui

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/internal/termsafe"
)

// The event log pane (l): every engine event with its data, wrapped to the
// pane's width, scrollable (PgUp/PgDn, Home/End) and without the STATS
// that come every second in a call unless f shows them.

func (m *Model) appendLog(ev call.Event) {
	// The data quotes peers and the server: JSON escapes for anything a
	// terminal would act on.
	data := ""
	if ev.Data != nil {
		if b, err := json.Marshal(redact(ev.Data)); err == nil {
			data = string(termsafe.JSON(shortNumbers(b)))
		}
	}
	e := logEntry{at: ev.Time, name: termsafe.String(ev.Name), data: data}
	if m.logScroll > 0 && m.logShown(e) {
		// Scrolled back: what the user reads stays put.
		w, _ := m.size()
		m.logScroll += len(m.logLinesOf(&e, w))
	}
	m.log = append(m.log, e)
	if len(m.log) > logLines {
		m.log = append(m.log[:0:0], m.log[len(m.log)-logLines:]...)
	}
}

func (m *Model) logShown(e logEntry) bool {
	return m.logShowStats || e.name != call.EvStats
}

// logLinesOf is the entry wrapped at w columns, continuation lines
// indented; kept until the width changes.
func (m *Model) logLinesOf(e *logEntry, w int) []string {
	if e.lines != nil && e.width == w {
		return e.lines
	}
	l := e.at.In(m.cfg.loc).Format("15:04:05") + " " + m.st.bold.Render(e.name)
	if e.data != "" {
		l += " " + e.data
	}
	const indent = 2
	lines := strings.Split(ansi.Wrap(l, max(1, w-indent), ",:"), "\n")
	for i := 1; i < len(lines); i++ {
		lines[i] = strings.Repeat(" ", indent) + lines[i]
	}
	e.lines, e.width = lines, w
	return lines
}

// logKey handles the keys of the open log; false: not one of them.
func (m *Model) logKey(msg tea.KeyMsg) bool {
	_, h := m.size()
	page := max(1, m.logHeight(h)-2)
	switch msg.String() {
	case "f":
		m.logShowStats = !m.logShowStats
		m.logScroll = 0
	case "pgup":
		m.logScroll += page
	case "pgdown":
		m.logScroll = max(0, m.logScroll-page)
	case "home":
		m.logScroll = len(m.log) * 100 // clamped to the top when drawn
	case "end":
		m.logScroll = 0
	default:
		return false
	}
	m.remoteKey = [2]int{}
	return true
}

// logHeight is the pane's height on a screen h lines high (0: closed).
func (m *Model) logHeight(h int) int {
	if !m.logOpen {
		return 0
	}
	return min(maxLogHeight, max(4, h/3))
}

func (m *Model) logView(w, h int) string {
	rows := h - 1
	var lines []string
	// Walk back from the newest entry only as far as the screen needs.
	need := rows + m.logScroll
	for i := len(m.log) - 1; i >= 0 && len(lines) < need; i-- {
		e := &m.log[i]
		if !m.logShown(*e) {
			continue
		}
		lines = append(slices.Clone(m.logLinesOf(e, w)), lines...)
	}
	hidden := 0
	if !m.logShowStats {
		for _, e := range m.log {
			if e.name == call.EvStats {
				hidden++
			}
		}
	}
	m.logScroll = min(m.logScroll, max(0, len(lines)-rows))
	end := len(lines) - m.logScroll
	lines = lines[max(0, end-rows):end]
	if len(m.log) == 0 {
		lines = []string{m.st.dim.Render(m.t.logEmpty)}
	}
	title := "── " + m.t.logTitle
	if hidden > 0 {
		title += " · " + fmtS(m.t.logHidden, hidden)
	}
	if m.logScroll > 0 {
		title += " · " + fmtS(m.t.logScroll, m.logScroll)
	}
	title = m.st.dim.Render(ansi.Truncate(title+" "+strings.Repeat("─", w), w, ""))
	return title + "\n" + block(strings.Join(lines, "\n"), w, rows)
}

// shortNumbers rounds the fractions of a JSON text's numbers to two
// places: measured values (kbps, ms, MOS) print with fifteen digits, and
// a STATS line would wrap over twice the lines. Strings are left alone.
func shortNumbers(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			out = append(out, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		case c == '"':
			inString = true
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			for j < len(b) && strings.IndexByte("+-0123456789.eE", b[j]) >= 0 {
				j++
			}
			num := b[i:j]
			if dot := bytes.IndexByte(num, '.'); dot >= 0 && len(num)-dot > 3 && !bytes.ContainsAny(num, "eE") {
				if f, err := strconv.ParseFloat(string(num), 64); err == nil {
					num = strconv.AppendFloat(nil, math.Round(f*100)/100, 'f', -1, 64)
				}
			}
			out = append(out, num...)
			i = j - 1
			continue
		}
		out = append(out, c)
	}
	return out
}
