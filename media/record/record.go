// Package record writes a call to disk: local.wav (microphone), remote.wav
// (what was played), mix.wav (stereo: left local, right remote) and
// remote.ivf (the received VP8 frames).
//
// The two audio tracks come from different clocks and goroutines (capture
// callback, playout callback), so every chunk carries the wall-clock time of
// its first sample and is placed on one shared timeline starting at the first
// audio chunk of either track. Gaps become silence, so the mix lines up and
// the files have the call's real duration. The Write methods only copy into
// a queue (they may be called from a real-time audio callback); one owned
// goroutine does the file I/O.
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/softphone/softphone/media/audiosrc"
)

// File names inside the recording directory.
const (
	LocalFile  = "local.wav"
	RemoteFile = "remote.wav"
	MixFile    = "mix.wav"
	VideoFile  = "remote.ivf"
)

var (
	// ErrClosed is returned by writes after Close.
	ErrClosed = errors.New("record: recorder closed")
	// ErrBusy is returned when the queue is full and the chunk was dropped
	// (the disk cannot keep up); Dropped counts them.
	ErrBusy = errors.New("record: queue full, chunk dropped")
)

// Options tunes a Recorder; the zero value is fine.
type Options struct {
	SampleRate int // Hz of the mono int16 PCM passed in; default 48000
	// Tolerance is how far a chunk's timestamp may disagree with where the
	// track already is before the gap is filled with silence or the overlap
	// dropped; below it chunks are laid end to end, so callback timing
	// jitter does not chop the audio. Default 30 ms.
	Tolerance time.Duration
	// MaxLag is how long the mix waits for a silent track before filling it
	// with silence (a muted or absent microphone). Default 1 s.
	MaxLag time.Duration
	// Queue is how many chunks may wait for the writer goroutine; default 1024.
	Queue int
}

type kind uint8

const (
	kindLocal kind = iota
	kindRemote
	kindVideo
)

type item struct {
	kind kind
	at   time.Time
	ts   uint32
	pcm  *[]int16
	data []byte
}

// Recorder writes the four files. Its methods are safe for concurrent use.
type Recorder struct {
	opts Options

	mu     sync.RWMutex // guards closed against the queue's close
	closed bool
	queue  chan item
	done   chan struct{}
	err    error // result of the writer goroutine, valid after done

	pool    sync.Pool
	dropped atomic.Uint64

	// Owned by the writer goroutine.
	tracks [2]*track
	mix    *audiosrc.WAVWriter
	mixPos int64
	t0     time.Time
	haveT0 bool
	ivf    *ivfWriter
	silent []int16
	inter  []int16
}

type track struct {
	w       *audiosrc.WAVWriter
	pos     int64   // samples on the timeline so far
	pending []int16 // samples at [Recorder.mixPos, pos) not yet in the mix
}

// New creates dir if needed and the four files in it, and starts the writer.
func New(dir string, opts Options) (*Recorder, error) {
	if opts.SampleRate == 0 {
		opts.SampleRate = 48000
	}
	if opts.Tolerance == 0 {
		opts.Tolerance = 30 * time.Millisecond
	}
	if opts.MaxLag == 0 {
		opts.MaxLag = time.Second
	}
	if opts.Queue == 0 {
		opts.Queue = 1024
	}
	if opts.SampleRate < 0 || opts.Tolerance < 0 || opts.MaxLag < 0 || opts.Queue < 0 {
		return nil, fmt.Errorf("record: invalid options %+v", opts)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	r := &Recorder{
		opts:   opts,
		queue:  make(chan item, opts.Queue),
		done:   make(chan struct{}),
		silent: make([]int16, 4096),
	}
	var err error
	fail := func(e error) (*Recorder, error) {
		r.closeFiles()
		return nil, fmt.Errorf("record: %w", e)
	}
	for i, name := range []string{LocalFile, RemoteFile} {
		w, err := audiosrc.CreateWAV(filepath.Join(dir, name), opts.SampleRate, 1)
		if err != nil {
			return fail(err)
		}
		r.tracks[i] = &track{w: w}
	}
	if r.mix, err = audiosrc.CreateWAV(filepath.Join(dir, MixFile), opts.SampleRate, 2); err != nil {
		return fail(err)
	}
	if r.ivf, err = createIVF(filepath.Join(dir, VideoFile)); err != nil {
		return fail(err)
	}
	go r.run()
	return r, nil
}

// WriteLocal queues captured microphone audio; at is the capture time of
// pcm[0]. pcm is copied.
func (r *Recorder) WriteLocal(pcm []int16, at time.Time) error {
	return r.enqueueAudio(kindLocal, pcm, at)
}

// WriteRemote queues audio handed to the speaker; at is when pcm[0] is
// played (the playout callback's time). pcm is copied.
func (r *Recorder) WriteRemote(pcm []int16, at time.Time) error {
	return r.enqueueAudio(kindRemote, pcm, at)
}

// WriteVideo queues one complete received VP8 frame with its RTP timestamp
// (90 kHz clock). frame is copied.
func (r *Recorder) WriteVideo(frame []byte, rtpTimestamp uint32) error {
	if len(frame) == 0 {
		return nil
	}
	return r.enqueue(item{kind: kindVideo, ts: rtpTimestamp, data: append([]byte(nil), frame...)})
}

// Dropped is the number of chunks dropped because the queue was full.
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }

