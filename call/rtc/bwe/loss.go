package bwe

import (
	"slices"
	"time"
)

// Loss-based control. GCC's rule (draft-ietf-rmcat-gcc-02 §6: cut by half
// the loss above 10 %, grow below 2 %) reads every lost packet as
// congestion. On a path that drops 10 % at random whatever we send, pion's
// implementation of it ratchets the target down on every unlucky interval
// and never grows again (loss never falls below 2 %): that, with a video
// floor that did not follow the target, was the 10 % loss collapse of
// issue 10 (TestRandomLossDoesNotRatchet). Here loss counts as congestion
// only above the path's own baseline: the median loss of the last seconds.
// A bottleneck's drops come on top of it as we push past the capacity; a
// lossy radio link's drops are the baseline and cost no bitrate.
const (
	lossWindow     = time.Second
	lossMinPackets = 30
	lossHistory    = 10   // windows the baseline is the median of
	lossMinHistory = 3    // before that the baseline is 0 and only heavy loss counts
	lossCutExcess  = 0.10 // excess loss that cuts the rate
	lossHeavy      = 0.30 // loss that cuts before there is a baseline
	lossGrowExcess = 0.02 // excess loss below which the cap is lifted again
	// lossGrowPerStep lifts the cap per clean window. Faster than GCC's
	// 8 %/s: a bottleneck's queue (which the delay detector watches) is
	// the usual cause of loss here, and a cap left behind by the start-up
	// overshoot held calls at a fifth of the link for 20 s.
	lossGrowPerStep = 1.25
	lossCutMinGap   = time.Second // a queue's drops go on until it drains
)

type lossControl struct {
	start       time.Time
	lost, total int
	history     []float64 // loss fractions of the last windows
	cap         float64   // bps; 0: no loss-based limit
	lastCut     time.Time
	last        float64 // loss fraction of the last full window
	baseline    float64
}

// excessive reports whether the last window lost more than the baseline
// allows: evidence of congestion.
func (l *lossControl) excessive() bool { return l.last-l.baseline > lossCutExcess }

// add counts feedback about lost and total packets at now; current is the
// rate in force, congested whether the path queued during the window (its
// loss is then no evidence of the baseline). It reports whether a window
// closed.
func (l *lossControl) add(now time.Time, lost, total int, current float64, rtt time.Duration, congested bool) bool {
	if l.start.IsZero() {
		l.start = now
	}
	l.lost += lost
	l.total += total
	if now.Sub(l.start) < lossWindow || l.total < lossMinPackets {
		return false
	}
	frac := float64(l.lost) / float64(l.total)
	l.start, l.lost, l.total = now, 0, 0
	l.last = frac
	l.baseline = 0
	if len(l.history) >= lossMinHistory {
		sorted := slices.Sorted(slices.Values(l.history))
		l.baseline = sorted[len(sorted)/2]
	}
	haveBase := len(l.history) >= lossMinHistory
	if !congested {
		l.history = append(l.history, frac)
		if len(l.history) > lossHistory {
			l.history = l.history[1:]
		}
	}
	excess := frac - l.baseline
	switch {
	case excess > lossCutExcess && (haveBase || frac > lossHeavy) &&
		(l.lastCut.IsZero() || now.Sub(l.lastCut) > lossCutMinGap+rtt):
		base := current
		if l.cap > 0 {
			base = min(l.cap, current)
		}
		l.cap = base * (1 - 0.5*excess)
		l.lastCut = now
	case excess < lossGrowExcess && l.cap > 0:
		l.cap *= lossGrowPerStep
		if l.cap > 1.5*current {
			l.cap = 0 // no longer what limits us
		}
	}
	return true
}
