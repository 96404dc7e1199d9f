package pa

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/wave"
	"golang.org/x/sys/unix"
)

// Defaults for stream configuration.
const (
	DefaultBuffer       = 500 * time.Millisecond
	DefaultMaxBacklog   = 100 * time.Millisecond
	DefaultStallTimeout = 2 * time.Second
)

// CaptureConfig tunes a capture stream; the zero value is the recommended
// setting.
type CaptureConfig struct {
	// FramesPerBuffer is the callback size; 0 lets the host choose, which
	// under JACK is its period and adds no buffering.
	FramesPerBuffer int
	// Latency is the suggested device latency; 0 uses the device's low
	// latency.
	Latency time.Duration
	// Buffer is the capacity of the ring between the callback and Read
	// (default 500 ms). A reader that falls further behind loses audio.
	Buffer time.Duration
	// MaxBacklog bounds how much older audio Read keeps queued beyond what the
	// caller asked for; the excess (oldest) is dropped so that latency does not
	// grow after the reader stalled. 0 means DefaultMaxBacklog, negative
	// means never drop.
	MaxBacklog time.Duration
	// StallTimeout makes Read fail with ErrStalled when the device delivers
	// nothing for that long. 0 means DefaultStallTimeout, negative waits
	// forever.
	StallTimeout time.Duration
}

// PlaybackConfig tunes a playback stream.
type PlaybackConfig struct {
	// FramesPerBuffer and Latency: as in CaptureConfig.
	FramesPerBuffer int
	Latency         time.Duration
	// Channels is the number of output channels the mono signal is copied
	// to; 0 means 2 when the device has two (so both speakers play), else 1.
	Channels int
	// Buffer is the ring capacity for Write (default 500 ms, rounded up to
	// a power of two samples).
	Buffer time.Duration
	// Pull, when set, feeds the stream instead of Write: a goroutine of the
	// stream calls it to fill exactly len(out) mono samples (e.g. a playout
	// buffer's Pull) each time the device consumed audio, keeping about one
	// device buffer queued. It runs on a Go goroutine, never on the audio
	// thread, but should return quickly: while it runs the device drains
	// the queue. Close waits for it to return.
	Pull func(out []int16)
}

// Stats counts what happened on a stream. Sample counts are per channel.
type Stats struct {
	Callbacks uint64 // callback invocations
	Frames    uint64 // frames moved by the callback
	Overflow  uint64 // capture: samples lost because the ring was full
	Dropped   uint64 // capture: stale samples discarded by Read to bound latency
	Underrun  uint64 // playback: samples of silence played because Write was late
}

// stream is what Capture and Playback share: the C stream (ring, counters,
// PortAudio stream), the wake-up pipe its callback writes to, and its
// lifetime.
type stream struct {
	sys    *System
	c      *cstream
	wake   *os.File // read end of the callback's wake-up pipe (pollable)
	wakeW  int      // write end, used only by the C callback
	closed chan struct{}

	// life guards the C memory: every Go access holds it shared, Close frees
	// under the exclusive lock after waking everyone up.
	life      sync.RWMutex
	freed     bool
	closeOnce sync.Once
	closeErr  error
}

func (s *System) newStream(input bool, channels, ringSamples int) (*stream, error) {
	var p [2]int
	// Non-blocking on both ends: the callback must never block on a full
	// pipe, and a non-blocking read end lets os.File use the poller, so
	// waiting Go code holds no thread and honours read deadlines.
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("pa: wake-up pipe: %w", err)
	}
	c, err := newCStream(input, channels, ringSamples, p[1])
	if err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, err
	}
	return &stream{
		sys:    s,
		c:      c,
		wake:   os.NewFile(uintptr(p[0]), "pa-wake"),
		wakeW:  p[1],
		closed: make(chan struct{}),
	}, nil
}

// wait blocks until the callback ran again, the stream closed, ctx ended or
// the deadline (zero: none) passed. Callers hold st.life shared.
func (st *stream) wait(ctx context.Context, deadline time.Time) error {
	if err := st.wake.SetReadDeadline(deadline); err != nil {
		return st.closedOr(err)
	}
	// Checked after setting the deadline: a cancellation from now on moves
	// the deadline to the past (AfterFunc below), one before is seen here.
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = st.wake.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var buf [64]byte
	_, err := st.wake.Read(buf[:]) // drains several wake-ups at once
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ErrStalled
	default:
		return st.closedOr(err)
	}
}

func (st *stream) closedOr(err error) error {
	select {
	case <-st.closed:
		return ErrClosed
	default:
		return fmt.Errorf("pa: wait for audio callback: %w", err)
	}
}

// close stops the stream once: mark closed, stop PortAudio (no callback
// runs afterwards), wake waiters, then free the C side once they left.
func (st *stream) close() error {
	st.closeOnce.Do(func() {
		close(st.closed)
		libMu.Lock()
		quietly(st.sys.opts.Verbose, func() {
			if err := st.c.close(); err != nil {
				st.closeErr = fmt.Errorf("pa: close stream: %w", err)
			}
		})
		libMu.Unlock()
		_ = st.wake.Close() // wakes a blocked Read/Write
		st.life.Lock()
		st.freed = true
		st.c.free()
		unix.Close(st.wakeW)
		st.life.Unlock()
		st.sys.untrack(st)
	})
	return st.closeErr
}

