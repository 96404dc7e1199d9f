package playout_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/softphone/softphone/internal/netem"
	"github.com/softphone/softphone/media/audiocmp"
	"github.com/softphone/softphone/media/opus"
	"github.com/softphone/softphone/media/opus/opustest"
	"github.com/softphone/softphone/media/playout"
	"github.com/softphone/softphone/media/red"
)

// A call's receive path simulated on a virtual clock: real Opus packets
// (and RED packets built from them) cross a netem-modelled path, and a
// paced speaker pulls 20 ms at a time as call/rtc's clock does (first pull
// on the first packet's arrival, then half a frame after the expected
// arrivals).

const (
	rate  = 48000
	frame = 960
)

type path struct {
	loss  netem.Loss
	delay netem.Delay
	red   int // RED distance the sender uses; 0 sends plain Opus
	// backlog delivers the first packets this long after they were sent,
	// all at once (media that connects late).
	backlog time.Duration
	// stall delays the sending of the packets in [stall[0], stall[1]) to
	// stall[1] (a sender descheduled on a busy machine).
	stall [2]time.Duration
	// step adds step[1] to the transit of every packet sent from step[0]
	// on (a sender that stalled and skipped ahead, a longer route).
	step [2]time.Duration
	// replay: the first frame was captured before the path was up and is
	// never sent; the second is sent this much late, once the path is up
	// (the connect replay of call/rtc), carrying a RED copy of the first.
	replay time.Duration
}

type arrival struct {
	seq    uint16
	ts     uint32
	at     time.Duration
	blocks []red.Block // RED packet; nil for plain Opus
	data   []byte
}

// schedule sends one packet per 20 ms frame over p and returns the
// arrivals in arrival order.
func (p path) schedule(pkts [][]byte, seed uint64) []arrival {
	rng := rand.New(rand.NewPCG(seed, 7))
	var enc red.Encoder
	loss := p.loss
	var out []arrival
	for i, pkt := range pkts {
		sent := time.Duration(i) * 20 * time.Millisecond
		if sent >= p.stall[0] && sent < p.stall[1] {
			sent = p.stall[1]
		}
		a := arrival{seq: uint16(1000 + i), ts: uint32(5000 + i*frame), data: pkt}
		if p.red > 0 {
			payload := slices.Clone(enc.Encode(111, a.ts, pkt, p.red))
			blocks, err := red.Split(nil, payload)
			if err != nil {
				panic(err)
			}
			a.blocks = blocks
		}
		if p.replay > 0 && i == 0 {
			continue
		}
		if p.replay > 0 && i == 1 {
			sent += p.replay
		}
		if loss.Drop(rng) {
			continue
		}
		a.at = sent + p.delay.Draw(rng)
		if p.step[1] > 0 && sent >= p.step[0] {
			a.at += p.step[1]
		}
		if sent < p.backlog {
			a.at = max(a.at, p.backlog)
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at < out[j].at })
	return out
}

type simResult struct {
	out     []int16 // pulled from the first decoded audio on
	stats   playout.Stats
	maxLead float64 // largest DelayMs after the first 5 s
}

// simulate plays the arrivals through a Buffer for total, pulling chunk
// samples every chunk's duration.
func simulate(t testing.TB, arrivals []arrival, total time.Duration, chunk int) simResult {
	t.Helper()
	return simulateTo(t, arrivals, total, chunk, true, [2]time.Duration{})
}

