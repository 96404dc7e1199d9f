package bwe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// Pacing follows the estimate like GCC's leaky bucket, with libwebrtc's
// pacing factor and burst window.
const (
	// pacingFactor: send at up to 1.5× the target. libwebrtc's 2.5 empties
	// a keyframe into a 300 kbit/s bottleneck at 2.5 times its rate, and
	// the audio behind it waits for the queue to drain.
	pacingFactor   = 1.5
	pacingBurst    = 40 * time.Millisecond // what may leave at once, at that rate
	pacingMinBurst = 10 * 1200             // bytes: a small keyframe leaves unpaced
	// maxQueueDelay bounds the queue as a last resort. The encoder skips
	// frames long before (vp8.Params.Backlog): a video packet dropped here
	// breaks its frame until NACK repairs it.
	maxQueueDelay = 2 * time.Second
	// rtxShare is how much of the target retransmissions may use over
	// rtxWindow: enough to repair 20–25 % loss, never a storm that starves
	// new frames (libwebrtc allows the whole target).
	rtxShare  = 0.35
	rtxWindow = time.Second
	rtxSlots  = 10
	// maxPadding is the most padding an RTP packet carries, minPadding the
	// least a probe sends per packet; probeHeader is a padding packet's
	// RTP header with the transport-wide sequence number.
	maxPadding  = 255
	minPadding  = 32
	probeHeader = 12 + 8
)

// errPacerClosed is returned by writes after Close.
var errPacerClosed = errors.New("pacer closed")

// errUnknownStream is returned for a packet of a stream never added.
var errUnknownStream = errors.New("pacer: unknown stream")

// packet classes, in priority order.
type class int

const (
	classAudio class = iota // sent at once, never queued
	classRTX                // retransmissions: ahead of new video
	classVideo
	classPadding
)

// pstream is one local stream as the pacer sends it.
type pstream struct {
	ssrc    uint32
	rtxSSRC uint32
	rtxPT   uint8
	twccID  uint8 // the transport-wide sequence number extension, 0: none
	audio   bool
	w       interceptor.RTPWriter

	// Guarded by Pacer.sendMu.
	rtxSeq uint16
	lastTS uint32
}

type queued struct {
	st      *pstream
	header  *rtp.Header
	payload []byte
	attrs   interceptor.Attributes
	size    int // on the wire (WireOverhead included)
	class   class
}

// PacerStats are cumulative counts of what the pacer sent and dropped.
type PacerStats struct {
	AudioBytes, VideoBytes, RTXBytes, PaddingBytes uint64
	RTXPackets                                     uint64
	RTXDropped                                     uint64 // retransmissions over the budget
	VideoDropped                                   uint64 // video packets over maxQueueDelay
}

// Pacer sends the session's RTP: audio at once, retransmissions and video
// through a token bucket at pacingFactor × the target, padding for probes.
// It wakes only while packets wait (a timer, no ticker).
type Pacer struct {
	est *Estimator

	// sendMu serialises the writes to the network, so transport-wide
	// sequence numbers follow the send order.
	sendMu sync.Mutex

	mu       sync.Mutex
	streams  map[uint32]*pstream // by media SSRC and RTX SSRC
	target   int
	rate     float64 // bytes per second
	tokens   float64 // may go negative after a large packet or audio
	last     time.Time
	rtxQ     []*queued
	videoQ   []*queued
	queued   int // bytes in both queues
	timer    *time.Timer
	draining bool
	closed   bool
	rtxSlot  [rtxSlots]int // retransmitted bytes per rtxWindow/rtxSlots
	rtxAt    time.Time     // start of the current slot
	rtxHead  int
	stats    PacerStats
	probes   sync.WaitGroup
	stop     chan struct{}
}

func newPacer(e *Estimator, startBps int) *Pacer {
	p := &Pacer{est: e, streams: map[uint32]*pstream{}, last: time.Now(), stop: make(chan struct{})}
	p.SetTargetBitrate(startBps)
	p.tokens = p.burst()
	return p
}

func (p *Pacer) burst() float64 {
	return max(p.rate*pacingBurst.Seconds(), pacingMinBurst)
}

// SetTargetBitrate sets the rate the pacer spreads video over.
func (p *Pacer) SetTargetBitrate(bps int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refill(time.Now())
	p.target = max(bps, 1)
	p.rate = pacingFactor * float64(p.target) / 8
}

