// Package bwe is the send side of a call's congestion control: a bandwidth
// estimator fed by transport-wide congestion control feedback (delay
// gradient, loss above the path's baseline, probes) and the pacer that
// sends every RTP packet the session writes, audio first.
//
// It replaces pion's gcc.SendSideBWE behind the same cc.BandwidthEstimator
// interface (pion's cc interceptor calls it). What pion's lacks and a call
// needs: loss that a path drops at random does not ratchet the rate down;
// probes bring the rate back after a congestion ends; the configured
// minimum holds unless the network delivered less; retransmissions (RTX)
// and probe padding go through the pacer, which assigns the transport-wide
// sequence numbers at the moment a packet leaves, so feedback measures
// what was on the wire in the order it was sent.
package bwe

import (
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"
)

// Config bounds the estimate; all rates are bits per second on the wire
// (RTP with WireOverhead per packet) for all streams together.
type Config struct {
	StartBps int // the first estimate (default MinBps)
	MinBps   int // kept unless the network delivered less
	MaxBps   int
	// FloorBps is the lowest estimate ever (default 30 kbps): feedback
	// needs packets, and audio alone needs about that.
	FloorBps int
	// Talking, when set, reports whether the local side is speaking now:
	// probes wait for a pause in it (probeTalkWait). Called with the
	// estimator's lock held: it must be quick and must not call back.
	Talking func() bool
	Log     *slog.Logger
}

// WireOverhead is what a packet occupies on a link besides its RTP: the
// Ethernet header 14 (a Linux shaper counts frames, and so does the bench
// bridge), IPv4 20, UDP 8 and the SRTP authentication tag, 16 bytes with the
// AEAD-GCM profiles pion and Chromium negotiate first. With 38 (no Ethernet,
// the 10-byte HMAC tag) the estimate sat 8 % above a bottleneck: 162 kbps on
// 150 kbit/s, 323 on 300.
const WireOverhead = 14 + 20 + 8 + 16

// Defaults.
const (
	defaultFloor = 30_000
	// standingRecut: a standing queue counts as overuse again this long
	// after a cut (it needs the time to drain).
	standingRecut = 500 * time.Millisecond
	// probeDistrust: overuse this soon after a probe raised the rate
	// undoes the raise.
	probeDistrust = 2 * time.Second
	// probeEcho: a delay gradient this soon after a probe is the probe's.
	probeEcho  = 800 * time.Millisecond
	rttDefault = 100 * time.Millisecond
	ackedSpan  = 500 * time.Millisecond
)

// Estimator is one PeerConnection's bandwidth estimator and pacer. It
// implements cc.BandwidthEstimator.
type Estimator struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	pacer *Pacer
	// startProbe sends a probe cluster (the pacer's; simulations replace it).
	startProbe func(plan)

	mu       sync.Mutex
	hist     history
	delay    *delayDetector
	rate     *aimd
	loss     lossControl
	probe    prober
	acked    ackedRate
	ackedMax recentMax // acked over the last second: lost feedback makes dips
	// probeRaised / beforeProbe: when a probe last raised the rate, and
	// the rate it raised from.
	probeRaised time.Time
	beforeProbe float64
	probeSent   time.Time // when the last probe cluster started
	lastMedia   time.Time // feedback last acknowledged media (not padding)
	owd         owdTracker
	lastTalk    time.Time // Config.Talking last said so
	congest     bool      // the queue was over congestedQueue in this loss window
	rtt         time.Duration
	target      int
	scratch     []result
	onChange    func(int)
	logged      int // the target last logged
	counts      Counts
}

// Counts are cumulative counts of feedback the estimator has seen.
type Counts struct {
	NACKs, PLIs, FIRs uint64 // feedback messages received about our streams
	Probes            uint64 // probe clusters sent
	ProbeRaises       uint64 // probes that raised the estimate
}

var _ cc.BandwidthEstimator = (*Estimator)(nil)

// New returns an estimator (and its pacer) for one PeerConnection.
func New(cfg Config) *Estimator {
	if cfg.MinBps <= 0 {
		cfg.MinBps = defaultFloor
	}
	if cfg.FloorBps <= 0 {
		cfg.FloorBps = defaultFloor
	}
	cfg.FloorBps = min(cfg.FloorBps, cfg.MinBps)
	if cfg.MaxBps < cfg.MinBps {
		cfg.MaxBps = cfg.MinBps
	}
	if cfg.StartBps <= 0 {
		cfg.StartBps = cfg.MinBps
	}
	cfg.StartBps = min(max(cfg.StartBps, cfg.FloorBps), cfg.MaxBps)
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	e := &Estimator{
		cfg:    cfg,
		log:    cfg.Log,
		now:    time.Now,
		delay:  newDelayDetector(),
		rate:   newAIMD(float64(cfg.StartBps), float64(cfg.MinBps), float64(cfg.FloorBps), float64(cfg.MaxBps)),
		rtt:    rttDefault,
		target: cfg.StartBps,
	}
	e.pacer = newPacer(e, cfg.StartBps)
	e.startProbe = e.pacer.probe
	return e
}

