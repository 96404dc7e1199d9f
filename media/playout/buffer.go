// Package playout is the receive side of a call's audio: an adaptive
// playout (jitter) buffer in the manner of WebRTC's NetEq for one received
// Opus stream, the mixer of a call's streams, and the clock that pulls them
// when there is no audio device.
//
// The network goroutine calls Push (or PushRED) for every RTP packet; the
// audio device's callback calls Pull for exactly the samples it needs.
// Between them the buffer
//
//   - orders frames by timestamp, a primary packet winning over a RED copy;
//   - sets its target delay from the distribution of the packets' relative
//     arrival delays (delay.go), plus frames of depth for redundancy when
//     packets are lost (loss.go);
//   - measures, at every decode, how early a packet of the fastest recent
//     transit would have been for its pull (the lead), and steers it to the
//     target by time-scale modification (stretch.go): accelerate and
//     preemptive expand, placed in low-energy stretches where possible;
//   - repairs a missing frame from a RED copy, else from the next packet's
//     in-band FEC, else with libopus' concealment; when nothing newer has
//     arrived it conceals in place (the packet is late) and so raises the
//     delay by what the late packet needed.
//
// A start-up backlog or any excess delay is drained by accelerating, never
// by cutting audio out.
package playout

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/softphone/softphone/media/opus"
	"github.com/softphone/softphone/media/red"
)

// Decoder is what the buffer needs from an audio decoder; *opus.Decoder
// implements it. Calls come only from Pull.
type Decoder interface {
	Decode(pkt []byte, out []int16) (int, error)
	DecodeFEC(nextPkt []byte, out []int16) (int, error)
	DecodePLC(out []int16) (int, error)
}

// Config tunes a Buffer. The zero value means: 48 kHz mono, 20 ms frames,
// target delay up to 500 ms.
type Config struct {
	SampleRate   int           // Hz; default 48000
	Channels     int           // interleaved channels in Pull's out; default 1
	FrameSamples int           // per-channel samples per packet before the first is decoded; default 20 ms
	MinDelay     time.Duration // lower bound of the target lead; default 0
	MaxDelay     time.Duration // upper bound of the target lead; default 500 ms
	// Margin is added to the jitter quantile in the target; default 2 ms.
	Margin time.Duration
	// MaxConceal is how long the buffer conceals while no packet is left
	// at all before it falls silent and re-buffers; default 200 ms.
	MaxConceal time.Duration
	// Now returns the current time; tests inject a simulated clock. Default
	// time.Now. Pull uses it to measure how early packets are.
	Now func() time.Time
	// FastStart plays the stream's first packet as soon as it is there and
	// builds the target delay afterwards, as browsers' NetEq does, instead
	// of holding it for the target delay first: the callee hears the caller
	// one pre-roll earlier. Re-buffering after a gap still waits.
	FastStart bool
}

// Stats is a snapshot of the buffer's state and counters. Counters are
// cumulative since New; samples are per channel.
type Stats struct {
	Playing       bool    // false while (re)buffering
	DelayMs       float64 // from a fastest-transit packet's arrival to its playout (the delay we control)
	TargetDelayMs float64 // least margin a packet needs at its pull: jitter quantile + Margin + redundancy depth
	BufferedMs    float64 // audio held, from the playout point to the newest frame's end
	JitterMs      float64 // RFC 3550 interarrival jitter of the pushed packets
	// RedundancyFrames is the depth added for redundancy (loss.go).
	RedundancyFrames int

	Received  uint64 // primary packets accepted by Push
	Late      uint64 // packets dropped because their time had been played or concealed
	Duplicate uint64 // packets dropped because the same frame is already held
	Invalid   uint64 // empty or oversized payloads, and payloads the decoder rejected

	Decoded      uint64 // frames played from their own packet
	REDRecovered uint64 // frames played from a RED copy
	FECRecovered uint64 // frames recovered from the next packet's in-band FEC
	Concealed    uint64 // lost frames synthesised by concealment (PLC)
	// ConcealEvents counts runs of consecutive concealed frames (a loss
	// burst is one event); waits for late packets count in Underruns.
	ConcealEvents uint64

	PlayedSamples      uint64 // audio output while playing
	ConcealedSamples   uint64 // of which synthesised by concealment (lost frames and late waits)
	Underruns          uint64 // waits for a late packet (concealment with nothing newer held)
	UnderrunSamples    uint64 // audio concealed during those waits
	Accelerates        uint64 // time compressions
	AcceleratedSamples uint64 // audio they removed
	Expands            uint64 // preemptive expansions
	ExpandedSamples    uint64 // audio they inserted
	// Pause is the part of the counters above that fell in pauses of the
	// remote speech (after a low-energy frame): concealment and time-scale
	// changes there replace or move near-silence, which a listener does
	// not hear, so the listening estimate leaves them out.
	Pause     PauseCounts
	Rebuffers uint64 // times playback stopped for lack of packets and re-buffered
	// StoppedSamples is the concealment that ran out into a stop (the
	// sender ended, an outage): left out of the counts above.
	StoppedSamples uint64
	Resets         uint64 // sequence discontinuities that restarted the stream
	SilenceMs      float64

	// MissingRate is the recent share of frames whose packet was not
	// there when due (lost or late, before repair); MeanBurst the mean
	// length of such runs in frames.
	MissingRate float64
	MeanBurst   float64
}

