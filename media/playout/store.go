package playout

import (
	"slices"
	"time"
)

// entry is one held frame: a primary packet, or a redundant (RED) copy of a
// frame whose packet has not arrived.
type entry struct {
	ts        int64 // extended RTP timestamp
	seq       int64 // extended sequence number; -1 for a redundant copy
	dur       int   // samples per channel
	data      []byte
	secondary bool
	fec       bool // carries in-band FEC for the frame before it
	arrival   time.Time
	rel       float64 // relative delay at arrival, ms (primaries)
}

// store holds frames sorted by timestamp, at most one per timestamp, a
// primary winning over a copy. Entry memory is recycled.
type store struct {
	items []*entry
	free  []*entry
	max   int
}

func newStore(max int) *store {
	return &store{items: make([]*entry, 0, max), max: max}
}

// search returns the index of the first entry with ts >= t.
func (s *store) search(t int64) int {
	i, _ := slices.BinarySearchFunc(s.items, t, func(e *entry, t int64) int {
		switch {
		case e.ts < t:
			return -1
		case e.ts > t:
			return 1
		}
		return 0
	})
	return i
}

// insert adds a frame; it reports false when the timestamp is already held
// by a frame of equal or higher priority, or the store is full.
func (s *store) insert(ts, seq int64, dur int, data []byte, secondary, fec bool, arrival time.Time, rel float64) bool {
	i := s.search(ts)
	if i < len(s.items) && s.items[i].ts == ts {
		e := s.items[i]
		if secondary || !e.secondary {
			return false
		}
		// A late primary replaces its copy.
		e.seq, e.dur, e.secondary, e.fec, e.arrival, e.rel = seq, dur, false, fec, arrival, rel
		e.data = append(e.data[:0], data...)
		return true
	}
	if len(s.items) >= s.max {
		return false
	}
	var e *entry
	if n := len(s.free); n > 0 {
		e, s.free = s.free[n-1], s.free[:n-1]
	} else {
		e = &entry{}
	}
	*e = entry{ts: ts, seq: seq, dur: dur, data: append(e.data[:0], data...), secondary: secondary, fec: fec, arrival: arrival, rel: rel}
	s.items = slices.Insert(s.items, i, e)
	return true
}

// at returns the entry with timestamp t, or nil.
func (s *store) at(t int64) *entry {
	if i := s.search(t); i < len(s.items) && s.items[i].ts == t {
		return s.items[i]
	}
	return nil
}

// first returns the earliest entry, or nil.
func (s *store) first() *entry {
	if len(s.items) == 0 {
		return nil
	}
	return s.items[0]
}

// after returns the earliest entry with ts > t, or nil.
func (s *store) after(t int64) *entry {
	if i := s.search(t + 1); i < len(s.items) {
		return s.items[i]
	}
	return nil
}

// remove drops the entry with timestamp t.
func (s *store) remove(t int64) {
	if i := s.search(t); i < len(s.items) && s.items[i].ts == t {
		s.release(i)
	}
}

// dropBefore drops every entry that starts before t and returns how many
// were primaries (frames that came too late to be played).
func (s *store) dropBefore(t int64) (late int) {
	for len(s.items) > 0 && s.items[0].ts < t {
		if !s.items[0].secondary {
			late++
		}
		s.release(0)
	}
	return late
}

func (s *store) release(i int) {
	e := s.items[i]
	s.items = slices.Delete(s.items, i, i+1)
	s.free = append(s.free, e)
}

// clear drops everything.
func (s *store) clear() {
	for len(s.items) > 0 {
		s.release(len(s.items) - 1)
	}
}

// end is the timestamp just after the newest held frame (0 when empty).
func (s *store) end() int64 {
	if len(s.items) == 0 {
		return 0
	}
	e := s.items[len(s.items)-1]
	return e.ts + int64(e.dur)
}