// addStream registers a local stream and reports whether it has an RTX
// stream (which carries probe padding).
func (p *Pacer) addStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) bool {
	st := &pstream{
		ssrc:    info.SSRC,
		rtxSSRC: info.SSRCRetransmission,
		rtxPT:   info.PayloadTypeRetransmission,
		audio:   strings.HasPrefix(strings.ToLower(info.MimeType), "audio/"),
		w:       w,
		rtxSeq:  uint16(time.Now().UnixNano()),
	}
	for _, ext := range info.RTPHeaderExtensions {
		if ext.URI == sdp.TransportCCURI {
			st.twccID = uint8(ext.ID)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.streams[info.SSRC] = st
	if st.rtxSSRC != 0 {
		p.streams[st.rtxSSRC] = st
	}
	return st.rtxSSRC != 0 && !st.audio
}

// writer returns the RTP writer of the stream added as ssrc.
func (p *Pacer) writer(ssrc uint32) func(*rtp.Header, []byte, interceptor.Attributes) (int, error) {
	return func(h *rtp.Header, payload []byte, attrs interceptor.Attributes) (int, error) {
		return p.write(ssrc, h, payload, attrs)
	}
}

// refill adds the tokens earned since the last refill. p.mu is held.
func (p *Pacer) refill(now time.Time) {
	if d := now.Sub(p.last); d > 0 {
		p.tokens = min(p.tokens+p.rate*d.Seconds(), p.burst())
		p.last = now
	}
}

// rtxAllow reports whether size more bytes of retransmission fit the
// budget, and counts them if so. p.mu is held.
func (p *Pacer) rtxAllow(now time.Time, size int) bool {
	slot := rtxWindow / rtxSlots
	if p.rtxAt.IsZero() {
		p.rtxAt = now
	}
	for steps := 0; now.Sub(p.rtxAt) >= slot && steps <= rtxSlots; steps++ {
		p.rtxHead = (p.rtxHead + 1) % rtxSlots
		p.rtxSlot[p.rtxHead] = 0
		p.rtxAt = p.rtxAt.Add(slot)
	}
	if now.Sub(p.rtxAt) >= slot {
		p.rtxAt = now
	}
	used := 0
	for _, b := range p.rtxSlot {
		used += b
	}
	budget := rtxShare * float64(p.target) / 8 * rtxWindow.Seconds()
	if float64(used+size) > max(budget, 1500) {
		return false
	}
	p.rtxSlot[p.rtxHead] += size
	return true
}

func (p *Pacer) write(ssrc uint32, h *rtp.Header, payload []byte, attrs interceptor.Attributes) (int, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, errPacerClosed
	}
	st := p.streams[ssrc]
	if st == nil {
		p.mu.Unlock()
		return 0, fmt.Errorf("%w: %d", errUnknownStream, ssrc)
	}
	c := classVideo
	switch {
	case st.audio:
		c = classAudio
	case st.rtxSSRC != 0 && h.SSRC == st.rtxSSRC:
		c = classRTX
	}
	size := h.MarshalSize() + len(payload) + int(h.PaddingSize)
	// The bucket counts what the packet occupies on the link, as the
	// estimate does: the target is a wire rate.
	wire := size + WireOverhead
	now := time.Now()
	p.refill(now)
	if c == classAudio {
		// Audio never waits behind video; its bytes still come out of the
		// bucket, so video yields it the bandwidth.
		p.tokens -= float64(wire)
		p.mu.Unlock()
		return size, p.send(st, h, payload, attrs, c, 0)
	}
	if c == classRTX && !p.rtxAllow(now, wire) {
		p.stats.RTXDropped++
		p.mu.Unlock()
		return size, nil
	}
	if len(p.rtxQ)+len(p.videoQ) == 0 && !p.draining && p.tokens > 0 {
		p.tokens -= float64(wire)
		p.mu.Unlock()
		return size, p.send(st, h, payload, attrs, c, 0)
	}
	if c == classVideo && float64(p.queued+wire) > p.rate*maxQueueDelay.Seconds() {
		p.stats.VideoDropped++
		p.mu.Unlock()
		return size, nil
	}
	hdr := h.Clone()
	q := &queued{st: st, header: &hdr, payload: append([]byte(nil), payload...), attrs: maps.Clone(attrs), size: wire, class: c}
	if c == classRTX {
		p.rtxQ = append(p.rtxQ, q)
	} else {
		p.videoQ = append(p.videoQ, q)
	}
	p.queued += size
	p.armLocked()
	p.mu.Unlock()
	return size, nil
}

// send writes one packet now: RTX packets get the next sequence number of
// the RTX stream (pion's NACK responder numbers them when it stores the
// original, so a second retransmission would repeat the first's number and
// be dropped by the receiver's SRTP replay check), every packet the next
// transport-wide sequence number.
func (p *Pacer) send(st *pstream, h *rtp.Header, payload []byte, attrs interceptor.Attributes, c class, probe int) error {
	p.sendMu.Lock()
	switch c {
	case classRTX, classPadding:
		h.SequenceNumber = st.rtxSeq
		st.rtxSeq++
	case classVideo:
		st.lastTS = h.Timestamp
	}
	var size int
	if st.twccID != 0 {
		var b [2]byte
		if err := h.SetExtension(st.twccID, b[:]); err != nil {
			p.sendMu.Unlock()
			return err
		}
		size = h.MarshalSize() + len(payload) + int(h.PaddingSize)
		binary.BigEndian.PutUint16(b[:], p.est.sent(time.Now(), size, probe, c == classPadding))
		_ = h.SetExtension(st.twccID, b[:]) // same length: cannot fail now
	} else {
		size = h.MarshalSize() + len(payload) + int(h.PaddingSize)
	}
	_, err := st.w.Write(h, payload, attrs)
	p.sendMu.Unlock()

	p.mu.Lock()
	switch c {
	case classAudio:
		p.stats.AudioBytes += uint64(size)
	case classVideo:
		p.stats.VideoBytes += uint64(size)
	case classRTX:
		p.stats.RTXBytes += uint64(size)
		p.stats.RTXPackets++
	case classPadding:
		p.stats.PaddingBytes += uint64(size)
	}
	p.mu.Unlock()
	return err
}

// armLocked schedules a drain for when the bucket has room again.
func (p *Pacer) armLocked() {
	if p.timer != nil || p.draining || p.closed {
		return
	}
	wait := time.Duration(0)
	if p.tokens <= 0 {
		wait = time.Duration((-p.tokens + 1) / p.rate * float64(time.Second))
	}
	p.timer = time.AfterFunc(wait, p.drain)
}

// drain writes queued packets, retransmissions first, while the bucket
// allows, then re-arms itself if packets still wait.
func (p *Pacer) drain() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer = nil
	p.draining = true
	for !p.closed && len(p.rtxQ)+len(p.videoQ) > 0 {
		p.refill(time.Now())
		if p.tokens <= 0 {
			break
		}
		var q *queued
		if len(p.rtxQ) > 0 {
			q, p.rtxQ[0], p.rtxQ = p.rtxQ[0], nil, p.rtxQ[1:]
		} else {
			q, p.videoQ[0], p.videoQ = p.videoQ[0], nil, p.videoQ[1:]
		}
		p.queued -= q.size
		p.tokens -= float64(q.size)
		p.mu.Unlock()
		_ = p.send(q.st, q.header, q.payload, q.attrs, q.class, 0)
		p.mu.Lock()
	}
	p.draining = false
	if len(p.rtxQ)+len(p.videoQ) > 0 {
		p.armLocked()
	} else {
		p.rtxQ, p.videoQ = nil, nil // let the backing arrays go
	}
}

