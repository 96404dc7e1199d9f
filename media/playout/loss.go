package playout

// Loss pattern and redundancy depth. Redundancy only repairs a loss if the
// packet carrying the copy is in the buffer when the lost frame is due:
// in-band FEC and a RED copy at distance 1 travel in the next packet, one
// frame later; a burst of k losses needs a RED copy k frames later. So when
// the stream loses packets, the buffer holds enough extra frames for the
// bursts it sees, up to the redundancy the sender actually sends.

const (
	maxRun = 8 // run lengths counted; longer runs count as maxRun
	// lossAlpha is the per-frame weight of the missing-frame average
	// (≈ 10 s of 20 ms frames).
	lossAlpha = 1.0 / 500
	// recentFrames is the memory of the recent-loss count (≈ 5 s); the
	// extra depth turns on at lossOn recent misses (two losses close
	// together, or ≈ 1 % loss) and off below lossOff (≈ 10 s without).
	recentFrames = 250.0
	lossOn       = 2.0
	lossOff      = 0.25
	// runForget ages the run-length counts per run.
	runForget = 0.98
	// burstCover is the share of runs the extra depth should reach past.
	burstCover = 0.97
	// redMemory is how many packets a seen redundancy distance is trusted.
	redMemory = 250
)

// lossTracker follows which frames were missing when they were due (lost or
// late, before repair) and what redundancy the sender provides.
type lossTracker struct {
	rate   float64             // average share of frames missing when due
	recent float64             // decaying count of recent misses
	active bool                // extra depth on (hysteresis on rate)
	runs   [maxRun + 1]float64 // aged counts of missing runs by length
	cur    int                 // length of the current missing run

	redDist  int // largest RED distance seen in the last redMemory packets
	redAge   int
	fecShare float64 // average share of packets carrying in-band FEC
}

// due records whether the frame due now had its primary packet.
func (l *lossTracker) due(missing bool) {
	x := 0.0
	if missing {
		x = 1
		l.cur++
	} else if l.cur > 0 {
		for i := range l.runs {
			l.runs[i] *= runForget
		}
		l.runs[min(l.cur, maxRun)]++
		l.cur = 0
	}
	l.rate += (x - l.rate) * lossAlpha
	l.recent += x - l.recent/recentFrames
	switch {
	case !l.active && l.recent >= lossOn:
		l.active = true
	case l.active && l.recent < lossOff:
		l.active = false
	}
}

// packet records the redundancy of one arriving packet: the largest RED
// distance it carried (0 for none) and whether it had in-band FEC.
func (l *lossTracker) packet(redDistance int, fec bool) {
	if redDistance >= l.redDist {
		l.redDist, l.redAge = redDistance, 0
	} else if l.redAge++; l.redAge > redMemory {
		l.redDist, l.redAge = redDistance, 0
	}
	x := 0.0
	if fec {
		x = 1
	}
	l.fecShare += (x - l.fecShare) * 0.02
}

// available is how many frames later a lost frame's copy can come.
func (l *lossTracker) available() int {
	d := l.redDist
	if d == 0 && l.fecShare > 0.2 {
		d = 1
	}
	return d
}

// extraFrames is the depth, in frames, to add for redundancy: zero on a
// clean path or without redundancy, else enough for burstCover of the runs.
func (l *lossTracker) extraFrames() int {
	avail := l.available()
	if !l.active || avail == 0 {
		return 0
	}
	var total float64
	for _, c := range l.runs {
		total += c
	}
	if total == 0 {
		return 1
	}
	var cum float64
	for k := 1; k <= maxRun; k++ {
		cum += l.runs[k]
		if cum/total >= burstCover || k >= avail {
			return min(k, avail)
		}
	}
	return avail
}

// meanRun is the average length of the missing runs seen (1 without any).
func (l *lossTracker) meanRun() float64 {
	var n, sum float64
	for k, c := range l.runs {
		n += c
		sum += float64(k) * c
	}
	if n == 0 {
		return 1
	}
	return sum / n
}
