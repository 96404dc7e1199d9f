package bwe

import (
	"time"

	"github.com/pion/rtcp"
)

// historySize is how many sent packets the estimator remembers for their
// feedback (a power of two): 4096 packets are > 10 s at 300 packets/s.
const historySize = 4096

// sentPacket is what the pacer recorded when a packet left.
type sentPacket struct {
	seq     int64 // unwrapped transport-wide sequence number
	at      time.Time
	size    int
	probe   int  // probe cluster id, 0 outside probes
	padding bool // a probe's padding (counts for rates, not as media)
	valid   bool
}

// history maps transport-wide sequence numbers to sent packets.
type history struct {
	ring [historySize]sentPacket
	next int64 // the next sequence number to hand out (unwrapped)
}

// add records a packet sent at at and returns its 16-bit sequence number.
func (h *history) add(at time.Time, size, probe int, padding bool) uint16 {
	seq := h.next
	h.next++
	h.ring[seq&(historySize-1)] = sentPacket{seq: seq, at: at, size: size, probe: probe, padding: padding, valid: true}
	return uint16(seq)
}

// unwrap maps a 16-bit sequence number from feedback to the most recent
// unwrapped one with those low bits.
func (h *history) unwrap(seq uint16) int64 {
	last := h.next - 1
	d := int16(seq - uint16(last))
	return last + int64(d)
}

func (h *history) get(seq int64) (*sentPacket, bool) {
	if seq < 0 || seq >= h.next || h.next-seq > historySize {
		return nil, false
	}
	p := &h.ring[seq&(historySize-1)]
	if !p.valid || p.seq != seq {
		return nil, false
	}
	return p, true
}

// result is one packet's fate according to a feedback report.
type result struct {
	sent    sentPacket
	arrival time.Duration // on the receiver's clock; meaningless when lost
	lost    bool
}

// referenceTick is the unit of the TWCC reference time.
const referenceTick = 64 * time.Millisecond

// parseFeedback turns a transport-wide congestion control report into
// per-packet results for the packets the history knows, in sequence order.
// Each packet is reported once: a later report about an acknowledged packet
// is ignored, so duplicated feedback cannot count a packet twice.
func (h *history) parseFeedback(fb *rtcp.TransportLayerCC, out []result) []result {
	base := h.unwrap(fb.BaseSequenceNumber)
	ref := time.Duration(fb.ReferenceTime) * referenceTick
	at := ref
	deltas := fb.RecvDeltas
	n := int64(0)
	emit := func(symbol uint16) {
		seq := base + n
		n++
		received := symbol == rtcp.TypeTCCPacketReceivedSmallDelta || symbol == rtcp.TypeTCCPacketReceivedLargeDelta
		if received {
			if len(deltas) == 0 {
				return // malformed: more received symbols than deltas
			}
			at += time.Duration(deltas[0].Delta) * time.Microsecond
			deltas = deltas[1:]
		}
		p, ok := h.get(seq)
		if !ok {
			return
		}
		if received {
			out = append(out, result{sent: *p, arrival: at})
			p.valid = false // acknowledged: later reports about it are stale
			return
		}
		out = append(out, result{sent: *p, lost: true})
	}
	count := int64(fb.PacketStatusCount)
	for _, c := range fb.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for range c.RunLength {
				if n >= count {
					break
				}
				emit(c.PacketStatusSymbol)
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range c.SymbolList {
				if n >= count {
					break
				}
				emit(s) // a one-bit "received" (1) is TypeTCCPacketReceivedSmallDelta
			}
		}
	}
	return out
}