func (r *Recorder) enqueueAudio(k kind, pcm []int16, at time.Time) error {
	if len(pcm) == 0 {
		return nil
	}
	bp, _ := r.pool.Get().(*[]int16)
	if bp == nil {
		bp = new([]int16)
	}
	*bp = append((*bp)[:0], pcm...)
	err := r.enqueue(item{kind: k, at: at, pcm: bp})
	if err != nil {
		r.pool.Put(bp)
	}
	return err
}

func (r *Recorder) enqueue(it item) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	select {
	case r.queue <- it:
		return nil
	default:
		r.dropped.Add(1)
		return ErrBusy
	}
}

// Close drains the queue, pads both tracks to the same length, finishes the
// file headers and closes everything. A recorder that never received
// anything leaves valid empty files. Idempotent; later calls return the
// first result.
func (r *Recorder) Close() error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.mu.Unlock()
	<-r.done
	return r.err
}

func (r *Recorder) run() {
	defer close(r.done)
	var errs []error
	for it := range r.queue {
		var err error
		switch it.kind {
		case kindVideo:
			err = r.ivf.writeFrame(it.data, it.ts)
		default:
			err = r.placeAudio(int(it.kind), *it.pcm, it.at)
			r.pool.Put(it.pcm)
		}
		if err != nil && len(errs) < 8 {
			errs = append(errs, err)
		}
	}
	// Equal lengths, so the mix takes every sample of both.
	end := max(r.tracks[0].pos, r.tracks[1].pos)
	for _, tr := range r.tracks {
		if err := r.padTo(tr, end); err != nil {
			errs = append(errs, err)
		}
	}
	if err := r.flushMix(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, r.closeFiles())
	r.err = errors.Join(errs...)
}

func (r *Recorder) closeFiles() error {
	var errs []error
	for _, tr := range r.tracks {
		if tr != nil {
			errs = append(errs, tr.w.Close())
		}
	}
	if r.mix != nil {
		errs = append(errs, r.mix.Close())
	}
	if r.ivf != nil {
		errs = append(errs, r.ivf.close())
	}
	return errors.Join(errs...)
}

// placeAudio puts a chunk on track i's timeline at its timestamp.
func (r *Recorder) placeAudio(i int, pcm []int16, at time.Time) error {
	if !r.haveT0 {
		r.t0, r.haveT0 = at, true
	}
	tr := r.tracks[i]
	p := int64(at.Sub(r.t0)) * int64(r.opts.SampleRate) / int64(time.Second)
	tol := int64(r.opts.Tolerance) * int64(r.opts.SampleRate) / int64(time.Second)
	switch {
	case p > tr.pos+tol:
		if err := r.padTo(tr, p); err != nil {
			return err
		}
	case p < tr.pos-tol:
		// Overlaps what is already written (a clock step back, or a chunk
		// older than the silence the mix already filled in): keep only
		// the part after it.
		skip := tr.pos - p
		if skip >= int64(len(pcm)) {
			return nil
		}
		pcm = pcm[skip:]
	}
	if err := r.appendTrack(tr, pcm); err != nil {
		return err
	}
	// A track far behind the other is silent (muted, no device): fill it
	// so the mix does not have to hold the other side indefinitely.
	lag := int64(r.opts.MaxLag) * int64(r.opts.SampleRate) / int64(time.Second)
	other := r.tracks[1-i]
	if tr.pos-other.pos > lag {
		if err := r.padTo(other, tr.pos-lag); err != nil {
			return err
		}
	}
	return r.flushMix()
}