const (
	maxPayload = 1500 // bytes; bigger is not an RTP audio packet we can hold
	maxHeld    = 512  // frames held at most
	resetJump  = 3000 // sequence jump treated as a new stream
	// leadAlpha smooths the per-decode margin measurements (~8 frames).
	leadAlpha = 1.0 / 8
	// Time-scale decisions.
	histMs      = 30.0 // played audio kept for the pitch analysis
	toleranceMs = 1.0  // margin shortfall tolerated before expanding
	minCutMs    = 20.0 // smallest excess worth an acceleration: less is not worth a time shift
	minOpGapMs  = 50.0 // between two voiced time-scale operations
	aboveFrames = 50   // consecutive decodes in excess before a normal acceleration
	// startFrames is how long after playout starts an excess is a start-up
	// backlog (the packets the sender queued while the path came up): it
	// goes in the first low-energy frame after urgentAbove, while the
	// call's first words are likely still to come.
	startFrames = 100
	// pauseFrames low-energy frames in a row are a pause between words,
	// where an acceleration is not heard; a single quiet frame may be a
	// stop consonant inside a word.
	pauseFrames = 3
	urgentAbove = 10 // ... before an urgent one
	// lowWaitFrames is how long a small expansion waits for a low-energy
	// frame: a deficit under smallMs is within the margin's own noise, not
	// worth a time shift in a word, and speech pauses well within 10 s
	// (a tone or music that never does is stretched after it).
	lowWaitFrames = 500
	// voicedWaitFrames is how long a steady excess waits for a pause before
	// voiced audio is accelerated (speech without pauses, music, a tone).
	voicedWaitFrames = 150
	smallMs          = 5.0   // a deficit below this waits for a low-energy frame
	urgentMs         = 20.0  // a deficit from which voiced audio is stretched on a weaker match
	fastExcessMs     = 60.0  // excess from which voiced audio is accelerated, whole runs of periods at once
	underrunMs       = 10.0  // concealment step while waiting for a late packet
	startWaitMs      = 120.0 // how late a packet may be waited for before the delay statistics know better
	catchUpMs        = 15.0  // pulls this far behind their pace are a puller catching up
	aheadDecayMs     = 0.01  // per pull: lets the pace follow a clock that restarted
	// Speech level: a frame below lowRel of the recent peak level, or below
	// lowAbs, is a low-energy frame where stretching is inaudible.
	levelDecay = 0.995
	lowRel     = 0.1
	lowAbs     = 100
)

