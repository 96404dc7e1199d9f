package rtc

import (
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtp"
)

// Pacing follows the congestion controller's target like GCC's leaky
// bucket, with libwebrtc's pacing factor and burst window.
const (
	pacingFactor   = 2.5                    // send at up to 2.5× the target bitrate
	pacingBurst    = 40 * time.Millisecond  // what may leave at once, at that rate
	pacingMinBurst = 10 * 1200              // bytes: a small keyframe leaves unpaced
	pacingMaxWait  = 500 * time.Millisecond // queued beyond this at the rate is dropped
)

// errPacerClosed is returned by Write after Close.
var errPacerClosed = errors.New("pacer closed")

// burstPacer is a gcc.Pacer that sends a packet at once while the token
// bucket has room and wakes up only while packets wait. pion's
// LeakyBucketPacer ticks every 5 ms for the whole call and holds every
// packet until the next tick: 200 wakeups a second, which cost a third of an
// audio call's CPU here (docs/benchmarks.md), and up to 5 ms of latency.
type burstPacer struct {
	mu       sync.Mutex
	writers  map[uint32]interceptor.RTPWriter
	rate     float64 // bytes per second
	tokens   float64 // bytes that may leave now; negative after a big packet
	last     time.Time
	queue    []*pacedPacket
	queued   int // bytes in queue
	timer    *time.Timer
	draining bool // the drain goroutine is writing: new packets queue behind it
	closed   bool
	dropped  uint64
}

type pacedPacket struct {
	header  *rtp.Header
	payload []byte
	attrs   interceptor.Attributes
	size    int
}

var _ gcc.Pacer = (*burstPacer)(nil)

// newBurstPacer paces to initialBps until the estimator sets a target.
func newBurstPacer(initialBps int) *burstPacer {
	p := &burstPacer{writers: map[uint32]interceptor.RTPWriter{}, last: time.Now()}
	p.SetTargetBitrate(initialBps)
	p.tokens = p.burst()
	return p
}

func (p *burstPacer) burst() float64 {
	return max(p.rate*pacingBurst.Seconds(), pacingMinBurst)
}

// SetTargetBitrate implements gcc.Pacer.
func (p *burstPacer) SetTargetBitrate(bps int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refill(time.Now())
	p.rate = pacingFactor * float64(max(bps, 1)) / 8
}

// AddStream implements gcc.Pacer.
func (p *burstPacer) AddStream(ssrc uint32, w interceptor.RTPWriter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writers[ssrc] = w
}

// refill adds the tokens earned since the last refill. p.mu is held.
func (p *burstPacer) refill(now time.Time) {
	if d := now.Sub(p.last); d > 0 {
		p.tokens = min(p.tokens+p.rate*d.Seconds(), p.burst())
		p.last = now
	}
}

// Write implements interceptor.RTPWriter: the packet leaves now if the
// bucket allows and nothing waits, else it is copied into the queue.
func (p *burstPacer) Write(h *rtp.Header, payload []byte, attrs interceptor.Attributes) (int, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, errPacerClosed
	}
	w, ok := p.writers[h.SSRC]
	if !ok {
		p.mu.Unlock()
		return 0, fmt.Errorf("%w: %d", gcc.ErrUnknownStream, h.SSRC)
	}
	size := h.MarshalSize() + len(payload)
	p.refill(time.Now())
	if len(p.queue) == 0 && !p.draining && p.tokens > 0 {
		p.tokens -= float64(size)
		p.mu.Unlock()
		return w.Write(h, payload, attrs)
	}
	if float64(p.queued+size) > p.rate*pacingMaxWait.Seconds() {
		// The path cannot carry what is sent; the congestion controller
		// lowers the target, the receiver's NACK/PLI repair the gap.
		p.dropped++
		p.mu.Unlock()
		return size, nil
	}
	hdr := h.Clone()
	p.queue = append(p.queue, &pacedPacket{header: &hdr, payload: append([]byte(nil), payload...), attrs: maps.Clone(attrs), size: size})
	p.queued += size
	p.armLocked()
	p.mu.Unlock()
	return size, nil
}

// armLocked schedules a drain for when the bucket has room again.
func (p *burstPacer) armLocked() {
	if p.timer != nil || p.draining || p.closed {
		return
	}
	wait := time.Duration(0)
	if p.tokens <= 0 {
		wait = time.Duration((-p.tokens + 1) / p.rate * float64(time.Second))
	}
	p.timer = time.AfterFunc(wait, p.drain)
}

// drain writes queued packets in order while the bucket allows, then
// re-arms itself if packets still wait.
func (p *burstPacer) drain() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer = nil
	p.draining = true
	for !p.closed && len(p.queue) > 0 {
		p.refill(time.Now())
		if p.tokens <= 0 {
			break
		}
		pkt := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		p.queued -= pkt.size
		p.tokens -= float64(pkt.size)
		w := p.writers[pkt.header.SSRC]
		p.mu.Unlock()
		if w != nil {
			_, _ = w.Write(pkt.header, pkt.payload, pkt.attrs)
		}
		p.mu.Lock()
	}
	p.draining = false
	if len(p.queue) > 0 {
		p.armLocked()
	} else {
		p.queue = nil // let the backing array go
	}
}

// Close implements gcc.Pacer: queued packets are dropped.
func (p *burstPacer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.queue, p.queued = nil, 0
	return nil
}