// Pacer returns the estimator's pacer.
func (e *Estimator) Pacer() *Pacer { return e.pacer }

// AddStream implements cc.BandwidthEstimator: the stream's packets go
// through the pacer.
func (e *Estimator) AddStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	ok := e.pacer.addStream(info, w)
	if ok {
		e.mu.Lock()
		e.probe.enabled = true
		e.mu.Unlock()
	}
	return interceptor.RTPWriterFunc(e.pacer.writer(info.SSRC))
}

// WriteRTCP implements cc.BandwidthEstimator: every RTCP packet we
// receive passes here (pion's cc interceptor reads them all).
func (e *Estimator) WriteRTCP(pkts []rtcp.Packet, _ interceptor.Attributes) error {
	now := e.now()
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.TransportLayerCC:
			e.feedback(now, p)
		case *rtcp.TransportLayerNack:
			e.mu.Lock()
			e.counts.NACKs++
			e.mu.Unlock()
		case *rtcp.PictureLossIndication:
			e.mu.Lock()
			e.counts.PLIs++
			e.mu.Unlock()
		case *rtcp.FullIntraRequest:
			e.mu.Lock()
			e.counts.FIRs++
			e.mu.Unlock()
		}
	}
	return nil
}

// sent records a packet of size bytes of RTP leaving now and returns its
// transport-wide sequence number. The pacer calls it in send order. The
// estimator counts what the packet occupies on the wire (WireOverhead
// more): a bottleneck carries IP packets, and a call sending 270 kbps of
// RTP fills 300 kbit/s of link.
func (e *Estimator) sent(at time.Time, size, probe int, padding bool) uint16 {
	e.mu.Lock()
	defer e.mu.Unlock()
	size += WireOverhead
	if probe != 0 {
		e.probe.sent(probe, at, size)
	}
	return e.hist.add(at, size, probe, padding)
}