// Buffer is an adaptive playout buffer. Push and Pull may run concurrently;
// Pull must not be called concurrently with itself.
type Buffer struct {
	cfg      Config
	dec      Decoder
	ownedDec *opus.Decoder

	mu sync.Mutex

	st *store
	dm *delayManager
	lt lossTracker
	sx *stretcher

	// Sequence/timestamp unwrapping.
	started bool
	highSeq int64
	highTs  int64
	epoch   time.Time // arrival-time origin
	tsBase  int64     // timestamp origin
	lastV   float64   // arrival − timestamp of the previous arrival (jitter)
	haveV   bool
	jitter  float64 // ms

	// Playback.
	playing    bool
	everPlayed bool
	waitFrom   time.Time // first arrival while (re)buffering
	haveWait   bool
	playTs     int64 // next timestamp to decode
	lastSeq    int64 // sequence number of the last primary decoded
	frame      int   // per-channel samples per frame, learned
	// margin is how early (ms) a packet of the fastest recent transit is
	// at the pull that decodes it, smoothed; phase is how far into its
	// pull (ms) the last decode happened. A decode only happens at a pull,
	// so the margin moves in steps of the pull size while time-scale
	// operations move the phase; the audio's delay is margin + phase.
	margin   float64
	phase    float64
	haveLead bool
	// anchor: the next decode is a fast start's first packet, played the
	// moment it arrived. Its wait of zero says nothing of the level the
	// packets after it keep, so it does not seed the margin (it would read
	// as an underrun and be expanded, then accelerated back: two shifts).
	anchor    bool
	pullChunk float64 // smoothed max Pull size, per-channel samples
	pullPos   int     // samples per channel already written by the current Pull
	// The puller's clock (followClock).
	clockStart time.Time
	pulled     int64   // samples per channel pulled since clockStart
	aheadMax   float64 // ms, slowly decaying
	catchingUp bool
	concealRun int // samples concealed in the current late wait
	// What the current run with nothing to play added to the counters,
	// taken back if it ends in a stop (the sender ended, or an outage).
	run       runCounts
	sinceOp   int     // samples output since the last voiced time-scale operation
	waitLow   int     // frames a wanted adjustment has waited for low energy
	above     int     // consecutive decodes in excess
	leadAge   int     // decodes since playout (re)started
	lowRun    int     // consecutive low-energy frames up to the current one
	frameLow  bool    // the last decoded frame was low-energy: concealment now fills a pause
	level     float64 // recent peak speech level (RMS)
	inConceal bool    // the last frame produced was a concealed lost one

	// Decoded audio not yet pulled: pcm[pcmOff:pcmEnd], interleaved; hist
	// is the last histMs of what was produced before it.
	pcm      []int16
	pcmOff   int
	pcmEnd   int
	hist     []int16
	histLen  int
	frameBuf []int16

	s Stats
}

// PauseCounts are counters of Stats restricted to pauses in the speech.
type PauseCounts struct {
	PlayedSamples    uint64
	ConcealedSamples uint64
	ConcealEvents    uint64
	UnderrunSamples  uint64
	Shifts           uint64 // accelerations and expansions
	StretchedSamples uint64 // audio they removed or inserted
}

