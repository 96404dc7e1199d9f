package bwe

import (
	"math"
	"time"
)

// AIMD after libwebrtc's AimdRateControl (constants are theirs).
const (
	beta            = 0.85 // a decrease goes to this share of what arrived
	multIncrease    = 1.08 // per second, far from the last congestion point
	minAddIncrease  = 4000 // bps per second, near it
	responseBase    = 100 * time.Millisecond
	throughputLimit = 1.5 // never aim above this multiple of what arrives
	throughputExtra = 10_000
	// throughputFloor is above what resumes a paused video (about 110
	// kbps with audio and overheads): below it a call whose video paused
	// could never grow back without a probe, and jitter fails probes.
	throughputFloor = 150_000
	// capHold is the share of a known capacity the rate holds at.
	capHold = 0.9
	// maxCut is the least one cut leaves of the rate.
	maxCut = 0.5
	// capacityDeviation: the path's capacity estimate (the rates at which
	// decreases happened) is "known" within this many standard deviations;
	// above it the increase turns multiplicative again.
	capacityDeviation = 3
	// alrShare: while what arrives is below this share of the rate, the
	// sender is application-limited (libwebrtc's ALR) and the rate holds
	// (above throughputFloor): the media do not test it, so nothing would
	// show the path's limit until they follow the rate over it. On a narrow
	// path video takes 70 % of the target (leanMediaShare); the target crept
	// from 294 to 417 kbps on 300 kbit/s while the media sent 200, then
	// the media followed and queued the speech 126 ms.
	alrShare = 0.8
	// probeLift: with a capacity known, a probe counts above it only when it
	// shows this multiple of it (the path grew, a cap lifted). A token
	// bucket lets a probe of up to 2.5 times its rate through whole while
	// its burst lasts (5000 bytes against 3000 of burst), so the 1.25× and
	// 1.5× steps passed on a held 150 kbit/s cap (143 → 184 kbps) and the
	// video resumed into a full link. Up to the capacity they count.
	probeLift = 1.6
)

// aimd is the delay-based rate: additive/multiplicative increase while the
// queue is stable, a cut to beta × the acknowledged rate on overuse.
type aimd struct {
	rate       float64 // bps
	minRate    float64 // honoured unless the network delivered less
	floor      float64 // the absolute minimum
	maxRate    float64
	lastChange time.Time
	lastCut    time.Time
	// capacity: EMA (kbps) and normalised variance of the rates at cuts.
	capMean, capVar float64
	haveCap         bool
}

func newAIMD(start, minRate, floor, maxRate float64) *aimd {
	return &aimd{rate: start, minRate: minRate, floor: floor, maxRate: maxRate, capVar: 0.4}
}

// update moves the rate for one delay verdict. acked is the recently
// acknowledged rate (0 when unknown), rtt the round trip; congested says
// the path shows more than a delay gradient (a standing queue, or loss
// above its baseline), which alone may take the rate below the minimum.
func (a *aimd) update(now time.Time, u usage, acked float64, rtt time.Duration, congested bool) {
	switch u {
	case usageOver:
		// One cut per round trip (at most 200 ms apart), or at once when
		// what arrives fell below half the rate.
		interval := min(max(rtt, 10*time.Millisecond), 200*time.Millisecond)
		if !a.lastCut.IsZero() && now.Sub(a.lastCut) < interval && (acked == 0 || acked > a.rate/2) {
			return
		}
		a.cut(now, acked, congested)
	case usageUnder:
		// The queue drains: hold, so it empties before we push again.
		a.lastChange = now
	default:
		a.increase(now, acked, rtt)
	}
}

func (a *aimd) cut(now time.Time, acked float64, congested bool) {
	if acked <= 0 {
		acked = a.rate
	}
	next := beta * acked
	if next > a.rate && a.haveCap {
		next = beta * a.capMean * 1000
	}
	if next < a.minRate && !congested {
		// A delay gradient alone (a busy CPU at either end makes one) does
		// not take the rate below the configured minimum; a queue that
		// stays or loss beyond the path's own does. What arrived may be
		// below the minimum only because we sent less (the encoder's
		// picture needs less).
		next = a.minRate
	}
	// One cut takes at most half: what arrived can read far too low for a
	// while when feedback is lost in the queue or a starved receiver reads
	// late, and a cut to 85 % of that paused the video for seconds.
	next = max(next, a.rate*maxCut)
	a.rate = max(min(next, a.rate), a.floor)
	kbps := acked / 1000
	if a.haveCap && kbps < a.capMean-capacityDeviation*a.capDev() {
		a.haveCap = false // far below the old capacity: a new path
	}
	// The capacity estimate learns from what arrived when the queue grew.
	if !a.haveCap {
		a.capMean, a.haveCap = kbps, true
	} else {
		const alpha = 0.05
		a.capMean = (1-alpha)*a.capMean + alpha*kbps
		e := a.capMean - kbps
		a.capVar = min(max((1-alpha)*a.capVar+alpha*e*e/max(a.capMean, 1), 0.4), 2.5)
	}
	a.lastCut, a.lastChange = now, now
}