// acquire takes the shared lifetime lock; false means the stream is gone.
func (st *stream) acquire() bool {
	st.life.RLock()
	if st.freed {
		st.life.RUnlock()
		return false
	}
	return true
}

func (st *stream) release() { st.life.RUnlock() }

// open opens and starts st on dev. The device must come from this System's
// current PortAudio initialisation.
func (s *System) open(st *stream, dev Device, input bool, framesPerBuffer int, latency time.Duration) error {
	kind, noDev := "output", ErrNoOutputDevice
	if input {
		kind, noDev = "input", ErrNoInputDevice
	}
	if err := s.owns(dev); err != nil {
		return err
	}
	if (input && !dev.IsInput()) || (!input && !dev.IsOutput()) {
		return fmt.Errorf("pa: %q is not an %s device: %w", dev.Name, kind, noDev)
	}
	if latency <= 0 {
		latency = dev.OutputLatency
		if input {
			latency = dev.InputLatency
		}
	}
	// Track first so that a concurrent System.Close either sees this stream
	// (and closes it after we opened it) or makes track fail.
	if err := s.track(st); err != nil {
		st.close()
		return err
	}
	libMu.Lock()
	var err error
	select {
	case <-st.closed:
		err = ErrClosed // System.Close got here first; PortAudio may be gone
	default:
		quietly(s.opts.Verbose, func() {
			if oerr := st.c.open(dev.Index, latency, framesPerBuffer); oerr != nil {
				err = fmt.Errorf("pa: open %s stream on %q at %d Hz: %w", kind, dev.Name, SampleRate, oerr)
			}
		})
	}
	libMu.Unlock()
	if err != nil {
		st.close()
		return err
	}
	return nil
}

// owns checks that dev came from this System's PortAudio initialisation:
// device indices change when PortAudio is initialised again.
func (s *System) owns(dev Device) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, d := range s.devices {
		if d.gen == dev.gen && d.Index == dev.Index && d.Name == dev.Name {
			return nil
		}
	}
	return fmt.Errorf("pa: device %q does not belong to this audio system: %w", dev.Name, ErrDeviceNotFound)
}

func durSamples(d, def time.Duration) int {
	if d == 0 {
		d = def
	}
	return int(d * SampleRate / time.Second)
}

// Capture is a running mono 48 kHz int16 capture stream.
type Capture struct {
	st         *stream
	maxBacklog int // samples; <0: unlimited
	stall      time.Duration
	dropped    atomic.Uint64

	readMu       sync.Mutex // one reader at a time: the ring has one consumer
	seenOverflow uint64
}

// OpenCapture opens and starts a capture stream on dev (1 channel, 48 kHz).
func (s *System) OpenCapture(dev Device, cfg CaptureConfig) (*Capture, error) {
	c := &Capture{
		maxBacklog: durSamples(cfg.MaxBacklog, DefaultMaxBacklog),
		stall:      cfg.StallTimeout,
	}
	if cfg.MaxBacklog < 0 {
		c.maxBacklog = -1
	}
	if c.stall == 0 {
		c.stall = DefaultStallTimeout
	}
	st, err := s.newStream(true, 1, durSamples(cfg.Buffer, DefaultBuffer))
	if err != nil {
		return nil, err
	}
	if err := s.open(st, dev, true, cfg.FramesPerBuffer, cfg.Latency); err != nil {
		return nil, err
	}
	c.st = st
	return c, nil
}

// Read fills p with the next captured samples, waiting as needed. It returns
// len(p), nil on success; on ctx end, Close, or a stall it returns the
// samples already filled with the error (ctx.Err(), ErrClosed, ErrStalled).
func (c *Capture) Read(ctx context.Context, p []int16) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if !c.st.acquire() {
		return 0, ErrClosed
	}
	defer c.st.release()
	q := &c.st.c.ring
	var deadline time.Time
	if c.stall > 0 {
		deadline = time.Now().Add(c.stall)
	}
	filled := 0
	for {
		if of := c.st.c.overflow(); of != c.seenOverflow {
			// The ring ran full: what it holds predates the loss; start fresh.
			c.seenOverflow = of
			c.dropped.Add(uint64(q.discard(q.len())))
		}
		if c.maxBacklog >= 0 {
			if excess := q.len() - (len(p) - filled) - c.maxBacklog; excess > 0 {
				c.dropped.Add(uint64(q.discard(excess)))
			}
		}
		n := q.read(p[filled:])
		filled += n
		if filled == len(p) {
			return filled, nil
		}
		if n > 0 && c.stall > 0 {
			deadline = time.Now().Add(c.stall)
		}
		if err := c.st.wait(ctx, deadline); err != nil {
			return filled, err
		}
	}
}

