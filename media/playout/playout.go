// Package playout is an adaptive audio playout (jitter) buffer for one
// received Opus track.
//
// The network goroutine calls Push for every RTP packet; the audio device's
// callback calls Pull for exactly the samples it needs. Between them the
// buffer reorders packets by sequence number, drops packets that arrive after
// their audio was played, repairs gaps (in-band FEC from the next packet when
// it is already here, otherwise packet loss concealment) and holds a delay
// that follows the measured network jitter.
//
// Delay model. For each packet the relative transit r = arrival − timestamp
// (both in samples) is recorded in a window of recent packets. The fastest of
// them defines "no network jitter"; how much later than that the slow ones
// arrive (the 95th percentile, J95) is the jitter the buffer must absorb. A
// packet is on time when its first sample is still ahead of the playhead by at
// least one Pull size when it arrives, so the target delay is
//
//	target = clamp(J95 + pull size + margin, MinDelay, MaxDelay)
//
// measured from the arrival of a fastest packet to its playout. The current
// delay is estimated on every arrival as (timestamp − playhead) + (r − rmin),
// smoothed. When it drifts more than about a frame from the target, one frame
// is dropped (decoded and discarded, so the decoder stays in step) or one
// concealment frame is inserted: coarse, but inaudible next to loss, and no
// time-stretching is needed.
package playout

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/softphone/softphone/media/opus"
)

// Decoder is what the buffer needs from an audio decoder; *opus.Decoder
// implements it. Calls come only from Pull.
type Decoder interface {
	Decode(pkt []byte, out []int16) (int, error)
	DecodeFEC(nextPkt []byte, out []int16) (int, error)
	DecodePLC(out []int16) (int, error)
}

// Config tunes a Buffer. The zero value means: 48 kHz mono, 20 ms frames,
// delay between 20 and 200 ms.
type Config struct {
	SampleRate   int           // Hz; default 48000
	Channels     int           // interleaved channels in Pull's out; default 1
	FrameSamples int           // per-channel samples per packet before the first is decoded; default 20 ms
	MinDelay     time.Duration // lower bound of the target delay; default 20 ms
	MaxDelay     time.Duration // upper bound of the target delay; default 200 ms
	// Margin is added to jitter and pull size in the target; default 5 ms.
	Margin time.Duration
	// MaxConceal is how long the buffer conceals when no packet is left at
	// all before it falls silent and re-buffers; default 100 ms.
	MaxConceal time.Duration
	// Now returns the current time; tests inject a simulated clock. Default
	// time.Now. Used by Pull only while buffering, to start after a packet
	// has waited the target delay.
	Now func() time.Time
	// FastStart plays the stream's first packet as soon as it is there and
	// builds the target delay afterwards by inserting concealment, as
	// browsers' NetEq does, instead of holding it for the target delay
	// first: the callee hears the caller one pre-roll (20–60 ms) earlier.
	// Re-buffering after a gap still waits for the target.
	FastStart bool
}

// Stats is a snapshot of the buffer's state and counters. Counters are
// cumulative since New.
type Stats struct {
	Playing       bool    // false while (re)buffering
	DelayMs       float64 // estimated playout delay of an unjittered packet (the delay we control)
	TargetDelayMs float64 // target for DelayMs from the measured jitter
	BufferedMs    float64 // audio currently held, from the playhead to the newest packet's end
	JitterMs      float64 // RFC 3550 interarrival jitter of the pushed packets
	Received      uint64  // packets accepted by Push
	Late          uint64  // packets dropped because their slot was already played or concealed
	Duplicate     uint64  // packets dropped because the same sequence number is already held
	Invalid       uint64  // empty or oversized payloads, and payloads the decoder rejected
	Concealed     uint64  // frames synthesised by PLC for a missing packet
	FECRecovered  uint64  // frames recovered from the next packet's in-band FEC data
	Dropped       uint64  // frames skipped to reduce excess delay
	Inserted      uint64  // concealment frames inserted to raise the delay
	Rebuffers     uint64  // times playback stopped for lack of packets and re-buffered
	Resets        uint64  // sequence discontinuities that restarted the stream
	SilenceMs     float64 // silence output while buffering
}

