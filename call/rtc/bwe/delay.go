package bwe

import (
	"math"
	"time"
)

// usage is what the delay detector concludes about the path's queue.
type usage int

const (
	usageNormal usage = iota
	usageOver         // the queue grows: we send more than the path carries
	usageUnder        // the queue drains
)

func (u usage) String() string {
	switch u {
	case usageOver:
		return "overuse"
	case usageUnder:
		return "underuse"
	}
	return "normal"
}

// Delay-gradient detection after libwebrtc's InterArrivalDelta and
// TrendlineEstimator (the constants are theirs).
const (
	groupSpan        = 5 * time.Millisecond   // packets sent within this form one group
	burstSpan        = 100 * time.Millisecond // a burst group never spans more arrival time
	arrivalJump      = 3 * time.Second        // beyond this the arrival clock is reset
	trendWindow      = 20                     // groups in the linear fit
	trendSmoothing   = 0.9
	trendGain        = 4.0
	overuseTime      = 10 * time.Millisecond
	thresholdInitial = 12.5 // ms
	thresholdMin     = 6.0
	thresholdMax     = 600.0
	thresholdKUp     = 0.0087
	thresholdKDown   = 0.039
	thresholdMaxGap  = 15.0 // ms: a trend this far above the threshold does not move it
)

// group is packets sent within groupSpan of each other, compared as one.
type group struct {
	firstSend, lastSend       time.Time
	firstArrival, lastArrival time.Duration
	valid                     bool
}

// delayDetector turns acknowledged packets into a usage signal: it groups
// them by send time, fits a line through the smoothed accumulated
// one-way-delay changes of the last groups, and compares its slope with
// an adaptive threshold.
type delayDetector struct {
	cur, prev group

	firstArrival  time.Duration
	haveFirst     bool
	accumulated   float64 // ms
	smoothed      float64 // ms
	deltas        int
	xs, ys        [trendWindow]float64
	n, head       int
	prevTrend     float64
	threshold     float64
	lastThreshold time.Duration
	overTime      float64 // ms; <0: not overusing
	overCount     int
	state         usage
	// lastTrend is the latest modified trend, for stats.
	lastTrend float64
}

func newDelayDetector() *delayDetector {
	return &delayDetector{threshold: thresholdInitial, overTime: -1, lastThreshold: -1}
}

// packet feeds one acknowledged packet; results come in arrival order.
// It returns true when the usage was re-evaluated.
func (d *delayDetector) packet(send time.Time, arrival time.Duration) bool {
	if !d.cur.valid {
		d.cur = group{firstSend: send, lastSend: send, firstArrival: arrival, lastArrival: arrival, valid: true}
		return false
	}
	if send.Before(d.cur.firstSend) {
		return false // reordered across groups: no information
	}
	if arrival-d.cur.lastArrival > arrivalJump || arrival < d.cur.lastArrival-arrivalJump {
		d.reset()
		d.cur = group{firstSend: send, lastSend: send, firstArrival: arrival, lastArrival: arrival, valid: true}
		return false
	}
	if send.Sub(d.cur.firstSend) <= groupSpan || d.inBurst(send, arrival) {
		if send.After(d.cur.lastSend) {
			d.cur.lastSend = send
		}
		if arrival > d.cur.lastArrival {
			d.cur.lastArrival = arrival
		}
		return false
	}
	evaluated := false
	if d.prev.valid {
		sendDelta := d.cur.lastSend.Sub(d.prev.lastSend)
		arrivalDelta := d.cur.lastArrival - d.prev.lastArrival
		d.update(msOf(arrivalDelta), msOf(sendDelta), d.cur.lastArrival)
		evaluated = true
	}
	d.prev = d.cur
	d.cur = group{firstSend: send, lastSend: send, firstArrival: arrival, lastArrival: arrival, valid: true}
	return evaluated
}

// inBurst says a packet arrived in a burst with the current group (a
// queue releasing packets back to back): it belongs to that group.
func (d *delayDetector) inBurst(send time.Time, arrival time.Duration) bool {
	arrivalDelta := arrival - d.cur.lastArrival
	sendDelta := send.Sub(d.cur.lastSend)
	if sendDelta == 0 {
		return true
	}
	return arrivalDelta-sendDelta < 0 && arrivalDelta <= groupSpan && arrival-d.cur.firstArrival < burstSpan
}

func (d *delayDetector) reset() {
	*d = delayDetector{threshold: d.threshold, overTime: -1, lastThreshold: d.lastThreshold}
}

func msOf(v time.Duration) float64 { return float64(v) / float64(time.Millisecond) }

// update adds one group-to-group delay change and re-evaluates the usage.
func (d *delayDetector) update(arrivalDeltaMs, sendDeltaMs float64, arrival time.Duration) {
	delta := arrivalDeltaMs - sendDeltaMs
	d.deltas = min(d.deltas+1, 1000)
	if !d.haveFirst {
		d.firstArrival, d.haveFirst = arrival, true
	}
	d.accumulated += delta
	d.smoothed = trendSmoothing*d.smoothed + (1-trendSmoothing)*d.accumulated
	d.xs[d.head] = msOf(arrival - d.firstArrival)
	d.ys[d.head] = d.smoothed
	d.head = (d.head + 1) % trendWindow
	d.n = min(d.n+1, trendWindow)
	trend := d.prevTrend
	if d.n == trendWindow {
		if s, ok := slope(d.xs[:], d.ys[:]); ok {
			trend = s
		}
	}
	d.detect(trend, sendDeltaMs, arrival)
}

// slope is the least-squares slope of ys over xs.
func slope(xs, ys []float64) (float64, bool) {
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(ys))
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	if den == 0 {
		return 0, false
	}
	return num / den, true
}

func (d *delayDetector) detect(trend, sendDeltaMs float64, arrival time.Duration) {
	if d.deltas < 2 {
		d.state = usageNormal
		return
	}
	modified := float64(min(d.deltas, 60)) * trend * trendGain
	d.lastTrend = modified
	switch {
	case modified > d.threshold:
		if d.overTime < 0 {
			d.overTime = sendDeltaMs / 2
		} else {
			d.overTime += sendDeltaMs
		}
		d.overCount++
		if d.overTime > msOf(overuseTime) && d.overCount > 1 && trend >= d.prevTrend {
			d.overTime, d.overCount = 0, 0
			d.state = usageOver
		}
	case modified < -d.threshold:
		d.overTime, d.overCount = -1, 0
		d.state = usageUnder
	default:
		d.overTime, d.overCount = -1, 0
		d.state = usageNormal
	}
	d.prevTrend = trend
	d.adaptThreshold(modified, arrival)
}

// adaptThreshold lets the threshold follow the trend's noise: it rises
// slowly toward large trends (k_up) and falls quickly back (k_down), so a
// jittery path does not read as congestion and a clean one stays sensitive.
func (d *delayDetector) adaptThreshold(modified float64, now time.Duration) {
	if d.lastThreshold < 0 {
		d.lastThreshold = now
	}
	abs := math.Abs(modified)
	if abs > d.threshold+thresholdMaxGap {
		d.lastThreshold = now
		return
	}
	k := thresholdKUp
	if abs < d.threshold {
		k = thresholdKDown
	}
	dt := min(msOf(now-d.lastThreshold), 100)
	d.threshold += k * (abs - d.threshold) * dt
	d.threshold = min(max(d.threshold, thresholdMin), thresholdMax)
	d.lastThreshold = now
}