// Stats returns the stream's counters.
func (c *Capture) Stats() Stats {
	st := Stats{Dropped: c.dropped.Load()}
	if c.st.acquire() {
		defer c.st.release()
		st.Callbacks, st.Frames, st.Overflow = c.st.c.callbacks(), c.st.c.frames(), c.st.c.overflow()
	}
	return st
}

// AudioReader adapts the capture to mediadevices: chunks of chunkSamples
// mono int16 samples (0 means 960, 20 ms) with ChunkInfo.SamplingRate set,
// which the Opus encoder requires. After Close it returns io.EOF.
func (c *Capture) AudioReader(chunkSamples int) audio.Reader {
	if chunkSamples <= 0 {
		chunkSamples = FrameSamples
	}
	return audio.ReaderFunc(func() (wave.Audio, func(), error) {
		chunk := wave.NewInt16Interleaved(wave.ChunkInfo{Len: chunkSamples, Channels: 1, SamplingRate: SampleRate})
		if _, err := c.Read(context.Background(), chunk.Data); err != nil {
			if errors.Is(err, ErrClosed) {
				return nil, nil, io.EOF
			}
			return nil, nil, err
		}
		return chunk, func() {}, nil
	})
}

// Close stops the stream; idempotent. A blocked Read returns ErrClosed.
func (c *Capture) Close() error { return c.st.close() }

// Playback is a running 48 kHz int16 playback stream fed with mono audio,
// either pushed with Write or pulled by PlaybackConfig.Pull.
type Playback struct {
	st      *stream
	pull    func([]int16)
	writeMu sync.Mutex // one writer at a time: the ring has one producer
	done    chan struct{}
}

// ErrPullMode is returned by Write on a playback stream fed by a Pull func.
var ErrPullMode = errors.New("pa: playback stream is fed by its Pull func")

// OpenPlayback opens and starts a playback stream on dev.
func (s *System) OpenPlayback(dev Device, cfg PlaybackConfig) (*Playback, error) {
	ch := cfg.Channels
	if ch <= 0 {
		ch = max(1, min(2, dev.MaxOutputChannels))
	}
	if dev.MaxOutputChannels > 0 && ch > dev.MaxOutputChannels {
		return nil, fmt.Errorf("pa: %q has %d output channels, %d requested", dev.Name, dev.MaxOutputChannels, ch)
	}
	ringSamples := durSamples(cfg.Buffer, DefaultBuffer)
	if cfg.Pull != nil {
		// The feeder keeps about one callback's worth queued: the ring only
		// needs room for that.
		ringSamples = max(2*FrameSamples, 2*cfg.FramesPerBuffer)
	}
	st, err := s.newStream(false, ch, ringSamples)
	if err != nil {
		return nil, err
	}
	p := &Playback{st: st, pull: cfg.Pull, done: make(chan struct{})}
	if err := s.open(st, dev, false, cfg.FramesPerBuffer, cfg.Latency); err != nil {
		return nil, err
	}
	if p.pull != nil {
		go p.feed(max(FrameSamples, cfg.FramesPerBuffer))
	} else {
		close(p.done)
	}
	return p, nil
}

// feed runs Pull in a goroutine rather than on the audio thread (where a Go
// call would meet the scheduler and the garbage collector): it tops the ring
// up to level samples each time the callback took some, so the added
// latency is about one callback buffer.
func (p *Playback) feed(level int) {
	defer close(p.done)
	if !p.st.acquire() {
		return
	}
	defer p.st.release()
	q := &p.st.c.ring
	buf := make([]int16, level)
	p.st.c.setStarted()
	for {
		if need := level - q.len(); need > 0 {
			p.pull(buf[:need])
			q.write(buf[:need])
		}
		if err := p.st.wait(context.Background(), time.Time{}); err != nil {
			return
		}
	}
}

// Write queues mono samples for playback, blocking while the ring is full,
// which paces a faster producer to real time. It returns the number queued
// and ctx.Err() or ErrClosed if it stopped early.
func (p *Playback) Write(ctx context.Context, samples []int16) (int, error) {
	if p.pull != nil {
		return 0, ErrPullMode
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if !p.st.acquire() {
		return 0, ErrClosed
	}
	defer p.st.release()
	p.st.c.setStarted()
	q := &p.st.c.ring
	done := 0
	for {
		done += q.write(samples[done:])
		if done == len(samples) {
			return done, nil
		}
		if err := p.st.wait(ctx, time.Time{}); err != nil {
			return done, err
		}
	}
}

// Buffered is how much written audio waits for the device.
func (p *Playback) Buffered() time.Duration {
	if !p.st.acquire() {
		return 0
	}
	defer p.st.release()
	return time.Duration(p.st.c.ring.len()) * time.Second / SampleRate
}

// Stats returns the stream's counters.
func (p *Playback) Stats() Stats {
	var st Stats
	if p.st.acquire() {
		defer p.st.release()
		st.Callbacks, st.Frames, st.Underrun = p.st.c.callbacks(), p.st.c.frames(), p.st.c.underrun()
	}
	return st
}

// Close stops the stream and waits for the Pull feeder; idempotent. A
// blocked Write returns ErrClosed.
func (p *Playback) Close() error {
	err := p.st.close()
	<-p.done
	return err
}
