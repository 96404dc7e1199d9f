package termsafe

import (
	"io"
	"sync"
	"unicode/utf8"
)

// Writer passes text to a terminal through Text: newlines and tabs go
// through, every other control is escaped. A multi-byte character split
// across two writes is held back until it is complete, so it is not taken
// for invalid bytes. It is for output that is wholly text (reports, tables);
// a program that colours its own output must sanitise the untrusted parts
// instead.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	pending []byte // an incomplete UTF-8 sequence from the end of the last write
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write sanitises p and writes it. It reports len(p) written when the
// sanitised text was written in full.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	buf := append(w.pending, p...)
	cut := incompleteTail(buf)
	w.pending = append([]byte(nil), buf[cut:]...)
	if cut == 0 {
		return len(p), nil
	}
	if _, err := io.WriteString(w.w, Text(string(buf[:cut]))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes a held incomplete sequence, escaped as invalid bytes.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 {
		return nil
	}
	_, err := io.WriteString(w.w, Text(string(w.pending)))
	w.pending = nil
	return err
}

// incompleteTail returns the offset of a UTF-8 sequence at the end of b
// that could still be completed by more bytes, or len(b).
func incompleteTail(b []byte) int {
	for back := 1; back < utf8.UTFMax && back <= len(b); back++ {
		c := b[len(b)-back]
		if c < 0x80 {
			return len(b) // ASCII: nothing pending
		}
		if utf8.RuneStart(c) {
			if utf8.FullRune(b[len(b)-back:]) {
				return len(b)
			}
			return len(b) - back
		}
	}
	return len(b)
}