// runCounts is what a run of concealment with nothing held counted.
type runCounts struct {
	samples, frames, events, underrunSamples, underruns uint64
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
	ch := cfg.Channels
	maxFrame := cfg.SampleRate * 120 / 1000 // the longest Opus packet
	b := &Buffer{
		cfg:   cfg,
		dec:   dec,
		frame: cfg.FrameSamples,
		st:    newStore(maxHeld),
		dm:    newDelayManager(),
		sx:    newStretcher(cfg.SampleRate, ch),
		// A frame plus what an expansion may add to it.
		pcm:      make([]int16, 2*maxFrame*ch),
		frameBuf: make([]int16, maxFrame*ch),
		hist:     make([]int16, int(histMs*float64(cfg.SampleRate)/1000)*ch),
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
	if c.MaxDelay == 0 {
		c.MaxDelay = 500 * time.Millisecond
	}
	if c.Margin == 0 {
		c.Margin = 2 * time.Millisecond
	}
	if c.MaxConceal == 0 {
		c.MaxConceal = 200 * time.Millisecond
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

// samples converts milliseconds to per-channel samples.
func (b *Buffer) samples(ms float64) int {
	return int(ms * float64(b.cfg.SampleRate) / 1000)
}

func (b *Buffer) ms(samples float64) float64 {
	return samples * 1000 / float64(b.cfg.SampleRate)
}

func durMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// step rounds samples down to a multiple of 2.5 ms (libopus' concealment
// granularity), at least one step.
func (b *Buffer) step(samples int) int {
	q := b.cfg.SampleRate / 400
	return max(samples/q, 1) * q
}

// Push hands the buffer one received RTP packet of plain Opus: its sequence
// number, RTP timestamp (in sample-rate units), arrival time and payload.
// The payload is copied. Push never blocks on the audio device.
func (b *Buffer) Push(seq uint16, ts uint32, arrival time.Time, payload []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.push(seq, ts, arrival, payload, 0)
}

// PushRED hands the buffer one received RFC 2198 packet, split into its
// blocks (red.Split: redundant copies first, the primary last). Copies of
// frames already held or played are ignored.
func (b *Buffer) PushRED(seq uint16, ts uint32, arrival time.Time, blocks []red.Block) {
	if len(blocks) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	primary := blocks[len(blocks)-1]
	if len(primary.Data) == 0 {
		// Nothing new (a sender may repeat only copies): the copies still count.
		if !b.started {
			return
		}
	} else if !b.push(seq, ts, arrival, primary.Data, len(blocks)-1) {
		return
	}
	for _, r := range blocks[:len(blocks)-1] {
		b.pushCopy(ts-r.Offset, arrival, r.Data)
	}
}

// push inserts a primary packet; it reports false when the packet was
// rejected before its timestamp was known to be usable.
func (b *Buffer) push(seq uint16, ts uint32, arrival time.Time, payload []byte, redDist int) bool {
	if len(payload) == 0 || len(payload) > maxPayload {
		b.s.Invalid++
		return false
	}
	dur, err := opus.PacketSamples(payload, b.cfg.SampleRate)
	if err != nil || dur <= 0 {
		b.s.Invalid++
		return false
	}
	if !b.started {
		b.startStream(seq, ts, arrival)
	}
	eseq := b.highSeq + int64(int16(seq-uint16(b.highSeq)))
	ets := b.unwrapTs(ts)
	if d := eseq - b.highSeq; d > resetJump || d < -resetJump {
		// A far jump is a restarted sender or an outage far beyond
		// anything we could buffer: start over from this packet.
		b.reset()
		b.s.Resets++
		b.startStream(seq, ts, arrival)
		eseq, ets = b.highSeq, b.highTs
	}
	at := durMs(arrival.Sub(b.epoch))
	tsMs := b.ms(float64(ets - b.tsBase))
	late := b.everPlayed && ets < b.playTs
	rel := b.dm.observe(at, tsMs, b.playing)
	b.observeJitter(at - tsMs)
	b.lt.packet(redDist, opus.PacketHasFEC(payload))
	if late {
		b.s.Late++
		return true // its copies may still be of use
	}
	if eseq > b.highSeq {
		b.highSeq, b.highTs = eseq, ets
	}
	if !b.st.insert(ets, eseq, dur, payload, false, opus.PacketHasFEC(payload), arrival, rel) {
		b.s.Duplicate++
		return true
	}
	b.s.Received++
	if !b.playing && !b.haveWait {
		b.waitFrom, b.haveWait = arrival, true
	}
	return true
}

// pushCopy inserts a RED copy of the frame at ts.
func (b *Buffer) pushCopy(ts uint32, arrival time.Time, payload []byte) {
	if len(payload) == 0 || len(payload) > maxPayload {
		return
	}
	dur, err := opus.PacketSamples(payload, b.cfg.SampleRate)
	if err != nil || dur <= 0 {
		return
	}
	ets := b.unwrapTs(ts)
	if b.everPlayed && ets < b.playTs {
		return // its frame is past
	}
	b.st.insert(ets, -1, dur, payload, true, false, arrival, 0)
}

func (b *Buffer) unwrapTs(ts uint32) int64 {
	return b.highTs + int64(int32(ts-uint32(b.highTs)))
}

// startStream anchors sequence/timestamp unwrapping at a first packet. The
// offsets keep extended values positive even for packets reordered before it.
func (b *Buffer) startStream(seq uint16, ts uint32, arrival time.Time) {
	b.started = true
	b.highSeq = int64(seq) + 1<<20
	b.highTs = int64(ts) + 1<<40
	b.epoch, b.tsBase = arrival, b.highTs
	b.haveV = false
}

// reset forgets all frames and the playback position (counters are kept).
func (b *Buffer) reset() {
	b.st.clear()
	b.dm.reset()
	b.lt = lossTracker{}
	b.started, b.playing, b.everPlayed, b.haveLead, b.haveWait = false, false, false, false, false
	b.pcmOff, b.pcmEnd = 0, 0
	b.concealRun, b.run = 0, runCounts{}
}

// observeJitter updates the RFC 3550 §6.4.1 interarrival jitter (reported
// only).
func (b *Buffer) observeJitter(v float64) {
	if b.haveV {
		b.jitter += (math.Abs(v-b.lastV) - b.jitter) / 16
	}
	b.lastV, b.haveV = v, true
}

// target returns the target lead in ms.
func (b *Buffer) target() float64 {
	t := b.dm.target + durMs(b.cfg.Margin) + float64(b.lt.extraFrames())*b.ms(float64(b.frame))
	return min(max(t, durMs(b.cfg.MinDelay)), durMs(b.cfg.MaxDelay))
}

// Pull fills out (interleaved, any length) with the next audio to play:
// decoded frames, repaired gaps, or silence while buffering. It never
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
	b.followClock(len(out) / ch)
	b.pullPos = 0
	for len(out) > 0 {
		if b.pcmOff < b.pcmEnd {
			c := copy(out, b.pcm[b.pcmOff:b.pcmEnd])
			b.pcmOff += c
			out = out[c:]
			b.pullPos += c / ch
			continue
		}
		if !b.playing && !b.tryStart() {
			clear(out)
			b.s.SilenceMs += b.ms(float64(len(out) / ch))
			return
		}
		before := b.s
		b.produce()
		if b.frameLow {
			b.countPause(&before)
		}
	}
}

// countPause adds what the frame just produced counted (b.s against
// before) to the pause counters.
func (b *Buffer) countPause(before *Stats) {
	p, s := &b.s.Pause, &b.s
	p.PlayedSamples += s.PlayedSamples - before.PlayedSamples
	p.ConcealedSamples += s.ConcealedSamples - before.ConcealedSamples
	p.ConcealEvents += s.ConcealEvents - before.ConcealEvents
	p.UnderrunSamples += s.UnderrunSamples - before.UnderrunSamples
	p.Shifts += s.Accelerates + s.Expands - before.Accelerates - before.Expands
	p.StretchedSamples += s.AcceleratedSamples + s.ExpandedSamples - before.AcceleratedSamples - before.ExpandedSamples
}

// followClock tracks how far the audio pulled runs ahead of wall-clock
// time. A puller that was descheduled (a busy machine) catches up with a
// burst of pulls, during which the packets that arrived meanwhile may not
// have been read off the socket yet: missing frames are then waited for,
// not concealed for lost.
func (b *Buffer) followClock(n int) {
	now := b.cfg.Now()
	if b.clockStart.IsZero() {
		b.clockStart = now
	}
	ahead := b.ms(float64(b.pulled)) - durMs(now.Sub(b.clockStart))
	b.aheadMax = max(ahead, b.aheadMax-aheadDecayMs)
	b.catchingUp = ahead < b.aheadMax-catchUpMs
	b.pulled += int64(n)
}

// tryStart begins playback: at once for a fast start, else once the
// earliest held frame has waited the target delay or enough audio is held.
func (b *Buffer) tryStart() bool {
	first := b.st.first()
	if !b.started || first == nil {
		return false
	}
	if b.cfg.FastStart && !b.everPlayed {
		// A fast start plays from the first packet's own frame. A RED copy
		// of the frame before it (and any older copy) is audio captured
		// before the call was up: playing it would put a frame of delay in
		// the buffer that has to be accelerated away later, a time shift
		// in the call's first words.
		for _, e := range b.st.items {
			if !e.secondary {
				first = e
				break
			}
		}
		b.st.dropBefore(first.ts)
		b.anchor = true
	} else {
		t := b.target()
		waited := durMs(b.cfg.Now().Sub(b.waitFrom))
		if waited < t && b.ms(float64(b.st.end()-first.ts)) < t {
			return false
		}
	}
	b.playing, b.everPlayed = true, true
	b.playTs = first.ts
	b.lastSeq = first.seq - 1
	b.pcmOff, b.pcmEnd = 0, 0
	b.concealRun, b.above, b.waitLow = 0, 0, 0
	b.run = runCounts{}
	b.haveLead, b.haveWait = false, false
	return true
}

// produce puts the next piece of audio into pcm (which is empty): a decoded
// frame, a repaired or concealed one, or a step of concealment while a
// late packet is awaited. It always makes progress or stops playing.
func (b *Buffer) produce() {
	ch := b.cfg.Channels
	b.pcmOff, b.pcmEnd = 0, 0
	b.s.Late += uint64(b.st.dropBefore(b.playTs))
	e := b.st.at(b.playTs)
	if e == nil {
		next := b.st.after(b.playTs)
		if next == nil {
			if b.overdue() {
				b.concealMissing(nil, b.frame)
			} else {
				b.awaitLate()
			}
			return
		}
		gap := next.ts - b.playTs
		if gap > int64(b.samples(durMs(b.cfg.MaxDelay))) {
			// The sender skipped far ahead: follow it without concealing.
			b.playTs = next.ts
			e = next
		} else {
			b.concealMissing(next, int(gap))
			return
		}
	}
	now := b.cfg.Now()
	out := b.frameBuf
	n, err := b.dec.Decode(e.data, out)
	if err != nil || n <= 0 {
		b.s.Invalid++
		d := b.step(e.dur)
		b.conceal(out[:d*ch])
		b.playTs = e.ts + int64(e.dur)
		b.st.remove(e.ts)
		b.s.Concealed++
		b.s.ConcealedSamples += uint64(d)
		b.s.ConcealEvents++
		b.emit(out[:d*ch], true)
		return
	}
	b.frame = n
	b.inConceal = false
	if e.secondary {
		b.s.REDRecovered++
		b.lt.due(true)
	} else {
		b.s.Decoded++
		b.lt.due(false)
		b.lastSeq = e.seq
		m := durMs(now.Sub(e.arrival)) + e.rel
		if b.anchor {
			b.anchor = false
		} else if !b.haveLead {
			b.margin, b.haveLead, b.leadAge = m, true, 0
		} else {
			b.margin += (m - b.margin) * leadAlpha
		}
		b.phase = b.ms(float64(b.pullPos))
	}
	b.playTs = e.ts + int64(n)
	b.st.remove(e.ts)
	b.concealRun, b.run = 0, runCounts{}
	b.emit(out[:n*ch], false)
}

// concealMissing fills the frame due now, whose packet is missing while a
// later one (next) is held or it is overdue (next nil): from next's in-band
// FEC when next is the very next frame, else with concealment. A timestamp
// gap without a sequence gap is the sender pausing (DTX), not a loss.
func (b *Buffer) concealMissing(next *entry, gap int) {
	ch := b.cfg.Channels
	d := b.step(min(b.frame, gap))
	out := b.frameBuf[:d*ch]
	dtx := next != nil && !next.secondary && next.seq == b.lastSeq+1
	if next == nil {
		if b.concealRun >= b.samples(durMs(b.cfg.MaxConceal)) {
			b.stop()
			return
		}
		b.concealRun += d
	} else {
		b.concealRun, b.run = 0, runCounts{}
	}
	before := b.s
	switch {
	case dtx:
		b.conceal(out)
	case next != nil && int64(d) == next.ts-b.playTs && next.fec && !next.secondary:
		if _, err := b.dec.DecodeFEC(next.data, out); err != nil {
			b.conceal(out)
			b.s.Concealed++
			b.s.ConcealedSamples += uint64(d)
			b.s.ConcealEvents++
		} else {
			b.s.FECRecovered++
			b.inConceal = false
		}
		b.lt.due(true)
	default:
		b.conceal(out)
		b.s.Concealed++
		b.s.ConcealedSamples += uint64(d)
		b.lt.due(true)
		if !b.inConceal {
			b.s.ConcealEvents++
		}
		b.inConceal = true
	}
	if next == nil {
		b.run.samples += b.s.ConcealedSamples - before.ConcealedSamples
		b.run.frames += b.s.Concealed - before.Concealed
		b.run.events += b.s.ConcealEvents - before.ConcealEvents
	}
	b.playTs += int64(d)
	b.emit(out, true)
}

// overdue reports whether the frame due now is later than the jitter the
// target allows for: it is then taken for lost and concealed in place
// rather than waited for (a wait would add its length to the delay for
// good). Until the delay statistics have a second of data the allowance
// is startWaitMs.
func (b *Buffer) overdue() bool {
	if b.catchingUp {
		return false
	}
	allow := startWaitMs
	if b.dm.updates >= 2 {
		allow = b.dm.target + durMs(b.cfg.Margin)
	}
	late := durMs(b.cfg.Now().Sub(b.epoch)) - b.dm.fastArrival(b.ms(float64(b.playTs-b.tsBase)))
	return late > allow
}

// stop ends playback for lack of packets; the next arrivals re-buffer.
// The concealment that led up to it is taken back out of the counts: the
// stream ended or broke off, nothing a listener lost to the network.
func (b *Buffer) stop() {
	b.playing = false
	b.haveLead = false
	b.s.Rebuffers++
	r := b.run
	b.s.ConcealedSamples -= r.samples + r.underrunSamples
	b.s.Concealed -= r.frames
	b.s.ConcealEvents -= r.events
	b.s.UnderrunSamples -= r.underrunSamples
	b.s.Underruns -= r.underruns
	b.s.StoppedSamples += r.samples + r.underrunSamples
	b.run = runCounts{}
}

// awaitLate conceals one step without moving the playout point: nothing
// newer than the frame due is held, so its packet is most likely late, and
// the delay grows by what it needs. After MaxConceal the buffer stops and
// re-buffers.
func (b *Buffer) awaitLate() {
	if b.concealRun >= b.samples(durMs(b.cfg.MaxConceal)) {
		b.stop()
		return
	}
	if b.concealRun == 0 {
		b.s.Underruns++
		b.run.underruns++
	}
	ch := b.cfg.Channels
	d := b.step(b.samples(underrunMs))
	out := b.frameBuf[:d*ch]
	b.conceal(out)
	b.concealRun += d
	b.s.UnderrunSamples += uint64(d)
	b.s.ConcealedSamples += uint64(d)
	b.run.underrunSamples += uint64(d)
	b.emit(out, true)
}

// conceal fills out with libopus' concealment, or silence if it fails.
func (b *Buffer) conceal(out []int16) {
	if _, err := b.dec.DecodePLC(out); err != nil {
		clear(out)
	}
}

// emit applies the time-scale decision to a frame (unless fixed) and
// queues it for Pull.
func (b *Buffer) emit(f []int16, fixed bool) {
	ch := b.cfg.Channels
	if !fixed {
		r := rms(f)
		if r > b.level {
			b.level = r
		} else {
			b.level *= levelDecay
		}
		b.frameLow = r < max(lowAbs, lowRel*b.level)
		f = b.timeScale(f)
	}
	b.pcmEnd = copy(b.pcm, f)
	b.s.PlayedSamples += uint64(len(f) / ch)
	b.sinceOp += len(f) / ch
	// Keep the tail of what was produced, right-aligned in hist, for the
	// pitch analysis of the next frame.
	if len(f) >= len(b.hist) {
		copy(b.hist, f[len(f)-len(b.hist):])
	} else {
		copy(b.hist, b.hist[len(f):])
		copy(b.hist[len(b.hist)-len(f):], f)
	}
	b.histLen = min(b.histLen+len(f), len(b.hist))
}

// timeScale steers the margin to the target by lengthening or shortening
// the frame f (which Decode wrote into frameBuf) and returns the frame to
// queue.
//
// Too small a margin means packets of the usual worst transit would miss
// their pull: the frame is lengthened by what brings the decodes to the
// next pull(s). An excess is removed only when it lasts: first the phase
// (which shortens the delay without moving any decode to an earlier pull),
// then whole pulls the margin can spare. Small changes wait for a
// low-energy frame; voiced audio is stretched by pitch periods when the
// change is large.
func (b *Buffer) timeScale(f []int16) []int16 {
	if !b.haveLead {
		return f
	}
	b.leadAge++
	ch := b.cfg.Channels
	low := b.frameLow
	if low {
		b.lowRun++
	} else {
		b.lowRun = 0
	}
	t := b.target()
	g := max(b.ms(b.pullChunk), 0.1)
	hist := b.hist[len(b.hist)-b.histLen:]
	voicedGap := b.ms(float64(b.sinceOp)) >= minOpGapMs
	if deficit := t - b.margin; deficit > toleranceMs {
		b.above = 0
		urgent := deficit >= urgentMs
		if !low && deficit < smallMs && b.waitLow < lowWaitFrames {
			b.waitLow++
			return f
		}
		if !low && !urgent && !voicedGap {
			return f
		}
		// Decodes move to a later pull only once the phase passes a pull.
		want := b.samples(g*math.Ceil(deficit/g) - b.phase + toleranceMs)
		if low {
			want = min(want, b.frame)
		}
		n, ins := b.sx.expand(b.pcm, hist, f, want, low, urgent)
		if ins == 0 {
			return f
		}
		b.moved(b.ms(float64(ins)), g)
		b.s.Expands++
		b.s.ExpandedSamples += uint64(ins)
		// expand wrote into pcm; it is queued from there.
		return b.pcm[:n*ch]
	}
	spare := math.Floor((b.margin-t-toleranceMs)/g) * g
	// The phase alone (less than a pull, where the first packet happened
	// to land against the puller's clock) is not worth a time shift: it
	// goes only with at least one whole pull to spare.
	if spare < g {
		b.above, b.waitLow = 0, 0
		return f
	}
	excess := b.phase + spare
	if excess < max(minCutMs, 0.1*t) {
		b.above, b.waitLow = 0, 0
		return f
	}
	b.above++
	urgent := excess >= fastExcessMs
	need := aboveFrames
	if b.leadAge < startFrames {
		need = urgentAbove
	}
	switch {
	case urgent && b.above < urgentAbove:
		return f
	case !urgent && b.above < need:
		return f
	case !urgent && b.lowRun < pauseFrames && b.above < aboveFrames+voicedWaitFrames:
		return f // a pause will come: wait for it
	case !low && !voicedGap:
		return f
	}
	n, cut := b.sx.accelerate(hist, f, b.samples(excess), low, urgent)
	if cut == 0 {
		return f
	}
	b.moved(-b.ms(float64(cut)), g)
	b.s.Accelerates++
	b.s.AcceleratedSamples += uint64(cut)
	return f[:n*ch]
}

// moved predicts the effect of lengthening (d > 0) or shortening the audio
// by d ms on the margin and the phase, so the next decisions do not wait
// for the smoothed measurements to catch up.
func (b *Buffer) moved(d, g float64) {
	p := b.phase + d
	steps := math.Floor(p / g)
	b.margin += steps * g
	b.phase = p - steps*g
	b.sinceOp, b.waitLow = 0, 0
	if d > 0 {
		b.above = 0
	}
}

// Stats returns a snapshot of the buffer's state and counters.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.s
	s.Playing = b.playing
	s.TargetDelayMs = b.target()
	s.RedundancyFrames = b.lt.extraFrames()
	if b.haveLead {
		s.DelayMs = b.margin + b.phase
	}
	if b.playing {
		if end := b.st.end(); end > b.playTs {
			s.BufferedMs = b.ms(float64(end - b.playTs))
		}
		s.BufferedMs += b.ms(float64((b.pcmEnd - b.pcmOff) / b.cfg.Channels))
	}
	s.JitterMs = b.jitter
	s.MissingRate = b.lt.rate
	s.MeanBurst = b.lt.meanRun()
	return s
}

// closedDecoder stands in after Close so a stray Pull conceals with silence
// instead of touching freed libopus memory.
type closedDecoder struct{}

func (closedDecoder) Decode([]byte, []int16) (int, error)    { return 0, opus.ErrClosed }
func (closedDecoder) DecodeFEC([]byte, []int16) (int, error) { return 0, opus.ErrClosed }
func (closedDecoder) DecodePLC([]int16) (int, error)         { return 0, opus.ErrClosed }