func (r *Recorder) padTo(tr *track, pos int64) error {
	for tr.pos < pos {
		n := min(pos-tr.pos, int64(len(r.silent)))
		if err := r.appendTrack(tr, r.silent[:n]); err != nil {
			return err
		}
	}
	return nil
}

func (r *Recorder) appendTrack(tr *track, pcm []int16) error {
	if err := tr.w.Write(pcm); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	tr.pos += int64(len(pcm))
	tr.pending = append(tr.pending, pcm...)
	return nil
}

// flushMix writes the stereo frames both tracks have reached.
func (r *Recorder) flushMix() error {
	l, rt := r.tracks[0], r.tracks[1]
	n := int(min(l.pos, rt.pos) - r.mixPos)
	if n <= 0 {
		return nil
	}
	if cap(r.inter) < 2*n {
		r.inter = make([]int16, 2*n)
	}
	inter := r.inter[:2*n]
	for j := 0; j < n; j++ {
		inter[2*j] = l.pending[j]
		inter[2*j+1] = rt.pending[j]
	}
	l.pending = l.pending[:copy(l.pending, l.pending[n:])]
	rt.pending = rt.pending[:copy(rt.pending, rt.pending[n:])]
	r.mixPos += int64(n)
	if err := r.mix.Write(inter); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// ivfWriter writes the IVF container (the format libvpx tools and ffmpeg
// read): a 32-byte file header, then per frame a 12-byte header (size,
// 64-bit timestamp) and the frame. The timebase is the RTP 90 kHz clock.
// Width, height and the frame count are only known at the end, so Close
// rewrites the header.
type ivfWriter struct {
	f         *os.File
	frames    uint32
	w, h      uint16
	lastTs    uint32
	pts       uint64
	haveFirst bool
	hdr       [12]byte
}

func createIVF(path string) (*ivfWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	v := &ivfWriter{f: f}
	if _, err := f.Write(v.header()); err != nil {
		f.Close()
		return nil, fmt.Errorf("write IVF header: %w", err)
	}
	return v, nil
}

func (v *ivfWriter) header() []byte {
	h := make([]byte, 32)
	le := binary.LittleEndian
	copy(h[0:], "DKIF")
	le.PutUint16(h[4:], 0)  // version
	le.PutUint16(h[6:], 32) // header size
	copy(h[8:], "VP80")
	le.PutUint16(h[12:], v.w)
	le.PutUint16(h[14:], v.h)
	le.PutUint32(h[16:], 90000) // timebase denominator
	le.PutUint32(h[20:], 1)     // timebase numerator
	le.PutUint32(h[24:], v.frames)
	return h
}

func (v *ivfWriter) writeFrame(frame []byte, ts uint32) error {
	if !v.haveFirst {
		v.lastTs, v.haveFirst = ts, true
	}
	// Unwrap the 32-bit RTP clock; a step backwards (reordered or a new
	// sender clock) keeps the timestamps monotonic.
	if d := int32(ts - v.lastTs); d > 0 {
		v.pts += uint64(d)
	}
	v.lastTs = ts
	if w, h, ok := vp8KeyFrameSize(frame); ok && v.w == 0 {
		v.w, v.h = w, h
	}
	le := binary.LittleEndian
	le.PutUint32(v.hdr[0:], uint32(len(frame)))
	le.PutUint64(v.hdr[4:], v.pts)
	if _, err := v.f.Write(v.hdr[:]); err != nil {
		return fmt.Errorf("record: write IVF frame: %w", err)
	}
	if _, err := v.f.Write(frame); err != nil {
		return fmt.Errorf("record: write IVF frame: %w", err)
	}
	v.frames++
	return nil
}

func (v *ivfWriter) close() error {
	if v.f == nil {
		return nil
	}
	_, err := v.f.WriteAt(v.header(), 0)
	if cerr := v.f.Close(); err == nil {
		err = cerr
	}
	v.f = nil
	if err != nil {
		return fmt.Errorf("record: finish IVF: %w", err)
	}
	return nil
}

// vp8KeyFrameSize reads the picture size from a VP8 key frame header
// (RFC 6386 §9.1): 3-byte frame tag with the key-frame bit clear, start
// code 9d 01 2a, then 14-bit width and height.
func vp8KeyFrameSize(f []byte) (w, h uint16, ok bool) {
	if len(f) < 10 || f[0]&1 != 0 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint16(f[6:]) & 0x3fff, binary.LittleEndian.Uint16(f[8:]) & 0x3fff, true
}