// capDev is the capacity estimate's standard deviation in kbps.
func (a *aimd) capDev() float64 { return math.Sqrt(a.capVar * a.capMean) }

func (a *aimd) increase(now time.Time, acked float64, rtt time.Duration) {
	if a.lastChange.IsZero() {
		a.lastChange = now
		return
	}
	dt := min(now.Sub(a.lastChange).Seconds(), 1)
	a.lastChange = now
	if acked > 0 && acked < alrShare*a.rate && a.rate >= throughputFloor {
		return // application-limited: hold (alrShare)
	}
	if a.haveCap && acked/1000 > a.capMean+capacityDeviation*a.capDev() {
		a.haveCap = false // more arrives than ever did at a cut: the path grew
	}
	var inc float64
	if a.haveCap {
		// Near the point where the queue grew last time: about one packet
		// per response time (the round trip counted as at least 100 ms:
		// on a short path libwebrtc's rule climbs 40 kbps/s at 300 kbps
		// and keeps a drop-tail queue near full).
		response := responseBase + max(rtt, responseBase)
		bitsPerFrame := a.rate / 30
		packets := math.Ceil(bitsPerFrame / (1200 * 8))
		pkt := bitsPerFrame / packets
		inc = max(minAddIncrease, pkt/response.Seconds()) * dt
	} else {
		inc = max(a.rate*(math.Pow(multIncrease, dt)-1), 1000*dt)
	}
	next := a.rate + inc
	if a.haveCap {
		// What arrives can never exceed the capacity it was measured at, so
		// libwebrtc's "acked above the upper bound" reset never comes on a
		// fixed bottleneck and the rate creeps on into the queue. Hold it
		// under the capacity: every second stays below the cap, probes
		// included, and the queue audio crosses stays empty. A probe finds
		// out when the path grew.
		next = min(next, max(a.rate, capHold*a.capMean*1000))
	}
	if acked > 0 {
		// Never far above what arrives (it would be a guess), but always
		// enough to send some video: with video paused only audio arrives,
		// and 1.5× audio is below what resumes the video.
		limit := max(throughputLimit*acked+throughputExtra, throughputFloor)
		if next > limit {
			next = max(a.rate, limit)
		}
	}
	a.rate = min(next, a.maxRate)
}

// raise sets the rate to a probe's result when that is higher: the path
// carried it without a growing queue.
func (a *aimd) raise(now time.Time, bps float64) {
	if bps <= a.rate {
		return
	}
	a.rate = min(bps, a.maxRate)
	if a.haveCap && bps/1000 > a.capMean+capacityDeviation*a.capDev() {
		a.haveCap = false // the path carries more than it did at the last cuts
	}
	a.lastChange = now
}

// probeCeiling is what a probe's result bps may raise the rate to: all of
// it without a known capacity or when it shows probeLift times that
// capacity, else no more than the rate the capacity holds (capHold).
func (a *aimd) probeCeiling(bps float64) float64 {
	if bps <= 0 || !a.haveCap || bps >= probeLift*a.capMean*1000 {
		return bps
	}
	return min(bps, max(a.rate, capHold*a.capMean*1000))
}

// probeLeast is the lowest probe rate whose result probeCeiling lets raise
// the rate: with the rate at its known capacity, probeLift times that
// capacity and a quarter more (a probe's packets leave at timer ticks, and
// its measured rate comes out under what it asked for); 0 when any probe
// could.
func (a *aimd) probeLeast() float64 {
	if !a.haveCap || a.rate < capHold*a.capMean*1000 {
		return 0
	}
	return 1.25 * probeLift * a.capMean * 1000
}
