package vp8

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// assemblerSlots is the reorder window in packets (a power of two).
const assemblerSlots = 512

// Frame is one VP8 frame rebuilt from RTP packets.
type Frame struct {
	Data      []byte // the VP8 frame (payload descriptors removed)
	Timestamp uint32 // RTP timestamp
	Keyframe  bool
	// AfterLoss says frames were lost since the previous one returned:
	// decoding needs a keyframe again.
	AfterLoss bool
}

// Assembler rebuilds VP8 frames from RTP packets (RFC 7741), in order. A
// frame is returned as soon as every packet from its first (S=1, PID=0) to
// its last (the RTP marker) is there. pion's samplebuilder instead holds a
// complete frame until a packet of the next frame arrives, which costs a
// whole frame interval (33 ms at 30 fps) of latency on every picture.
//
// A missing packet holds the frames behind it until it arrives (NACK's
// retransmission) or until the oldest waiting packet is older than
// maxDelay, or the window fills; then the incomplete frames are dropped
// and the next frame returned carries AfterLoss.
type Assembler struct {
	maxDelay time.Duration
	slots    [assemblerSlots]slot
	next     uint16 // sequence number of the next frame's first packet
	started  bool   // next is known
	newest   uint16 // highest sequence number stored
	haveAny  bool   // newest is set
	loss     bool   // frames were dropped since the last Pop
}

type slot struct {
	used    bool
	seq     uint16
	ts      uint32
	start   bool // first packet of a frame
	marker  bool // last packet of a frame
	arrived time.Time
	payload []byte
}

// NewAssembler returns an assembler that gives up on a missing packet
// after maxDelay.
func NewAssembler(maxDelay time.Duration) *Assembler {
	return &Assembler{maxDelay: maxDelay}
}

// seqLess reports a < b in RTP sequence number order.
func seqLess(a, b uint16) bool { return int16(a-b) < 0 }

// Push adds one packet received at now. Packets that are malformed, late
// (their frame is already returned or dropped) or duplicated are ignored.
func (a *Assembler) Push(p *rtp.Packet, now time.Time) {
	var d codecs.VP8Packet
	payload, err := d.Unmarshal(p.Payload)
	if err != nil || len(payload) == 0 {
		return
	}
	seq := p.SequenceNumber
	start := d.S == 1 && d.PID == 0
	switch {
	case a.started && seqLess(seq, a.next):
		if int(a.next-seq) <= 2*assemblerSlots {
			return // late: its frame was returned or given up
		}
		a.reset() // far behind: the sender restarted its sequence
		a.start(seq, start)
	case !a.started:
		a.start(seq, start)
	case int(seq-a.next) >= assemblerSlots:
		// Beyond the window: everything before it is lost.
		a.skipTo(seq)
	}
	s := &a.slots[seq%assemblerSlots]
	if s.used && s.seq == seq {
		return // duplicate
	}
	*s = slot{used: true, seq: seq, ts: p.Timestamp, start: start, marker: p.Marker, arrived: now,
		payload: append(s.payload[:0], payload...)}
	if seqLess(a.newest, seq) {
		a.newest = seq
	}
}

// start tracks packets before the first frame start, and begins the stream
// at that start (packets of it that came earlier stay).
func (a *Assembler) start(seq uint16, start bool) {
	if !a.haveAny || seqLess(a.newest, seq) {
		a.newest, a.haveAny = seq, true
	}
	if start {
		a.next, a.started = seq, true
	}
}

// Pop returns the next complete frame, if there is one; call it until it
// returns false after every Push.
func (a *Assembler) Pop(now time.Time) (Frame, bool) {
	for a.started {
		if f, ok := a.complete(); ok {
			return f, true
		}
		if !a.expired(now) {
			return Frame{}, false
		}
		// Give up on the frame at next: move to the next frame start.
		if !a.skipToNextStart() {
			return Frame{}, false
		}
	}
	return Frame{}, false
}

// complete returns the frame at next if all its packets are there.
func (a *Assembler) complete() (Frame, bool) {
	first := &a.slots[a.next%assemblerSlots]
	for first.used && first.seq == a.next && !first.start {
		// The frame's beginning was lost: nothing here is decodable.
		a.loss = true
		a.release(a.next)
		a.next++
		first = &a.slots[a.next%assemblerSlots]
	}
	if !first.used || first.seq != a.next {
		return Frame{}, false
	}
	size := 0
	for seq := a.next; ; seq++ {
		s := &a.slots[seq%assemblerSlots]
		if !s.used || s.seq != seq || s.ts != first.ts || (seq != a.next && s.start) {
			return Frame{}, false // a packet is missing
		}
		size += len(s.payload)
		if !s.marker {
			if seq == a.newest {
				return Frame{}, false
			}
			continue
		}
		f := Frame{Data: make([]byte, 0, size), Timestamp: first.ts, AfterLoss: a.loss}
		for q := a.next; q != seq+1; q++ {
			f.Data = append(f.Data, a.slots[q%assemblerSlots].payload...)
			a.release(q)
		}
		f.Keyframe = f.Data[0]&1 == 0
		a.next, a.loss = seq+1, false
		return f, true
	}
}

// expired reports that the oldest packet waiting behind a gap is older than
// maxDelay.
func (a *Assembler) expired(now time.Time) bool {
	for seq := a.next; !seqLess(a.newest, seq); seq++ {
		if s := &a.slots[seq%assemblerSlots]; s.used && s.seq == seq {
			return now.Sub(s.arrived) > a.maxDelay
		}
	}
	return false
}

// skipToNextStart drops packets from next up to the next frame start that
// is stored after it; false if there is none yet (everything up to newest is
// dropped then).
func (a *Assembler) skipToNextStart() bool {
	for seq := a.next + 1; !seqLess(a.newest, seq); seq++ {
		if s := &a.slots[seq%assemblerSlots]; s.used && s.seq == seq && s.start {
			a.skipTo(seq)
			return true
		}
	}
	a.skipTo(a.newest + 1)
	return false
}

// skipTo drops everything before seq and waits for seq next.
func (a *Assembler) skipTo(seq uint16) {
	if int(seq-a.next) >= assemblerSlots {
		for i := range a.slots {
			a.slots[i].used = false
		}
	} else {
		for q := a.next; q != seq; q++ {
			a.release(q)
		}
	}
	a.next, a.loss = seq, true
	if seqLess(a.newest, seq) {
		a.newest = seq
	}
}

// reset forgets every packet; the next frame start begins again.
func (a *Assembler) reset() {
	for i := range a.slots {
		a.slots[i].used = false
	}
	a.started, a.haveAny, a.loss = false, false, true
}

func (a *Assembler) release(seq uint16) {
	if s := &a.slots[seq%assemblerSlots]; s.used && s.seq == seq {
		s.used = false
	}
}
