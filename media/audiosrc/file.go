package audiosrc

import (
	"fmt"
	"io"
	"os"
)

// NewWAVFile opens a WAV file as a source (see NewWAV).
func NewWAVFile(path string, opts Options) (*Source, WAVFormat, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, WAVFormat{}, fmt.Errorf("audiosrc: %w", err)
	}
	defer f.Close()
	src, format, err := NewWAV(f, opts)
	if err != nil {
		return nil, format, fmt.Errorf("audiosrc: %s: %w", path, err)
	}
	return src, format, nil
}

// NewWAV decodes a whole WAV stream, converts it to 48 kHz mono int16 and
// returns a source that plays it (paced unless opts.Unpaced); at the end it
// starts over if opts.Loop, else Read returns io.EOF. The returned format is
// the file's original one.
func NewWAV(r io.Reader, opts Options) (*Source, WAVFormat, error) {
	pcm, format, err := LoadWAV(r)
	if err != nil {
		return nil, format, err
	}
	return NewPCM(pcm, opts), format, nil
}

// NewPCM plays 48 kHz mono samples (which it keeps, not copies) as a source.
func NewPCM(pcm []int16, opts Options) *Source {
	pos := 0
	loop := opts.Loop && len(pcm) > 0
	return newSource("pcm", opts, func(p []int16) (int, error) {
		n := 0
		for n < len(p) {
			if pos == len(pcm) {
				if !loop {
					return n, io.EOF
				}
				pos = 0
			}
			c := copy(p[n:], pcm[pos:])
			n += c
			pos += c
		}
		return n, nil
	})
}