const (
	// The drift control raises the delay below target − insertBelow·frame
	// and lowers it above target + dropAbove·frame when packets have slack
	// to spare.
	insertBelow   = 0.5
	dropAbove     = 0.5
	ringSize      = 512  // packets held at most; > MaxDelay at 2.5 ms packets
	maxPayload    = 1500 // bytes; bigger is not an RTP audio packet we can hold
	windowSize    = 100  // arrivals in the jitter window (2 s at 20 ms)
	jitterPercent = 95
	resetJump     = 3000 // sequence jump treated as a new stream
)

type slot struct {
	used bool
	seq  int64 // extended sequence number
	ts   int64 // extended timestamp
	data []byte
}

// Buffer is an adaptive playout buffer. Push and Pull may run concurrently;
// Pull must not be called concurrently with itself.
type Buffer struct {
	cfg      Config
	dec      Decoder
	ownedDec *opus.Decoder

	mu sync.Mutex

	ring [ringSize]slot

	// Sequence/timestamp unwrapping.
	started bool  // any packet seen since the last reset
	highSeq int64 // highest extended sequence number seen
	highTs  int64 // extended timestamp of highSeq
	endTs   int64 // highest timestamp + frame: end of the newest audio
	lowSeq  int64 // lowest sequence held while buffering (start point)
	haveLow bool

	// Jitter measurement.
	arrBase   time.Time // arrival time origin
	haveArr   bool
	window    [windowSize]int64 // relative transit r in samples
	winLen    int
	winPos    int
	scratch   [windowSize]int64
	rMin      int64
	j95       int64   // samples
	rfcJitter float64 // samples
	lastR     int64
	haveLastR bool

	// Playback state.
	playing      bool
	everPlayed   bool
	firstArrival time.Time // arrival of lowSeq's packet while buffering
	firstR       int64
	playSeq      int64 // next sequence number to play
	playTs       int64 // stream position (timestamp) of playSeq
	frame        int   // per-channel samples per frame, learned from decoding
	delay        float64
	haveDelay    bool
	// The least slack (how far a packet's first sample was ahead of the
	// output when it arrived) of the current and the previous second of
	// stream: a frame is dropped early only if every recent packet would
	// still have been on time with a frame less.
	lowCur, lowPrev float64
	lowStart        int64   // stream position where lowCur's second began
	pullChunk       float64 // smoothed max Pull size, per-channel samples
	concealRun      int     // consecutive samples concealed with nothing buffered
	lastAdjustTs    int64

	// Decoded audio not yet pulled: pcm[pcmOff:pcmEnd], interleaved.
	pcm    []int16
	pcmOff int
	pcmEnd int

	st Stats
}

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("playout: invalid config")

// New creates a Buffer with its own Opus decoder; Close releases it.
func New(cfg Config) (*Buffer, error) {
	cfg = withDefaults(cfg)
	d, err := opus.NewDecoder(cfg.SampleRate, cfg.Channels)
	if err != nil {
		return nil, fmt.Errorf("playout: %w", err)
	}
	b, err := NewWithDecoder(d, cfg)
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	b.ownedDec = d
	return b, nil
}

