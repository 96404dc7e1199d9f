package playout

import "math"

// Target delay from the distribution of packet inter-arrival delays, as
// NetEq's delay manager computes it.
//
// Each arrival's relative delay is d = (arrival − timestamp) − the least
// (arrival − timestamp) of the packets that arrived in the last
// historyMs: how much later than the fastest recent packet it came
// (≥ 0; clock drift between the two ends is absorbed by the moving
// minimum). Every intervalMs the largest d of that interval goes into a
// histogram that forgets old intervals exponentially; the target is its
// quantile. NetEq takes the 95th percentile; the 90th of half-second maxima
// still covers about 99.6 % of single packets (25 per interval) for a
// normal spread, for ≈ 5 ms less delay at 20 ms of jitter, while a lone
// spike (one interval in sixty) does not move the target.

const (
	historyMs    = 2000.0
	intervalMs   = 500.0
	bucketMs     = 2.0
	maxDelayMs   = 2000.0
	quantile     = 0.90
	forgetSteady = 0.983
	historyCap   = 512 // arrivals held for the moving minimum: > 2 s at 2.5 ms packets
	priorWeight  = 2   // intervals the "no jitter" start counts for
	growFactor   = 2.0
	growMs       = 20.0
	// growFloorMs is what one interval may always raise the target to: the
	// jitter of a poor path (a spread of ±40 ms) is learnt in the call's
	// first half second, before the first words, not in steps through them.
	growFloorMs = 100.0
	// A transit step is a rise of at least stepMinMs (and more than the
	// target) held by all of at least stepMinPackets arrivals over
	// stepWindowMs.
	stepWindowMs   = 100.0
	stepMinMs      = 15.0
	stepMinPackets = 4
)

type arrivalRef struct {
	at, v float64 // arrival time (ms) and arrival − timestamp (ms)
}

// delayManager is the inter-arrival delay statistics of one stream.
type delayManager struct {
	// Sliding-window minimum of arrival − timestamp (a monotonic deque in a
	// ring).
	ring       [historyCap]arrivalRef
	head, size int

	hist    [int(maxDelayMs / bucketMs)]float64
	updates int

	ivStart float64
	ivMax   float64
	ivHave  bool
	target  float64    // ms, the quantile
	early   [2]float64 // the two latest relative delays before the first interval ended

	// Arrival times of the last stepWindowMs, to tell a step from jitter.
	recent    [historyCap]float64
	rHead, rN int
}

func newDelayManager() *delayManager {
	d := &delayManager{}
	d.reset()
	return d
}

// reset forgets the arrivals and the histogram: the distribution starts
// as "no jitter" and adapts from the next intervals on, quickly at first.
func (d *delayManager) reset() {
	d.head, d.size = 0, 0
	d.rHead, d.rN = 0, 0
	clear(d.hist[:])
	d.hist[0] = 1
	d.updates = 0
	d.early = [2]float64{}
	d.ivHave = false
	d.target = bucketMs
}

// observe records an arrival at atMs (any monotonic origin) of audio
// stamped tsMs (the stream's own clock) and returns its relative delay.
// With count false it only moves the reference: packets that arrived
// before playout began (a start-up backlog) say nothing about the path.
func (d *delayManager) observe(atMs, tsMs float64, count bool) float64 {
	v := atMs - tsMs
	// Expire old arrivals from the front, drop dominated ones from the back.
	for d.size > 0 && d.ring[d.head].at < atMs-historyMs {
		d.head = (d.head + 1) % historyCap
		d.size--
	}
	for d.size > 0 && d.ring[(d.head+d.size-1)%historyCap].v >= v {
		d.size--
	}
	if d.size == historyCap {
		d.head = (d.head + 1) % historyCap
		d.size--
	}
	d.ring[(d.head+d.size)%historyCap] = arrivalRef{at: atMs, v: v}
	d.size++
	d.rebaseOnStep(atMs)
	rel := v - d.ring[d.head].v
	if !count {
		return rel
	}
	if d.updates == 0 {
		// Until the first interval ends the target follows the second
		// latest arrival at once (up to growFloorMs): the delay a jittery
		// path needs is built in the call's first moments, not after the
		// first words were concealed, while one late packet (a receiver
		// busy starting the call) is not taken for jitter.
		if rel > d.early[0] {
			d.early[0], d.early[1] = rel, d.early[0]
		} else if rel > d.early[1] {
			d.early[1] = rel
		}
		if d.early[1] > d.target {
			d.target = min(math.Ceil(d.early[1]/bucketMs)*bucketMs, growFloorMs)
		}
	}
	switch {
	case !d.ivHave:
		d.ivStart, d.ivMax, d.ivHave = atMs, rel, true
	case atMs-d.ivStart >= intervalMs:
		// This arrival opens the next interval (packets that arrive
		// together stay in one).
		d.add(d.ivMax)
		d.ivStart, d.ivMax = atMs, rel
	default:
		d.ivMax = max(d.ivMax, rel)
	}
	return rel
}

// rebaseOnStep follows a step in the transit time. When every packet of the
// last stepWindowMs came later than the reference by more than the jitter
// the target allows (and at least stepMinMs) — a sender that stalled and
// skipped, a path that got longer — the delay has moved, not spread: the
// reference moves to the recent packets instead of the step being counted
// as jitter for the next two seconds.
func (d *delayManager) rebaseOnStep(atMs float64) {
	d.recent[(d.rHead+d.rN)%historyCap] = atMs
	if d.rN < historyCap {
		d.rN++
	} else {
		d.rHead = (d.rHead + 1) % historyCap
	}
	for d.rN > 0 && d.recent[d.rHead] < atMs-stepWindowMs {
		d.rHead = (d.rHead + 1) % historyCap
		d.rN--
	}
	if d.rN < stepMinPackets {
		return
	}
	// The deque's first entry inside the window holds the window's minimum.
	i := 0
	for i < d.size && d.ring[(d.head+i)%historyCap].at < atMs-stepWindowMs {
		i++
	}
	if i == 0 || i == d.size {
		return
	}
	if d.ring[(d.head+i)%historyCap].v-d.ring[d.head].v > max(stepMinMs, d.target) {
		d.head = (d.head + i) % historyCap
		d.size -= i
	}
}

// add pushes one interval's maximum into the histogram.
func (d *delayManager) add(ms float64) {
	d.updates++
	// One interval moves the target at most to about twice what it was:
	// a single burst (a sender or a machine that stalled once) costs the
	// frames it delays, not seconds of a much higher target, while jitter
	// that persists is followed within a few intervals.
	ms = min(ms, max(growFactor*d.target+growMs, growFloorMs))
	// The first intervals are averaged with equal weight, with the "no
	// jitter" start counting as priorWeight of them (a real spread takes
	// over at once at the 90th percentile; one spike does not), then each
	// weighs one in ~60.
	f := min(1-1/float64(d.updates+priorWeight), forgetSteady)
	for i := range d.hist {
		d.hist[i] *= f
	}
	i := min(int(ms/bucketMs), len(d.hist)-1)
	d.hist[i] += 1 - f
	d.target = maxDelayMs
	var cum float64
	for k, p := range d.hist {
		cum += p
		if cum >= quantile {
			d.target = float64(k+1) * bucketMs
			break
		}
	}
}

// fastArrival is when (ms, arrival clock) audio stamped tsMs arrives on the
// fastest transit of the recent packets.
func (d *delayManager) fastArrival(tsMs float64) float64 {
	if d.size == 0 {
		return tsMs
	}
	return tsMs + d.ring[d.head].v
}
