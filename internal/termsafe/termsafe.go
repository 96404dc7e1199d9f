// Package termsafe makes untrusted text safe to print on a terminal.
//
// Account names, nicknames, attachments, error messages from a server,
// fields of a trace file from a customer: any of them may carry bytes a
// terminal obeys instead of showing — C0 and C1 controls, ESC, CSI and OSC
// sequences (retitle the window, clear the screen, recolour what follows,
// write the clipboard), bidi overrides that reorder what is shown. String
// replaces each such character with a visible escape (\x1b, \u202e, ...),
// so the text reads the same but cannot act; the printable rest of a
// sequence ("[2J") stays as plain text. Widths are measured on the result,
// because that is what occupies the cells.
//
// Every user- or peer-controlled string that reaches a terminal goes
// through this package: the TUI, the CLI's tables and lines, trace and
// doctor output, run reports, and errors echoed from a server.
package termsafe

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// String returns s with every control character, format character and
// invalid UTF-8 byte replaced by a visible escape. The result is valid
// UTF-8 of printable characters only, and String(String(s)) == String(s).
func String(s string) string { return sanitize(s, false) }

// Text is String for multi-line text: newlines and tabs are kept, every
// other control is escaped. A lone carriage return is escaped, so a line
// cannot be overwritten from its start.
func Text(s string) string { return sanitize(s, true) }

// Width is the number of terminal cells String(s) occupies.
func Width(s string) int { return ansi.StringWidth(String(s)) }

// Truncate sanitises s and cuts it to at most width cells, ending with tail
// (itself sanitised) when it had to cut.
func Truncate(s string, width int, tail string) string {
	if width <= 0 {
		return ""
	}
	return ansi.Truncate(String(s), width, String(tail))
}

// Pad sanitises s and pads it with spaces to width cells (a longer value is
// left as it is), for aligned table columns.
func Pad(s string, width int) string {
	out := String(s)
	if n := width - ansi.StringWidth(out); n > 0 {
		out += strings.Repeat(" ", n)
	}
	return out
}

// Safe reports whether s would print unchanged.
func Safe(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || escaped(r) {
			return false
		}
		i += n
	}
	return true
}

func sanitize(s string, multiline bool) string {
	// Most strings are clean: return them without allocating.
	clean := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || (escaped(r) && !(multiline && keptInText(r))) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			writeByteEscape(&b, s[i])
		case multiline && keptInText(r):
			b.WriteRune(r)
		case escaped(r):
			writeRuneEscape(&b, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// keptInText are the controls Text leaves alone.
func keptInText(r rune) bool { return r == '\n' || r == '\t' }

// escaped reports a rune a terminal may act on or that changes how the
// text around it is shown: C0, DEL and C1 controls (ESC starts every CSI,
// OSC and DCS sequence; U+009B is a one-character CSI), the line and
// paragraph separators, and format characters (Unicode category Cf: bidi
// embeddings, overrides and isolates, marks, soft hyphen, invisible
// operators, tags). The zero-width joiner and non-joiner stay: they shape
// emoji sequences and several scripts and move nothing.
func escaped(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == '\u2028', r == '\u2029':
		return true
	case r == '\u200c', r == '\u200d':
		return false
	}
	return unicode.Is(unicode.Cf, r)
}

func writeByteEscape(b *strings.Builder, c byte) {
	const hex = "0123456789abcdef"
	b.WriteString(`\x`)
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&0xf])
}

func writeRuneEscape(b *strings.Builder, r rune) {
	switch r {
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	default:
		switch {
		case r < 0x80:
			writeByteEscape(b, byte(r))
		case r <= 0xffff:
			q := strconv.FormatInt(int64(r), 16)
			b.WriteString(`\u` + strings.Repeat("0", 4-len(q)) + q)
		default:
			q := strconv.FormatInt(int64(r), 16)
			b.WriteString(`\U` + strings.Repeat("0", 8-len(q)) + q)
		}
	}
}

// JSON makes encoded JSON safe to print: every rune String would escape is
// written as a JSON escape (\u009b, \u202e, a surrogate pair above U+FFFF)
// and invalid UTF-8 as \ufffd, so the text decodes to the same values
// while a terminal sees only printable characters. encoding/json leaves C1
// controls and bidi overrides raw. Newlines and tabs (whitespace between
// values) are kept.
func JSON(b []byte) []byte {
	s := string(b)
	if sanitize(s, true) == s {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			out = append(out, `\ufffd`...)
		case keptInText(r) || !escaped(r):
			out = append(out, s[i:i+n]...)
		case r > 0xffff:
			hi, lo := utf16.EncodeRune(r)
			out = appendU(appendU(out, hi), lo)
		default:
			out = appendU(out, r)
		}
		i += n
	}
	return out
}

// appendU appends the JSON escape \uXXXX of r (≤ U+FFFF).
func appendU(out []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	return append(out, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
}