// feedback runs one TWCC report through the detectors and moves the target.
func (e *Estimator) feedback(now time.Time, fb *rtcp.TransportLayerCC) {
	e.mu.Lock()
	res := e.hist.parseFeedback(fb, e.scratch[:0])
	e.scratch = res[:0]
	if len(res) == 0 {
		e.mu.Unlock()
		return
	}
	lost := 0
	var newest time.Duration
	for _, r := range res {
		if r.lost {
			lost++
			continue
		}
		newest = max(newest, r.arrival)
	}
	received := slices.DeleteFunc(slices.Clone(res), func(r result) bool { return r.lost })
	slices.SortStableFunc(received, func(a, b result) int {
		switch {
		case a.arrival < b.arrival:
			return -1
		case a.arrival > b.arrival:
			return 1
		}
		return 0
	})
	// Round trip: from sending to this report, less the time the receiver
	// held the packet before reporting (its arrival to the report's newest).
	rtt := time.Duration(-1)
	for _, r := range received {
		if s := now.Sub(r.sent.at) - (newest - r.arrival); s > 0 && (rtt < 0 || s < rtt) {
			rtt = s
		}
		if !r.sent.padding {
			e.acked.add(r.arrival, r.sent.at, r.sent.size)
			e.lastMedia = now
		}
		e.delay.packet(r.sent.at, r.arrival)
		e.owd.add(now, r.sent.at, r.arrival)
	}
	for _, r := range res {
		if r.sent.probe != 0 {
			e.probe.feedback(r)
		}
	}
	if rtt > 0 {
		e.rtt = (4*e.rtt + rtt) / 5
	}
	u := e.delay.state
	if u == usageOver && !e.probeSent.IsZero() && now.Sub(e.probeSent) < probeEcho {
		// Our own probe queued a little (as it should on a path at its
		// capacity): not congestion to cut for. Without this every probe
		// on a held bottleneck cut the rate and taught the capacity
		// estimate a lower value: 300 → 257 → 221 → 192 kbps.
		u = usageNormal
	}
	if e.owd.over >= standingWindows && u != usageUnder && now.Sub(e.rate.lastCut) >= standingRecut {
		// A full queue with a flat delay is still overuse; after a cut the
		// queue takes a while to drain, so it counts again only when it
		// is still there a second later.
		u = usageOver
	}
	queued := e.owd.queue > congestedQueue
	e.congest = e.congest || queued
	acked := e.ackedMax.add(now, e.acked.rate())
	e.rate.update(now, u, acked, e.rtt, queued || e.loss.excessive())
	if u == usageOver && !e.probeRaised.IsZero() && now.Sub(e.probeRaised) < probeDistrust {
		// The path queued right after a probe raised the rate: the probe
		// was wrong (a burst it fitted into), go back to where we were.
		e.rate.rate = min(e.rate.rate, e.beforeProbe)
		e.probeRaised = time.Time{}
	}
	raises := func(bps float64) bool { return e.rate.probeCeiling(bps) > e.rate.rate }
	if pr := e.rate.probeCeiling(e.probe.results(now, raises)); pr > 0 && u != usageOver && pr > e.rate.rate {
		e.beforeProbe, e.probeRaised = e.rate.rate, now
		e.rate.raise(now, pr)
		e.loss.cap = 0 // the path carried more than the loss cap allowed
		e.counts.ProbeRaises++
	}
	if e.loss.add(now, lost, len(res), e.rate.rate, e.rtt, e.congest) {
		e.congest = false
	}
	target := e.rate.rate
	if e.loss.cap > 0 {
		target = min(target, e.loss.cap)
	}
	target = min(max(target, float64(e.cfg.FloorBps)), float64(e.cfg.MaxBps))
	t := int(target)
	changed := t != e.target
	e.target = t
	pl, probeNow := e.probe.due(now, target, acked, float64(e.cfg.MaxBps), e.rate.probeLeast(), e.rate.lastCut, u, e.talking(now))
	if probeNow {
		e.counts.Probes++
		e.probeSent = now
	}
	cb := e.onChange
	if changed && (float64(t) < 0.9*float64(e.logged) || float64(t) > 1.1*float64(e.logged)) {
		e.logged = t
		e.log.Debug("bwe target", "kbps", t/1000, "delayKbps", int(e.rate.rate)/1000, "lossCapKbps", int(e.loss.cap)/1000,
			"ackedKbps", int(acked)/1000, "usage", u.String(), "queueMs", e.owd.queue.Milliseconds(),
			"lossPct", 100*e.loss.last, "baselinePct", 100*e.loss.baseline, "rtt", e.rtt)
	}
	e.mu.Unlock()

	e.pacer.SetTargetBitrate(t)
	if probeNow {
		e.startProbe(pl)
	}
	if changed && cb != nil {
		cb(t)
	}
}

// idleAfter is how long without media acknowledged makes the estimator
// probe on its own (Idle).
const idleAfter = time.Second

// Idle starts a probe when no media has been acknowledged for idleAfter:
// with the picture suspended and the microphone silent (or its file at its
// end) nothing is sent, nothing acknowledged, and feedback — where probes
// start — never runs, so a suspended picture stayed suspended to the end
// of the call. The owner calls it about once a second.
func (e *Estimator) Idle() {
	now := e.now()
	e.mu.Lock()
	if e.lastMedia.IsZero() || now.Sub(e.lastMedia) < idleAfter {
		e.mu.Unlock()
		return
	}
	pl, probeNow := e.probe.due(now, float64(e.target), 0, float64(e.cfg.MaxBps), e.rate.probeLeast(), e.rate.lastCut, usageNormal, e.talking(now))
	if probeNow {
		e.counts.Probes++
		e.probeSent = now
	}
	e.mu.Unlock()
	if probeNow {
		e.startProbe(pl)
	}
}

// talking reports whether the local side speaks (Config.Talking) or did
// within talkHangover. e.mu is held.
func (e *Estimator) talking(now time.Time) bool {
	if e.cfg.Talking != nil && e.cfg.Talking() {
		e.lastTalk = now
		return true
	}
	return !e.lastTalk.IsZero() && now.Sub(e.lastTalk) < talkHangover
}

// GetTargetBitrate implements cc.BandwidthEstimator. pion's NACK
// responder also reads it (through the cc interceptor) as its
// retransmission budget; the pacer keeps a tighter one.
func (e *Estimator) GetTargetBitrate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.target
}

// OnTargetBitrateChange implements cc.BandwidthEstimator; f runs on the
// goroutine that read the feedback, without the estimator's lock.
func (e *Estimator) OnTargetBitrateChange(f func(bitrate int)) {
	e.mu.Lock()
	e.onChange = f
	e.mu.Unlock()
}