// Backlog is how long the queued video and retransmissions take to leave
// at the current pacing rate: the encoder skips frames while it is over its
// budget (vp8.Params.Backlog).
func (p *Pacer) Backlog() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rate <= 0 {
		return 0
	}
	return time.Duration(float64(p.queued) / p.rate * float64(time.Second))
}

// Stats returns the pacer's counters.
func (p *Pacer) Stats() PacerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// probe sends pl's cluster: padding on the first video stream with RTX,
// spread evenly over pl.duration, on a goroutine the pacer owns.
func (p *Pacer) probe(pl plan) {
	p.mu.Lock()
	var st *pstream
	for _, s := range p.streams {
		if !s.audio && s.rtxSSRC != 0 {
			st = s
			break
		}
	}
	if st == nil || p.closed {
		p.mu.Unlock()
		return
	}
	p.probes.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.probes.Done()
		// probePackets packets carrying the cluster's bytes: at low rates
		// smaller ones, so the probe adds only twice the rate for its
		// length, not a fixed 3 KB that fills a slow link's queue.
		total := pl.bps / 8 * pl.duration.Seconds()
		n := probePackets
		pad := uint8(min(max(int(total)/n-probeHeader-WireOverhead, minPadding), maxPadding))
		if extra := int(total)/(probeHeader+WireOverhead+maxPadding) - n; extra > 0 {
			n += extra // fast paths: more full packets
		}
		gap := pl.duration / time.Duration(n)
		start := time.Now()
		t := time.NewTimer(0)
		defer t.Stop()
		for i := range n {
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
			p.sendMu.Lock()
			ts := st.lastTS
			p.sendMu.Unlock()
			h := &rtp.Header{Version: 2, Padding: true, PaddingSize: pad, PayloadType: st.rtxPT, SSRC: st.rtxSSRC, Timestamp: ts}
			_ = p.send(st, h, nil, nil, classPadding, pl.id)
			// The probe's bytes come out of the bucket, as audio's do: video
			// waits while it goes out and the link carries the probe in
			// place of the media, not on top of it. On a capped link its
			// 40 kbit on top of the media queued the speech behind them.
			p.mu.Lock()
			p.refill(time.Now())
			p.tokens -= float64(h.MarshalSize() + int(pad) + WireOverhead)
			p.mu.Unlock()
			if i+1 < n {
				// Each packet at its own time from the start: a gap counted
				// from the last send adds the send's time and the timer's
				// lateness to every gap, and a probe asked for at 648 kbps
				// left at 410-460.
				t.Reset(time.Until(start.Add(gap * time.Duration(i+1))))
			}
		}
	}()
}

// Close drops what is queued and stops probes.
func (p *Pacer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.stop)
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.rtxQ, p.videoQ, p.queued = nil, nil, 0
	p.mu.Unlock()
	p.probes.Wait()
	return nil
}
