// Package audiosrc provides audio sources for mediadevices (tone, silence,
// WAV file) in the softphone's common format — 48 kHz, mono, int16, 20 ms
// chunks — and a WAV file writer.
//
// Sources are paced in real time: chunk k is released at start + k·20 ms.
// After a stall (a slow consumer, a descheduled process) the schedule
// restarts from "now" instead of releasing the missed chunks in a burst,
// which would look like a network burst to the receiver's jitter buffer.
package audiosrc

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/wave"
)

// The common audio format.
const (
	SampleRate   = 48000
	FrameSamples = 960 // 20 ms
)

// Options shared by all sources.
type Options struct {
	// Chunk is the duration of each chunk returned by Read; 0 means 20 ms,
	// and it is capped at 1 s.
	Chunk time.Duration
	// Unpaced returns chunks as fast as they are read (offline processing,
	// tests). Default: paced in real time.
	Unpaced bool
	// Loop makes a file source start over at its end instead of returning
	// io.EOF.
	Loop bool
	// ID is the source's ID for mediadevices; empty means a generated one.
	ID string
}

// clock is the time source of the pacer; tests substitute a fake one.
type clock interface {
	now() time.Time
	// sleep waits for d or until done is closed; false means done.
	sleep(d time.Duration, done <-chan struct{}) bool
}

type realClock struct{}

func (realClock) now() time.Time { return time.Now() }

func (realClock) sleep(d time.Duration, done <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

var idSeq atomic.Uint64

// Source is a paced mono 48 kHz int16 audio source. It implements
// mediadevices.AudioSource (audio.Reader + ID + Close), so it can be wrapped
// with mediadevices.NewAudioTrack.
type Source struct {
	id    string
	fill  func(p []int16) (int, error)
	chunk int
	dur   time.Duration
	paced bool
	clk   clock

	mu      sync.Mutex // serialises Read: the schedule and generator state
	next    time.Time
	ended   error
	skipped atomic.Uint64

	done      chan struct{}
	closeOnce sync.Once
}

var _ mediadevices.AudioSource = (*Source)(nil)

func newSource(kind string, opts Options, fill func([]int16) (int, error)) *Source {
	d := opts.Chunk
	if d <= 0 {
		d = 20 * time.Millisecond
	}
	d = min(d, time.Second)
	n := int(d * SampleRate / time.Second)
	if n < 1 {
		n = 1
	}
	id := opts.ID
	if id == "" {
		id = "audiosrc-" + kind + "-" + itoa(idSeq.Add(1))
	}
	return &Source{
		id:    id,
		fill:  fill,
		chunk: n,
		dur:   time.Duration(n) * time.Second / SampleRate,
		paced: !opts.Unpaced,
		clk:   realClock{},
		done:  make(chan struct{}),
	}
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// ID implements mediadevices.Source.
func (s *Source) ID() string { return s.id }

// Close ends the source; a Read waiting for its time slot returns io.EOF.
// Idempotent.
func (s *Source) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	return nil
}

// Skipped counts chunk slots dropped from the schedule after stalls.
func (s *Source) Skipped() uint64 { return s.skipped.Load() }

// Read implements audio.Reader: the next chunk, as *wave.Int16Interleaved
// with ChunkInfo{Len, Channels: 1, SamplingRate: 48000}. The last chunk of a
// non-looping file is zero-padded; after it Read returns io.EOF.
func (s *Source) Read() (wave.Audio, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended != nil {
		return nil, nil, s.ended
	}
	select {
	case <-s.done:
		return nil, nil, io.EOF
	default:
	}
	if s.paced && !s.wait() {
		return nil, nil, io.EOF
	}
	chunk := wave.NewInt16Interleaved(wave.ChunkInfo{Len: s.chunk, Channels: 1, SamplingRate: SampleRate})
	n, err := s.fill(chunk.Data)
	if err != nil {
		s.ended = err
		if n == 0 {
			return nil, nil, err
		}
	}
	clear(chunk.Data[n:])
	return chunk, func() {}, nil
}

// wait sleeps until the current chunk's slot. More than one chunk late
// means a stall: the schedule restarts now and the missed slots are dropped.
func (s *Source) wait() bool {
	now := s.clk.now()
	if s.next.IsZero() {
		s.next = now
	}
	if late := now.Sub(s.next); late > s.dur {
		s.skipped.Add(uint64(late / s.dur))
		s.next = now
	} else if late < 0 {
		if !s.clk.sleep(-late, s.done) {
			return false
		}
	}
	s.next = s.next.Add(s.dur)
	return true
}