// NewWithDecoder creates a Buffer around a decoder the caller owns and keeps
// open while the Buffer is in use.
func NewWithDecoder(dec Decoder, cfg Config) (*Buffer, error) {
	cfg = withDefaults(cfg)
	switch {
	case dec == nil:
		return nil, fmt.Errorf("%w: nil decoder", ErrConfig)
	case cfg.SampleRate <= 0 || cfg.SampleRate%400 != 0:
		return nil, fmt.Errorf("%w: sample rate %d", ErrConfig, cfg.SampleRate)
	case cfg.Channels < 1 || cfg.Channels > 2:
		return nil, fmt.Errorf("%w: %d channels", ErrConfig, cfg.Channels)
	case cfg.FrameSamples <= 0 || cfg.FrameSamples%(cfg.SampleRate/400) != 0:
		return nil, fmt.Errorf("%w: frame of %d samples is not a multiple of 2.5 ms", ErrConfig, cfg.FrameSamples)
	case cfg.MinDelay < 0 || cfg.MaxDelay < cfg.MinDelay:
		return nil, fmt.Errorf("%w: delay bounds %v..%v", ErrConfig, cfg.MinDelay, cfg.MaxDelay)
	}
	b := &Buffer{
		cfg:   cfg,
		dec:   dec,
		frame: cfg.FrameSamples,
		// 120 ms is the longest Opus packet; the buffer only decodes into an
		// empty pcm, so one packet's worth is all it ever holds.
		pcm: make([]int16, cfg.SampleRate*120/1000*cfg.Channels),
	}
	return b, nil
}

