package bwe

import (
	"cmp"
	"slices"
	"time"
)

// Probing. Without it a rate that was cut on a congested path climbs back
// only as fast as the increase allows (8 %/s, additively near the old
// capacity): 20 s from 150 kbps to 700 kbps after the path clears. A probe
// sends a short cluster at twice the rate (padding on the RTX stream fills
// what media does not); if the receiver's feedback shows it arrived at that
// rate, the path can carry it and the rate jumps there, as libwebrtc's
// ProbeController and ProbeBitrateEstimator do.
const (
	probeInterval     = 5 * time.Second
	probeIntervalIdle = 1500 * time.Millisecond
	probeConfirm      = time.Second
	probeMaxInterval  = 6 * time.Second
	probeAfterCut     = 2 * time.Second // no probe this soon after a congestion cut
	probeMinDuration  = 60 * time.Millisecond
	// A cluster is 12 padding packets or more, sized to the probe rate;
	// its later half is measured (a shaper lets its first kilobytes
	// through at line rate).
	probePackets    = 12
	probeMinPackets = 8
	// probeMinBytes: a cluster is at least this long, 1.7 times a
	// shaper's usual burst (3000 bytes: two full frames), so the later part
	// of its measured half is paced by the shaper. A link saves up its
	// burst between probes: at 2 × 127 kbps a 60 ms cluster (1.9 kB)
	// fitted it whole, passed, and the confirming one a second later did
	// too; the rate doubled on a 150 kbit/s link, video resumed into it and
	// the audio queued and dropped behind it. The price: the second a probe
	// goes out in carries 40 kbit more (TestBottleneck).
	probeMinBytes    = 5000
	probeMinReceived = 0.8                   // of the cluster's packets, or the probe failed
	probeUnsaturated = 0.9                   // receive/send rate below this: the link is the limit
	probeTimeout     = 2 * time.Second       // feedback about a cluster comes within this
	probeMaxQueue    = 15 * time.Millisecond // delay growth across a cluster that says it queued
	// probeTalkWait is how long a due probe waits for a pause in our own
	// speech. A probe fills a narrow link's queue for a few hundred ms
	// (5000 bytes are 270 ms of 150 kbit/s): the audio sent meanwhile comes
	// late or is dropped, which in a pause is silence, in a word a gap.
	// Long enough for a few sentences: a probe in the pause between two of
	// them still made the next words late (10 % of a second's frames
	// concealed, twice in 12 s of speech: PESQ-WB 3.5 on 300 kbit/s).
	probeTalkWait = 6 * time.Second
	// talkHangover: the local side counts as speaking until it has been
	// quiet this long. Pauses between phrases last 0.3–0.6 s, so a probe
	// goes out at the end of a turn, not into the next phrase.
	talkHangover = 800 * time.Millisecond
)

// probeFactors are the multiples of the rate a probe asks for: twice it,
// and after each failure in a row a smaller step. A path with room for
// 40 % more than the rate fails every probe at twice it: a cut left the
// rate at 108 kbps on a 150 kbit/s link, the picture suspended, and it
// stayed there for the rest of the call.
var probeFactors = [...]float64{2, 1.5, 1.25}

// probeIdleFactor replaces the first factor while the media use less than
// half the rate (a picture suspended behind a narrow cap): a lifted cap is
// found a confirmed probe sooner (130 → 520 kbps, where the full picture
// starts, instead of 260 then 520: 10-11 s from the lift to the full
// picture, the target is 10), and a held 150 kbit/s cap fails it plainly —
// 5000 bytes at 4× do not fit the shaper's 3000-byte burst and its rate.
const probeIdleFactor = 4

// cluster accumulates what was sent and acknowledged of one probe.
type cluster struct {
	id        int
	rate      float64
	started   time.Time
	ends      time.Time // the pacer sends no more of it after this
	sent      int
	sendFirst time.Time
	sendLast  time.Time
	sendBytes int
	lastSize  int

	recv     int
	lost     int
	arrivals []arrivalSize
}

