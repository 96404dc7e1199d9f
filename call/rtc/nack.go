package rtc

import (
	"slices"
	"time"
)

// Receiver-side NACK, after libwebrtc's NackRequester. pion's generator
// cannot be used with RTX: retransmissions arrive on the RTX stream, which
// it does not see, so it keeps asking for packets that already came —
// every 100 ms, without limit — and the sender keeps resending them. This
// list sees every packet the track returns, originals and retransmissions.
const (
	nackMaxTries = 10 // kMaxNackRetries
	// nackMaxMissing: more missing packets than this and the gap is better
	// closed by a keyframe (kMaxNackPackets).
	nackMaxMissing = 1000
	nackRetryExtra = 20 * time.Millisecond // beyond the round trip before asking again
	nackMaxReorder = 100 * time.Millisecond
)

type missingPacket struct {
	first time.Time // when the gap was seen
	sent  time.Time // last NACK, zero before the first
	tries int
}

// nackList tracks missing sequence numbers of one stream.
type nackList struct {
	maxAge  time.Duration // after this a packet is no use (the assembler gave up)
	newest  int64
	have    bool
	missing map[int64]*missingPacket
	// reorder is how long a gap waits before its first NACK: how late
	// packets that were merely reordered have come lately.
	reorder time.Duration
}

func newNackList(maxAge time.Duration) *nackList {
	return &nackList{maxAge: maxAge, missing: map[int64]*missingPacket{}, reorder: 5 * time.Millisecond}
}

// unwrap extends a sequence number to 64 bits next to the newest one.
func (l *nackList) unwrap(seq uint16) int64 {
	return l.newest + int64(int16(seq-uint16(l.newest)))
}

// received records a packet at now; rtx says it came as a retransmission.
// It returns true when the gap grew beyond nackMaxMissing: the list is
// cleared and the caller should ask for a keyframe instead.
func (l *nackList) received(seq uint16, now time.Time, rtx bool) (keyframe bool) {
	if !l.have {
		l.newest, l.have = int64(seq), true
		return false
	}
	s := l.unwrap(seq)
	if s > l.newest {
		if s-l.newest-1 > nackMaxMissing {
			clear(l.missing)
			l.newest = s
			return true
		}
		for x := l.newest + 1; x < s; x++ {
			l.missing[x] = &missingPacket{first: now}
		}
		l.newest = s
		if len(l.missing) > nackMaxMissing {
			clear(l.missing)
			return true
		}
		return false
	}
	if m, ok := l.missing[s]; ok {
		if !rtx && m.tries == 0 {
			// Reordered, not lost: wait that long before the first NACK.
			late := now.Sub(m.first)
			if late > l.reorder {
				l.reorder = min(late, nackMaxReorder)
			} else {
				l.reorder = (l.reorder*15 + late) / 16
			}
		}
		delete(l.missing, s)
	}
	return false
}

// due returns the sequence numbers to ask for at now (in order) and drops
// the ones that are too old or were asked for too often.
func (l *nackList) due(now time.Time, rtt time.Duration) []uint16 {
	var out []uint16
	for s, m := range l.missing {
		if now.Sub(m.first) > l.maxAge || m.tries >= nackMaxTries {
			delete(l.missing, s)
			continue
		}
		if m.tries == 0 && now.Sub(m.first) < l.reorder || m.tries > 0 && now.Sub(m.sent) < rtt+nackRetryExtra {
			continue
		}
		m.tries++
		m.sent = now
		out = append(out, uint16(s))
	}
	slices.SortFunc(out, func(a, b uint16) int { return int(int16(a - b)) })
	return out
}

// next is when due will next have something to do (zero: nothing missing).
func (l *nackList) next(rtt time.Duration) time.Time {
	var t time.Time
	for _, m := range l.missing {
		d := m.first.Add(l.reorder)
		if m.tries > 0 {
			d = m.sent.Add(rtt + nackRetryExtra)
		}
		if exp := m.first.Add(l.maxAge); exp.Before(d) {
			d = exp
		}
		if t.IsZero() || d.Before(t) {
			t = d
		}
	}
	return t
}