func withDefaults(c Config) Config {
	if c.SampleRate == 0 {
		c.SampleRate = 48000
	}
	if c.Channels == 0 {
		c.Channels = 1
	}
	if c.FrameSamples == 0 {
		c.FrameSamples = c.SampleRate / 50
	}
	if c.MinDelay == 0 {
		c.MinDelay = 20 * time.Millisecond
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = 200 * time.Millisecond
	}
	if c.Margin == 0 {
		c.Margin = 5 * time.Millisecond
	}
	if c.MaxConceal == 0 {
		c.MaxConceal = 100 * time.Millisecond
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Close releases the decoder New created. Do not Pull or Push afterwards.
// Idempotent.
func (b *Buffer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ownedDec != nil {
		err := b.ownedDec.Close()
		b.ownedDec = nil
		b.dec = closedDecoder{}
		return err
	}
	return nil
}

// samples converts a duration to per-channel samples.
func (b *Buffer) samples(d time.Duration) int64 {
	return int64(d) * int64(b.cfg.SampleRate) / int64(time.Second)
}

func (b *Buffer) ms(samples float64) float64 {
	return samples * 1000 / float64(b.cfg.SampleRate)
}

// Push hands the buffer one received RTP packet: its sequence number, RTP
// timestamp (in sample-rate units), arrival time and payload. The payload is
// copied. Push never blocks on the audio device.
func (b *Buffer) Push(seq uint16, ts uint32, arrival time.Time, payload []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()

	if len(payload) == 0 || len(payload) > maxPayload {
		b.st.Invalid++
		return
	}
	if !b.started {
		b.startStream(seq, ts)
	}
	eseq := b.highSeq + int64(int16(seq-uint16(b.highSeq)))
	ets := b.highTs + int64(int32(ts-uint32(b.highTs)))
	if d := eseq - b.highSeq; d > resetJump || d < -resetJump {
		// A far jump is a restarted sender or an outage far beyond
		// anything we could buffer: start over from this packet.
		b.reset()
		b.st.Resets++
		b.startStream(seq, ts)
		eseq, ets = b.highSeq, b.highTs
	}

	s := &b.ring[eseq%ringSize]
	if s.used && s.seq == eseq {
		b.st.Duplicate++
		return
	}
	if b.everPlayed && eseq < b.playSeq {
		// Too late to play, but exactly the evidence the jitter
		// estimate needs to raise the target.
		r := b.observeArrival(arrival, ets)
		b.observeDelay(ets, r)
		b.st.Late++
		return
	}
	// Keep the ring from wrapping onto packets still to be played: a packet
	// this far ahead means playback is hopelessly behind.
	base := eseq
	switch {
	case b.everPlayed:
		base = b.playSeq
	case b.haveLow:
		base = b.lowSeq
	}
	if eseq-base >= ringSize {
		b.reset()
		b.st.Resets++
		b.startStream(seq, ts)
		eseq, ets = b.highSeq, b.highTs
		s = &b.ring[eseq%ringSize]
	}

	if eseq > b.highSeq {
		b.highSeq, b.highTs = eseq, ets
	}
	if e := ets + int64(b.frame); e > b.endTs {
		b.endTs = e
	}
	b.st.Received++

	r := b.observeArrival(arrival, ets)

	if !b.playing {
		if !b.haveLow || eseq < b.lowSeq {
			b.lowSeq = eseq
			b.firstArrival = arrival
			b.firstR = r
			b.haveLow = true
		}
	} else {
		b.observeDelay(ets, r)
	}

	s.used, s.seq, s.ts = true, eseq, ets
	s.data = append(s.data[:0], payload...)
}

// startStream anchors sequence/timestamp unwrapping at a first packet. The
// offsets keep extended values positive even for packets reordered before it.
func (b *Buffer) startStream(seq uint16, ts uint32) {
	b.started = true
	b.highSeq = int64(seq) + 1<<20
	b.highTs = int64(ts) + 1<<40
	b.endTs = b.highTs
	b.lowSeq = b.highSeq
	b.haveLow = false
}

// reset forgets all packets and playback position (counters are kept).
func (b *Buffer) reset() {
	for i := range b.ring {
		b.ring[i].used = false
	}
	b.started, b.playing, b.everPlayed, b.haveDelay = false, false, false, false
	b.haveArr, b.haveLastR, b.winLen, b.winPos = false, false, 0, 0
	b.pcmOff, b.pcmEnd = 0, 0
	b.concealRun = 0
}

// observeArrival updates the jitter estimates with one arrival and returns
// its relative transit in samples.
func (b *Buffer) observeArrival(arrival time.Time, ets int64) int64 {
	if !b.haveArr {
		b.arrBase, b.haveArr = arrival, true
	}
	us := arrival.Sub(b.arrBase).Microseconds()
	r := us*int64(b.cfg.SampleRate)/1e6 - ets

	// RFC 3550 §6.4.1 interarrival jitter, for reporting.
	if b.haveLastR {
		d := r - b.lastR
		if d < 0 {
			d = -d
		}
		b.rfcJitter += (float64(d) - b.rfcJitter) / 16
	}
	b.lastR, b.haveLastR = r, true

	b.window[b.winPos] = r
	b.winPos = (b.winPos + 1) % windowSize
	if b.winLen < windowSize {
		b.winLen++
	}
	w := b.scratch[:b.winLen]
	copy(w, b.window[:b.winLen])
	slices.Sort(w)
	b.rMin = w[0]
	b.j95 = w[(len(w)-1)*jitterPercent/100] - w[0]
	return r
}

// observeDelay updates the current-delay estimate while playing with one
// arrival: how far ahead of the playhead the packet is, plus how late it is
// relative to the fastest recent packet.
func (b *Buffer) observeDelay(ets, r int64) {
	if !b.playing {
		return
	}
	slack := float64(ets - b.outputPos())
	d := slack + float64(r-b.rMin)
	if !b.haveDelay {
		b.delay, b.haveDelay = d, true
		b.lowCur, b.lowPrev, b.lowStart = slack, math.Inf(1), ets
	} else {
		b.delay += (d - b.delay) / 8
	}
	if ets-b.lowStart >= int64(b.cfg.SampleRate) {
		b.lowPrev, b.lowCur, b.lowStart = b.lowCur, slack, ets
	}
	b.lowCur = min(b.lowCur, slack)
}

// shiftDelay moves the delay estimates by a dropped or inserted frame.
func (b *Buffer) shiftDelay(by float64) {
	b.delay += by
	b.lowCur += by
	b.lowPrev += by
}

// target returns the target delay in samples.
func (b *Buffer) target() float64 {
	t := float64(b.j95) + b.pullChunk + float64(b.samples(b.cfg.Margin))
	return min(max(t, float64(b.samples(b.cfg.MinDelay))), float64(b.samples(b.cfg.MaxDelay)))
}

// outputPos is the stream position (timestamp) of the next sample Pull will
// output: decoded-but-unpulled samples sit just before playTs.
func (b *Buffer) outputPos() int64 {
	return b.playTs - int64((b.pcmEnd-b.pcmOff)/b.cfg.Channels)
}

// Pull fills out (interleaved, any length) with the next audio to play:
// decoded packets, repaired gaps, or silence while buffering. It never
// blocks on Push for longer than one packet copy and does not allocate.
func (b *Buffer) Pull(out []int16) {
	b.mu.Lock()
	defer b.mu.Unlock()

	ch := b.cfg.Channels
	n := float64(len(out) / ch)
	if n > b.pullChunk {
		b.pullChunk = n
	} else {
		b.pullChunk += (n - b.pullChunk) / 64
	}

	for len(out) > 0 {
		if b.pcmOff < b.pcmEnd {
			c := copy(out, b.pcm[b.pcmOff:b.pcmEnd])
			b.pcmOff += c
			out = out[c:]
			continue
		}
		if !b.playing && !b.tryStart() {
			clear(out)
			b.st.SilenceMs += b.ms(float64(len(out) / ch))
			return
		}
		b.produce()
	}
}

// tryStart begins playback once the earliest held packet has waited the
// target delay, or enough audio is queued to cover it.
func (b *Buffer) tryStart() bool {
	if !b.started || !b.haveLow {
		return false
	}
	s := &b.ring[b.lowSeq%ringSize]
	if !s.used || s.seq != b.lowSeq {
		return false
	}
	t := b.target()
	waited := float64(b.samples(b.cfg.Now().Sub(b.firstArrival)))
	fast := b.cfg.FastStart && !b.everPlayed
	if !fast && waited < t && float64(b.endTs-s.ts) < t {
		return false
	}
	b.playing, b.everPlayed = true, true
	b.playSeq, b.playTs = b.lowSeq, s.ts
	b.pcmOff, b.pcmEnd = 0, 0
	b.concealRun = 0
	// The first packet is played now, `waited` after it arrived; a packet
	// with the fastest transit would have been there earlier still.
	b.delay, b.haveDelay = waited+float64(b.firstR-b.rMin), true
	b.lowCur, b.lowPrev, b.lowStart = math.Inf(1), math.Inf(1), s.ts
	b.lastAdjustTs = b.playTs
	b.haveLow = false
	return true
}

// produce decodes the next frame into pcm (which is empty), or switches to
// buffering. It always makes progress or stops playing.
func (b *Buffer) produce() {
	b.pcmOff, b.pcmEnd = 0, 0
	frameOut := b.pcm[:b.frame*b.cfg.Channels]
	cur := &b.ring[b.playSeq%ringSize]
	have := cur.used && cur.seq == b.playSeq

	// Drift control, at most once per 100 ms of stream. The delay moves in
	// whole frames, so a call could settle a frame above the target for
	// good (measured: 41 ms instead of 21 ms on loopback, depending on how
	// the stream started); above half a frame over it, a frame is dropped
	// when the last two seconds' packets all had a frame and the margin of
	// slack to spare, and regardless above one and a half.
	if b.haveDelay && b.playTs-b.lastAdjustTs >= int64(b.cfg.SampleRate/10) {
		t := b.target()
		f := float64(b.frame)
		spare := min(b.lowCur, b.lowPrev) >= f+float64(b.samples(b.cfg.Margin))
		switch {
		case (b.delay > t+1.5*f || b.delay > t+dropAbove*f && spare) && have && b.hasAfter(b.playSeq):
			// Decode and discard, so the decoder's state stays continuous.
			if n, err := b.dec.Decode(cur.data, b.pcm); err == nil && n > 0 {
				b.playTs = cur.ts + int64(n)
				b.frame = n
			} else {
				b.playTs += int64(b.frame)
			}
			cur.used = false
			b.playSeq++
			b.shiftDelay(-f)
			b.lastAdjustTs = b.playTs
			b.st.Dropped++
			return
		case b.delay < t-insertBelow*f:
			if _, err := b.dec.DecodePLC(frameOut); err != nil {
				clear(frameOut)
			}
			b.pcmEnd = len(frameOut)
			b.shiftDelay(f)
			b.lastAdjustTs = b.playTs
			b.st.Inserted++
			return
		}
	}

	if have {
		if gap := cur.ts - b.playTs; gap >= int64(b.frame) {
			// The sender skipped time (DTX or a paused track) without
			// skipping sequence numbers: fill the gap a frame at a time.
			if gap > b.samples(b.cfg.MaxDelay) {
				b.playTs = cur.ts
			} else {
				b.conceal(frameOut)
				b.playTs += int64(b.frame)
				return
			}
		}
		n, err := b.dec.Decode(cur.data, b.pcm)
		cur.used = false
		b.playSeq++
		if err != nil || n <= 0 {
			b.st.Invalid++
			b.conceal(frameOut)
			b.playTs += int64(b.frame)
			return
		}
		b.frame = n
		b.playTs = cur.ts + int64(n)
		b.pcmEnd = n * b.cfg.Channels
		b.concealRun = 0
		return
	}

	// The packet for playSeq is missing.
	if !b.hasAfter(b.playSeq) {
		// Nothing newer either: most likely the packet is late rather
		// than lost (we cannot tell yet). Conceal without moving the
		// playhead, which adds a frame of delay, so the packet still
		// plays if it turns up; a real loss shows itself when a newer
		// packet arrives and is then repaired below. After MaxConceal
		// stop and re-buffer.
		if int64(b.concealRun) >= b.samples(b.cfg.MaxConceal) {
			b.playing = false
			b.haveDelay = false
			b.st.Rebuffers++
			return
		}
		b.concealRun += b.frame
		b.conceal(frameOut)
		b.st.Concealed++
		b.delay += float64(b.frame)
		return
	}
	next := &b.ring[(b.playSeq+1)%ringSize]
	if next.used && next.seq == b.playSeq+1 {
		// DecodeFEC is right even without FEC data: libopus then conceals
		// with the next packet's mode in mind. Count what it really was.
		if n, err := b.dec.DecodeFEC(next.data, frameOut); err == nil && n > 0 {
			b.pcmEnd = n * b.cfg.Channels
			if opus.PacketHasFEC(next.data) {
				b.st.FECRecovered++
			} else {
				b.st.Concealed++
			}
			b.playSeq++
			b.playTs += int64(n)
			return
		}
	}
	b.conceal(frameOut)
	b.st.Concealed++
	b.playSeq++
	b.playTs += int64(b.frame)
}

// conceal fills out (one frame) with PLC, or silence if the decoder fails.
func (b *Buffer) conceal(out []int16) {
	if _, err := b.dec.DecodePLC(out); err != nil {
		clear(out)
	}
	b.pcmOff, b.pcmEnd = 0, len(out)
}

// hasAfter reports whether any packet with sequence > seq is held.
func (b *Buffer) hasAfter(seq int64) bool {
	if b.highSeq <= seq {
		return false
	}
	for s := seq + 1; s <= b.highSeq && s < seq+ringSize; s++ {
		if e := &b.ring[s%ringSize]; e.used && e.seq == s {
			return true
		}
	}
	return false
}

// Stats returns a snapshot of the buffer's state and counters.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.st
	s.Playing = b.playing
	s.TargetDelayMs = b.ms(b.target())
	if b.haveDelay {
		s.DelayMs = b.ms(b.delay)
	}
	if b.playing {
		s.BufferedMs = b.ms(float64(max(0, b.endTs-b.outputPos())))
	}
	s.JitterMs = b.ms(b.rfcJitter)
	return s
}

// closedDecoder stands in after Close so a stray Pull conceals with silence
// instead of touching freed libopus memory.
type closedDecoder struct{}

func (closedDecoder) Decode([]byte, []int16) (int, error)    { return 0, opus.ErrClosed }
func (closedDecoder) DecodeFEC([]byte, []int16) (int, error) { return 0, opus.ErrClosed }
func (closedDecoder) DecodePLC([]int16) (int, error)         { return 0, opus.ErrClosed }