type arrivalSize struct {
	at   time.Duration
	sent time.Time
	size int
}

// plan is the probe the estimator asks the pacer to send.
type plan struct {
	id       int
	bps      float64
	duration time.Duration
}

type prober struct {
	nextID   int
	last     time.Time
	clusters map[int]*cluster
	enabled  bool // a padding stream (RTX) exists
	// confirm is the result of a probe that succeeded and waits for a
	// second one to agree before it counts (0: none).
	confirm float64
	failed  int // probes that failed in a row
}

// due decides whether to probe now; rate is the current target, acked what
// arrives (0: nothing does, idle), max the configured maximum, lastCut the
// time of the last congestion cut. While we send far less than the target
// (video suspended for want of bandwidth), or nothing at all, only probes
// can show the path has more, so they come sooner. While talking (the
// local side is speaking) a probe waits up to probeTalkWait for a pause.
//
// least is the lowest probe rate whose result could raise the rate (the
// estimator's ceiling, 0: any): a probe asks for at least that. Below it a
// success counts as a failure, and on a path whose cap had lifted the 1.5×
// and 1.25× steps wasted two probes of every three (18 s to the full
// picture instead of 6).
func (p *prober) due(now time.Time, rate, acked, maxRate, least float64, lastCut time.Time, u usage, talking bool) (plan, bool) {
	interval := p.backoff(probeInterval)
	idle := acked < 0.5*rate
	if idle {
		interval = probeIntervalIdle
	}
	if !p.enabled || rate >= 0.95*maxRate || u == usageOver ||
		!p.last.IsZero() && now.Sub(p.last) < interval ||
		!lastCut.IsZero() && now.Sub(lastCut) < probeAfterCut {
		return plan{}, false
	}
	if p.last.IsZero() {
		// The first probe waits for the call to settle (DTLS, the first
		// keyframe) rather than going out with the first feedback.
		p.last = now
		return plan{}, false
	}
	if talking && now.Sub(p.last) < interval+probeTalkWait {
		return plan{}, false
	}
	factor := probeFactors[p.failed%len(probeFactors)]
	if idle && p.failed%len(probeFactors) == 0 {
		factor = probeIdleFactor
	}
	bps := min(max(factor*rate, least), maxRate)
	minBytes := max(probePackets*(probeHeader+WireOverhead+minPadding), probeMinBytes)
	d := max(probeMinDuration, time.Duration(float64(minBytes*8)/bps*float64(time.Second)))
	p.nextID++
	p.last = now
	if p.clusters == nil {
		p.clusters = map[int]*cluster{}
	}
	p.clusters[p.nextID] = &cluster{id: p.nextID, rate: bps, started: now, ends: now.Add(d)}
	return plan{id: p.nextID, bps: bps, duration: d}, true
}

// sent records a packet of cluster id leaving at at.
func (p *prober) sent(id int, at time.Time, size int) {
	c := p.clusters[id]
	if c == nil {
		return
	}
	if c.sent == 0 {
		c.sendFirst = at
	}
	c.sent++
	c.sendLast = at
	c.sendBytes += size
	c.lastSize = size
}

// feedback adds one packet's fate.
func (p *prober) feedback(r result) {
	c := p.clusters[r.sent.probe]
	if c == nil {
		return
	}
	if r.lost {
		c.lost++
		return
	}
	c.recv++
	c.arrivals = append(c.arrivals, arrivalSize{r.arrival, r.sent.at, r.sent.size})
}