// simulateTo is simulate that, with stopAtEnd false, goes on pulling until
// total after the last packet was played.
//
// stall, when set, stops the receiver (no reads, no pulls) over
// [stall[0], stall[1]); it then catches up with a burst of pulls before the
// packets that arrived meanwhile are read, as a descheduled process does.
func simulateTo(t testing.TB, arrivals []arrival, total time.Duration, chunk int, stopAtEnd bool, stall [2]time.Duration) simResult {
	t.Helper()
	base := time.Unix(1000, 0)
	var now time.Duration
	b, err := playout.New(playout.Config{FastStart: true, Now: func() time.Time { return base.Add(now) }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	period := time.Duration(chunk) * time.Second / rate
	var out []int16
	var res simResult
	buf := make([]int16, chunk)
	next := time.Duration(-1)
	k := 0
	started := false
	pull := func() {
		b.Pull(buf)
		st := b.Stats()
		if !started && st.Playing {
			started = true
		}
		if now > 5*time.Second && k < len(arrivals) {
			res.maxLead = max(res.maxLead, st.DelayMs)
		}
		if started {
			out = append(out, buf...)
		}
		if next == arrivals[0].at {
			next += period / 2
		}
		next += period
	}
	caughtUp := false
	for now = 0; now <= total; now += 500 * time.Microsecond {
		if stopAtEnd && k == len(arrivals) && now > arrivals[k-1].at && b.Stats().BufferedMs <= 25 {
			break // everything sent was played (but the last frame's tail)
		}
		if stall[1] > 0 && now >= stall[0] && now < stall[1] {
			continue
		}
		if stall[1] > 0 && now >= stall[1] && !caughtUp {
			for next >= 0 && now >= next {
				pull()
			}
			caughtUp = true
		}
		for k < len(arrivals) && arrivals[k].at <= now {
			a := arrivals[k]
			if a.blocks != nil {
				b.PushRED(a.seq, a.ts, base.Add(a.at), a.blocks)
			} else {
				b.Push(a.seq, a.ts, base.Add(a.at), a.data)
			}
			if next < 0 {
				next = now // the first packet is pulled on arrival
			}
			k++
		}
		if next >= 0 && now >= next {
			pull()
		}
	}
	res.out, res.stats = out, b.Stats()
	return res
}

// quality aligns 200 ms windows of got against ref and returns the median
// correlation, the lag of each window (samples; got[i] plays ref[i-lag])
// and the number of times the lag moved by more than 1 ms between speech
// windows: the time shifts a listener hears. The lag is tracked from window
// to window (a wide search only when the track is lost) on an 8 kHz
// decimation, then refined at the full rate.
func quality(ref, got []int16) (corr float64, lags []int, shifts int) {
	const (
		win    = rate / 5
		dec    = 6
		near   = 40 * rate / 1000 / dec   // tracking range, decimated samples
		far    = 1200 * rate / 1000 / dec // acquisition range
		refine = dec
	)
	r8, g8 := decimate(ref, dec), decimate(got, dec)
	var cs []float64
	lag, have := 0, false
	for off := 0; off+win <= len(got); off += win {
		w := got[off : off+win]
		if rms16(w) < 500 {
			continue // a pause: no alignment to speak of
		}
		span := far
		if have {
			span = near
		}
		center := lag / dec
		w8 := g8[off/dec : (off+win)/dec]
		best, bestL := -2.0, 0
		for l := center - span; l <= center+span; l++ {
			st := off/dec - l
			if st < 0 || st+len(w8) > len(r8) {
				continue
			}
			if c := nccF(w8, r8[st:st+len(w8)]); c > best {
				best, bestL = c, l
			}
		}
		best, fine := -2.0, bestL*dec
		for l := bestL*dec - refine; l <= bestL*dec+refine; l++ {
			st := off - l
			if st < 0 || st+win > len(ref) {
				continue
			}
			if c := opustest.NCC(w, ref[st:st+win]); c > best {
				best, fine = c, l
			}
		}
		cs = append(cs, best)
		if best < 0.6 {
			have = false // a concealed stretch, or the track was lost
			continue
		}
		lags = append(lags, fine)
		lag, have = fine, true
	}
	if len(cs) == 0 {
		return 0, nil, 0
	}
	slices.Sort(cs)
	return cs[len(cs)/2], lags, countShifts(lags)
}

// countShifts counts the lasting moves of a lag track: the median of the
// three windows after a point differs from the median of the three before
// by more than 1 ms. A single stray window (a match one pitch period off)
// is not a shift.
func countShifts(lags []int) int {
	med := func(v []int) int {
		w := slices.Clone(v)
		slices.Sort(w)
		return w[len(w)/2]
	}
	n := 0
	for i := 3; i+3 <= len(lags); i++ {
		if abs(med(lags[i:i+3])-med(lags[i-3:i])) > rate/1000 {
			n++
			i += 2
		}
	}
	return n
}

func decimate(x []int16, f int) []float64 {
	out := make([]float64, len(x)/f)
	for i := range out {
		var s float64
		for _, v := range x[i*f : (i+1)*f] {
			s += float64(v)
		}
		out[i] = s
	}
	return out
}

func nccF(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

func rms16(w []int16) float64 {
	var s float64
	for _, v := range w {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(len(w), 1)))
}

func abs(v int) int { return max(v, -v) }

// speech returns the synthetic voice and its 20 ms Opus packets.
func speech(t testing.TB, seconds float64, o opus.EncoderOptions) ([]int16, [][]byte) {
	t.Helper()
	sig := audiocmp.Speech(int(seconds*rate), rate, 3)
	pkts := opustest.Encode(t, sig, rate, o)
	return sig[:len(pkts)*frame], pkts
}
