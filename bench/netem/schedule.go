package netem

import (
	"container/heap"
	"time"
)

// Schedule holds passed packets until their release time and hands them
// out in release order, so packets with a shorter delay overtake earlier
// ones as with netem's jitter. Ties keep arrival order. Not safe for
// concurrent use: one sender goroutine owns it.
type Schedule[T any] struct {
	h         pending[T]
	seq       uint64
	maxOut    uint64
	released  uint64
	reordered uint64
}

type item[T any] struct {
	at  time.Time
	seq uint64
	v   T
}

type pending[T any] []item[T]

func (p pending[T]) Len() int { return len(p) }
func (p pending[T]) Less(i, j int) bool {
	if !p[i].at.Equal(p[j].at) {
		return p[i].at.Before(p[j].at)
	}
	return p[i].seq < p[j].seq
}
func (p pending[T]) Swap(i, j int) { p[i], p[j] = p[j], p[i] }
func (p *pending[T]) Push(x any)   { *p = append(*p, x.(item[T])) }
func (p *pending[T]) Pop() any {
	old := *p
	it := old[len(old)-1]
	*p = old[:len(old)-1]
	return it
}

// Add queues v for release at at; packets are numbered in the order added.
func (s *Schedule[T]) Add(at time.Time, v T) {
	s.seq++
	heap.Push(&s.h, item[T]{at: at, seq: s.seq, v: v})
}

// Len is the number of packets waiting.
func (s *Schedule[T]) Len() int { return s.h.Len() }

// Next is the earliest release time; ok is false when nothing waits.
func (s *Schedule[T]) Next() (time.Time, bool) {
	if s.h.Len() == 0 {
		return time.Time{}, false
	}
	return s.h[0].at, true
}

// Due appends to dst every packet whose release time is not after now, in
// release order.
func (s *Schedule[T]) Due(now time.Time, dst []T) []T {
	for s.h.Len() > 0 && !s.h[0].at.After(now) {
		it := heap.Pop(&s.h).(item[T])
		s.released++
		if it.seq < s.maxOut {
			s.reordered++
		} else {
			s.maxOut = it.seq
		}
		dst = append(dst, it.v)
	}
	return dst
}

// Reordered is how many released packets left after a packet that arrived
// later than them.
func (s *Schedule[T]) Reordered() uint64 { return s.reordered }
