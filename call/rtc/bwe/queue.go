package bwe

import (
	"slices"
	"time"
)

// Standing queues. The delay gradient sees a queue while it grows; a queue
// that filled before the detector had enough groups (a call starting at
// 600 kbps on a 150 kbps link fills a 200 ms buffer in 0.3 s, with a
// dozen packets delivered) stays full with a flat delay, and every packet
// beyond it is dropped. The queueing delay itself shows it: the one-way
// delay (receiver clock minus ours, so with an unknown constant offset)
// over its minimum. Medians of short windows keep jitter out of both.
const (
	owdWindow = 200 * time.Millisecond
	owdSpan   = 30 * time.Second // the base is the lowest window median this far back
	// standingQueue is the queueing delay that counts as overuse without a
	// gradient: audio crosses the same queue, and mouth-to-ear budgets
	// leave little room for it.
	standingQueue = 60 * time.Millisecond
	// standingWindows in a row make a standing queue.
	standingWindows = 2
	// congestedQueue marks loss windows whose losses may be congestion:
	// they do not teach the loss baseline.
	congestedQueue = 30 * time.Millisecond
)

type owdTracker struct {
	epoch   time.Time // our clock's zero for the samples
	start   time.Time // the current window's start (our clock)
	samples []float64 // ms
	medians []owdMedian
	queue   time.Duration // latest window median over the base
	have    bool
	// over counts the consecutive windows with a standing queue: one
	// window can be a receiver that did not read its socket for a while.
	over int
}

type owdMedian struct {
	at time.Time
	ms float64
}

// add takes one acknowledged packet at now (our clock).
func (q *owdTracker) add(now, send time.Time, arrival time.Duration) {
	if q.epoch.IsZero() {
		q.epoch, q.start = send, now
	}
	q.samples = append(q.samples, msOf(arrival)-msOf(send.Sub(q.epoch)))
	if now.Sub(q.start) < owdWindow {
		return
	}
	slices.Sort(q.samples)
	m := q.samples[len(q.samples)/2]
	q.samples = q.samples[:0]
	q.start = now
	q.medians = append(q.medians, owdMedian{now, m})
	i := 0
	for i < len(q.medians) && now.Sub(q.medians[i].at) > owdSpan {
		i++
	}
	q.medians = q.medians[i:]
	base := m
	for _, x := range q.medians {
		base = min(base, x.ms)
	}
	q.queue = time.Duration((m - base) * float64(time.Millisecond))
	q.have = true
	if q.queue > standingQueue {
		q.over++
	} else {
		q.over = 0
	}
}
