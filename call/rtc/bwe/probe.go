package bwe

import "time"

// Probing. Without it a rate that was cut on a congested path climbs back
// only as fast as the increase allows (8 %/s, additively near the old
// capacity): 20 s from 150 kbps to 700 kbps after the path clears. A probe
// sends a short cluster at twice the rate (padding on the RTX stream fills
// what media does not); if the receiver's feedback shows it arrived at that
// rate, the path can carry it and the rate jumps there, as libwebrtc's
// ProbeController and ProbeBitrateEstimator do.
const (
	probeInterval    = 5 * time.Second
	probeAfterCut    = 2 * time.Second // no probe this soon after a congestion cut
	probeFactor      = 2.0
	probeMinDuration = 40 * time.Millisecond
	probeMinBytes    = 6 * paddingSize
	probeMinPackets  = 5
	probeMinReceived = 0.8             // of the cluster's packets, or the probe failed
	probeUnsaturated = 0.9             // receive/send rate below this: the link is the limit
	probeTimeout     = 2 * time.Second // feedback about a cluster comes within this
)

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

	recv      int
	lost      int
	recvFirst time.Duration
	recvLast  time.Duration
	recvBytes int
	firstSize int
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
	lastRate float64
}

// due decides whether to probe now; rate is the current target, max the
// configured maximum, lastCut the time of the last congestion cut.
func (p *prober) due(now time.Time, rate, maxRate float64, lastCut time.Time, u usage) (plan, bool) {
	if !p.enabled || rate >= 0.95*maxRate || u == usageOver ||
		!p.last.IsZero() && now.Sub(p.last) < probeInterval ||
		!lastCut.IsZero() && now.Sub(lastCut) < probeAfterCut {
		return plan{}, false
	}
	if p.last.IsZero() {
		// The first probe waits for the call to settle (DTLS, the first
		// keyframe) rather than going out with the first feedback.
		p.last = now
		return plan{}, false
	}
	bps := min(probeFactor*rate, maxRate)
	d := max(probeMinDuration, time.Duration(float64(probeMinBytes*8)/bps*float64(time.Second)))
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
	if c.recv == 0 || r.arrival < c.recvFirst {
		if c.recv > 0 {
			// A new first packet: the old one's size now counts.
			c.recvBytes += c.firstSize
		}
		c.recvFirst, c.firstSize = r.arrival, r.sent.size
	} else {
		c.recvBytes += r.sent.size
	}
	if r.arrival > c.recvLast || c.recv == 0 {
		c.recvLast = r.arrival
	}
	c.recv++
}

// results returns the estimates of clusters whose feedback is complete and
// forgets them (and clusters that never completed).
func (p *prober) results(now time.Time) (best float64) {
	for id, c := range p.clusters {
		if now.Sub(c.started) > probeTimeout {
			delete(p.clusters, id)
			continue
		}
		if c.sent == 0 || now.Before(c.ends) || c.recv+c.lost < c.sent {
			continue // still in flight
		}
		delete(p.clusters, id)
		if r := c.estimate(); r > best {
			best = r
		}
	}
	p.lastRate = best
	return best
}

// estimate is the rate the cluster shows the path carries, 0 if it failed.
func (c *cluster) estimate() float64 {
	if c.recv < probeMinPackets || float64(c.recv) < probeMinReceived*float64(c.sent) {
		return 0
	}
	sendSpan := c.sendLast.Sub(c.sendFirst).Seconds()
	recvSpan := (c.recvLast - c.recvFirst).Seconds()
	if sendSpan <= 0 || recvSpan <= 0 {
		return 0
	}
	// The last packet sent and the first received only mark the spans' ends.
	sendRate := float64(c.sendBytes-c.lastSize) * 8 / sendSpan
	recvRate := float64(c.recvBytes) * 8 / recvSpan
	if recvRate < probeUnsaturated*sendRate {
		// The cluster queued: the path is full at about what we send
		// already (libwebrtc would take 95 % of the receive rate, which
		// overfills a path the media shares with the probe).
		return 0
	}
	return min(sendRate, recvRate)
}