// results returns what completed probes show the path carries (0:
// nothing new) and forgets their clusters (and clusters that never
// completed). A successful probe counts only when the next one, sent
// probeConfirm later, agrees: one probe in a hundred that fits a shaper's
// burst, or meets a receiver that reads in bursts, otherwise raises the
// rate well past the path and freezes the picture for a second. useful
// says whether a result would raise the rate (the estimator's ceiling): one
// that would not is a failure, so it neither asks for a confirming probe a
// second later nor resets the back-off.
func (p *prober) results(now time.Time, useful func(bps float64) bool) float64 {
	done, best := false, 0.0
	for id, c := range p.clusters {
		if now.Sub(c.started) > probeTimeout {
			delete(p.clusters, id)
			continue
		}
		if c.sent == 0 || now.Before(c.ends) || c.recv+c.lost < c.sent {
			continue // still in flight
		}
		delete(p.clusters, id)
		done = true
		best = max(best, c.estimate())
	}
	if !done {
		return 0
	}
	if best > 0 && !useful(best) {
		best = 0
	}
	switch {
	case best == 0:
		p.confirm = 0
		p.failed++
	case p.confirm == 0:
		p.confirm = best
		p.last = now.Add(probeConfirm - probeInterval) // confirm soon
		best = 0
	default:
		best, p.confirm, p.failed = min(best, p.confirm), 0, 0
		// The path carried twice the rate: probe on from there soon
		// (libwebrtc's further probing), so a path that cleared is found
		// in a few seconds, not a probe interval per doubling.
		p.last = now.Add(probeConfirm - probeInterval)
	}
	return best
}

// backoff stretches the interval after probes that failed in a row (a
// path at its capacity pays for each): 5 s, then 6 s, so a path that
// clears is still found in time to restore the picture within 10 s.
func (p *prober) backoff(base time.Duration) time.Duration {
	return min(base+time.Duration(p.failed)*base/2, probeMaxInterval)
}

// estimate is the rate the cluster shows the path carries, 0 if it failed.
// The receive rate is taken over the later half of the arrivals: a shaper's
// burst lets the first packets through at line rate.
func (c *cluster) estimate() float64 {
	if c.recv < probeMinPackets || float64(c.recv) < probeMinReceived*float64(c.sent) {
		return 0
	}
	sendSpan := c.sendLast.Sub(c.sendFirst).Seconds()
	slices.SortFunc(c.arrivals, func(a, b arrivalSize) int { return cmp.Compare(a.at, b.at) })
	half := c.arrivals[len(c.arrivals)/2:]
	recvSpan := (half[len(half)-1].at - half[0].at).Seconds()
	if sendSpan <= 0 || recvSpan <= 0 {
		return 0
	}
	recvBytes := 0
	for _, a := range half[1:] { // the first only marks the span's start
		recvBytes += a.size
	}
	sendRate := float64(c.sendBytes-c.lastSize) * 8 / sendSpan
	recvRate := float64(recvBytes) * 8 / recvSpan
	// A cluster that queued shows its one-way delay growing from its first
	// packets to its last: at twice the path's rate the backlog reaches
	// half the cluster's length. The receive rate alone is fooled by a
	// receiver that reads its socket in bursts (a busy CPU squeezes the
	// arrival times together); the delay growth is not. Medians of the two
	// halves keep scheduling jitter out.
	owd := func(a arrivalSize) time.Duration { return a.at - time.Duration(a.sent.UnixNano()) }
	median := func(as []arrivalSize) time.Duration {
		v := make([]time.Duration, len(as))
		for i, a := range as {
			v[i] = owd(a)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	// The allowance grows with the path's jitter (the first half's
	// interquartile range): on a path whose delay varies by ±20 ms two
	// medians of six packets differ by that much without any queue.
	first := c.arrivals[:len(c.arrivals)/2]
	spread := func() time.Duration {
		v := make([]time.Duration, len(first))
		for i, a := range first {
			v[i] = owd(a)
		}
		slices.Sort(v)
		return v[len(v)*3/4] - v[len(v)/4]
	}()
	if growth := median(half) - median(first); growth > max(probeMaxQueue, c.ends.Sub(c.started)/3, spread) {
		return 0
	}
	if recvRate < probeUnsaturated*sendRate {
		// The cluster queued: the path is full at about what we send
		// already (libwebrtc would take 95 % of the receive rate, which
		// overfills a path the media shares with the probe).
		return 0
	}
	return min(sendRate, recvRate)
}
