package audiosrc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
)

// WAVWriter writes 16-bit PCM WAV (mono or stereo, interleaved). The sizes
// in the header are written as zero first and fixed by Close, which needs
// the destination to seek. Methods are safe for concurrent use.
type WAVWriter struct {
	mu       sync.Mutex
	dst      io.WriteSeeker
	file     *os.File // owned when created by CreateWAV
	bw       *bufio.Writer
	channels int
	data     int64 // bytes of sample data written
	closed   bool
	err      error // first write error; sticky
	scratch  []byte
}

// CreateWAV creates (truncates) path and returns a writer that owns it.
func CreateWAV(path string, sampleRate, channels int) (*WAVWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("audiosrc: %w", err)
	}
	w, err := NewWAVWriter(f, sampleRate, channels)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.file = f
	return w, nil
}

// WriteWAVFile writes pcm as a mono WAV file at sampleRate.
func WriteWAVFile(path string, sampleRate int, pcm []int16) error {
	w, err := CreateWAV(path, sampleRate, 1)
	if err != nil {
		return err
	}
	if err := w.Write(pcm); err != nil {
		_ = w.Close()
		return err
	}
	return w.Close()
}

// NewWAVWriter writes a WAV header to dst and returns the writer.
func NewWAVWriter(dst io.WriteSeeker, sampleRate, channels int) (*WAVWriter, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("audiosrc: WAV writer supports 1 or 2 channels, not %d", channels)
	}
	if sampleRate <= 0 {
		return nil, fmt.Errorf("audiosrc: WAV sample rate %d", sampleRate)
	}
	w := &WAVWriter{dst: dst, bw: bufio.NewWriterSize(dst, 32<<10), channels: channels}
	hdr := make([]byte, 44)
	le := binary.LittleEndian
	copy(hdr[0:], "RIFF")
	copy(hdr[8:], "WAVE")
	copy(hdr[12:], "fmt ")
	le.PutUint32(hdr[16:], 16)
	le.PutUint16(hdr[20:], wavPCM)
	le.PutUint16(hdr[22:], uint16(channels))
	le.PutUint32(hdr[24:], uint32(sampleRate))
	le.PutUint32(hdr[28:], uint32(sampleRate*channels*2))
	le.PutUint16(hdr[32:], uint16(channels*2))
	le.PutUint16(hdr[34:], 16)
	copy(hdr[36:], "data")
	if _, err := w.bw.Write(hdr); err != nil {
		return nil, fmt.Errorf("audiosrc: write WAV header: %w", err)
	}
	return w, nil
}

// ErrWriterClosed is returned by Write after Close.
var ErrWriterClosed = errors.New("audiosrc: WAV writer closed")

// Write appends interleaved samples; len(samples) must be a multiple of the
// channel count.
func (w *WAVWriter) Write(samples []int16) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed:
		return ErrWriterClosed
	case w.err != nil:
		return w.err
	case len(samples)%w.channels != 0:
		return fmt.Errorf("audiosrc: %d samples is not a whole number of %d-channel frames", len(samples), w.channels)
	case w.data+int64(2*len(samples)) > math.MaxUint32-36:
		w.err = errors.New("audiosrc: WAV file would exceed 4 GiB")
		return w.err
	}
	if cap(w.scratch) < 2*len(samples) {
		w.scratch = make([]byte, 2*len(samples))
	}
	b := w.scratch[:2*len(samples)]
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	if _, err := w.bw.Write(b); err != nil {
		w.err = fmt.Errorf("audiosrc: write WAV data: %w", err)
		return w.err
	}
	w.data += int64(len(b))
	return nil
}

// Frames is the number of sample frames written so far.
func (w *WAVWriter) Frames() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.data / int64(2*w.channels)
}

// Close flushes, writes the final sizes into the header and closes the file
// if CreateWAV opened it. Idempotent.
func (w *WAVWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	errs := []error{w.err}
	if err := w.bw.Flush(); err != nil {
		errs = append(errs, fmt.Errorf("audiosrc: flush WAV: %w", err))
	} else {
		errs = append(errs, w.fixHeader())
	}
	if w.file != nil {
		if err := w.file.Close(); err != nil {
			errs = append(errs, fmt.Errorf("audiosrc: close WAV: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (w *WAVWriter) fixHeader() error {
	var b [4]byte
	for _, f := range []struct {
		off int64
		v   uint32
	}{{4, uint32(36 + w.data)}, {40, uint32(w.data)}} {
		binary.LittleEndian.PutUint32(b[:], f.v)
		if _, err := w.dst.Seek(f.off, io.SeekStart); err != nil {
			return fmt.Errorf("audiosrc: fix WAV header: %w", err)
		}
		if _, err := w.dst.Write(b[:]); err != nil {
			return fmt.Errorf("audiosrc: fix WAV header: %w", err)
		}
	}
	_, err := w.dst.Seek(0, io.SeekEnd)
	return err
}