// Stats is a snapshot of the estimator's state.
type Stats struct {
	TargetBps   int
	DelayBps    int     // the delay-based rate
	LossCapBps  int     // the loss-based limit, 0 when none
	AckedBps    int     // what the receiver acknowledged over the last 0.5 s
	LossPct     float64 // loss of the last feedback window
	BaselinePct float64 // the path's loss that does not count as congestion
	RTT         time.Duration
	Usage       string
	QueueDelay  time.Duration // the path's queueing delay over its minimum
	Counts
}

// Stats returns the current state.
func (e *Estimator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Stats{
		TargetBps: e.target, DelayBps: int(e.rate.rate), LossCapBps: int(e.loss.cap),
		AckedBps: int(e.acked.rate()), LossPct: 100 * e.loss.last, BaselinePct: 100 * e.loss.baseline,
		RTT: e.rtt, Usage: e.delay.state.String(), QueueDelay: e.owd.queue, Counts: e.counts,
	}
}

// GetStats implements cc.BandwidthEstimator.
func (e *Estimator) GetStats() map[string]any {
	s := e.Stats()
	return map[string]any{
		"targetBitrate": s.TargetBps, "delayBitrate": s.DelayBps, "lossCapBitrate": s.LossCapBps,
		"ackedBitrate": s.AckedBps, "lossPct": s.LossPct, "baselineLossPct": s.BaselinePct,
		"rttMs": float64(s.RTT) / float64(time.Millisecond), "usage": s.Usage,
		"queueDelayMs": float64(s.QueueDelay) / float64(time.Millisecond),
	}
}

// Close implements cc.BandwidthEstimator: it stops the pacer.
func (e *Estimator) Close() error { return e.pacer.Close() }

// recentMax is the largest of the samples of the last recentSpan. Feedback
// crosses the same congested queue as the media and is lost with it; the
// packets it would have acknowledged then look lost, and the acknowledged
// rate dips below what the path carried. A cut to 85 % of such a dip took
// calls to a third of a 300 kbps link.
type recentMax struct {
	at []time.Time
	v  []float64
}

const recentSpan = time.Second

func (r *recentMax) add(now time.Time, v float64) float64 {
	if v > 0 {
		r.at = append(r.at, now)
		r.v = append(r.v, v)
	}
	i := 0
	for i < len(r.at) && now.Sub(r.at[i]) > recentSpan {
		i++
	}
	r.at, r.v = r.at[i:], r.v[i:]
	if len(r.v) == 0 {
		return 0
	}
	return slices.Max(r.v)
}

// ackedRate is the rate at which the receiver acknowledged media over the
// last ackedSpan: bytes received over the span of their arrival times, or
// over the span of their send times if that is lower. Arrival times alone
// overstate the rate when the receiver reads its socket in bursts (a busy
// CPU: 190 kbps measured through a 150 kbps shaper); send times alone
// while a queue grows without dropping yet.
type ackedRate struct {
	at    []time.Duration
	sent  []time.Time
	size  []int
	total int
}

func (a *ackedRate) add(arrival time.Duration, sent time.Time, size int) {
	a.at = append(a.at, arrival)
	a.sent = append(a.sent, sent)
	a.size = append(a.size, size)
	a.total += size
	newest := slices.Max(a.at[max(0, len(a.at)-8):])
	i := 0
	for i < len(a.at) && newest-a.at[i] > ackedSpan {
		a.total -= a.size[i]
		i++
	}
	if i > 0 {
		a.at = append(a.at[:0], a.at[i:]...)
		a.sent = append(a.sent[:0], a.sent[i:]...)
		a.size = append(a.size[:0], a.size[i:]...)
	}
}

// rate is 0 until acknowledgements span most of ackedSpan: early in a call
// a few packets make a rate that a cut to 85 % of it would wreck.
func (a *ackedRate) rate() float64 {
	if len(a.at) < 2 {
		return 0
	}
	span := a.at[len(a.at)-1] - a.at[0]
	if span < ackedSpan*4/5 {
		return 0
	}
	// The first packet only marks the span's start.
	bits := float64(a.total-a.size[0]) * 8
	r := bits / span.Seconds()
	first, last := a.sent[0], a.sent[0]
	for _, t := range a.sent {
		if t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	if s := last.Sub(first); s >= ackedSpan/2 {
		r = min(r, bits/s.Seconds())
	}
	return r
}
