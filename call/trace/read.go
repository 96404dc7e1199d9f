package trace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode"
)

// Reading limits: trace files come from customers, so nothing in them is
// trusted.
const (
	// MaxLine is the longest line accepted (a large SDP is ~10 KB).
	MaxLine = 1 << 20
	maxKind = 64
)

// ErrInvalid is wrapped by every error about a malformed trace line.
var ErrInvalid = errors.New("invalid trace")

// Reader reads records one line at a time.
type Reader struct {
	sc   *bufio.Scanner
	line int
}

// NewReader reads a trace from r.
func NewReader(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	return &Reader{sc: sc}
}

// Line is the number of the line the last record came from.
func (r *Reader) Line() int { return r.line }

// Next returns the next record; io.EOF at the end. A malformed line is an
// error wrapping ErrInvalid that names the line; reading may continue
// after it.
func (r *Reader) Next() (Record, error) {
	for r.sc.Scan() {
		r.line++
		b := bytes.TrimSpace(r.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		rec, err := parseLine(b)
		if err != nil {
			return Record{}, fmt.Errorf("%w: line %d: %v", ErrInvalid, r.line, err)
		}
		return rec, nil
	}
	if err := r.sc.Err(); err != nil {
		r.line++
		if errors.Is(err, bufio.ErrTooLong) {
			return Record{}, fmt.Errorf("%w: line %d: longer than %d bytes", ErrInvalid, r.line, MaxLine)
		}
		return Record{}, fmt.Errorf("read trace: %w", err)
	}
	return Record{}, io.EOF
}

func parseLine(b []byte) (Record, error) {
	if b[0] != '{' {
		return Record{}, errors.New("not a JSON object")
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return Record{}, fmt.Errorf("not a trace record: %v", err)
	}
	if rec.Time.IsZero() {
		return Record{}, errors.New(`no time ("t")`)
	}
	if rec.Kind == "" || len(rec.Kind) > maxKind {
		return Record{}, errors.New(`no kind, or a kind longer than 64 bytes`)
	}
	for _, r := range rec.Kind {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return Record{}, fmt.Errorf("kind %q has unprintable characters", rec.Kind)
		}
	}
	if len(rec.Data) > 0 && string(rec.Data) == "null" {
		rec.Data = nil
	}
	return rec, nil
}

// Read reads a whole trace. On a malformed line it returns the records
// before it together with the error, so a truncated file still shows.
func Read(r io.Reader) ([]Record, error) {
	rd := NewReader(r)
	var out []Record
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}
