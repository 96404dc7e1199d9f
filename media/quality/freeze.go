package quality

import "time"

// Freeze detection as WebRTC's VideoQualityObserver counts it: once a few
// frames have set the pace, a gap between rendered frames of at least
// max(3 × the average gap, average + 150 ms) is a freeze, and the whole gap
// counts as frozen time.
const (
	freezeMinFrames = 5  // kMinFrameSamplesToDetectFreeze
	freezeAvgFrames = 30 // frames the average gap is taken over
	freezeMinExtra  = 150 * time.Millisecond
)

// FreezeMeter measures how long a received picture stood still. Frame is
// called for every decoded (shown) frame, Take once per reporting interval.
// It is not safe for concurrent use.
type FreezeMeter struct {
	last      time.Time
	frames    int
	gaps      [freezeAvgFrames]time.Duration
	nGaps     int
	head      int
	sum       time.Duration // of gaps
	counted   time.Time     // frozen time before this is already in frozen
	frozen    time.Duration // frozen time not yet taken
	freezes   int           // freezes started and not yet taken
	inFreeze  bool          // the current gap was already counted as a freeze
	paused    bool
	totalTime time.Duration
}

// avg is the average gap between the recent frames.
func (m *FreezeMeter) avg() time.Duration {
	if m.nGaps == 0 {
		return 0
	}
	return m.sum / time.Duration(m.nGaps)
}

// threshold is the gap from which a pause between frames is a freeze.
func (m *FreezeMeter) threshold() time.Duration {
	a := m.avg()
	return max(3*a, a+freezeMinExtra)
}

// Frame records a frame shown at t.
func (m *FreezeMeter) Frame(t time.Time) {
	if m.frames > 0 && !m.paused {
		gap := t.Sub(m.last)
		if m.frames >= freezeMinFrames && gap >= m.threshold() {
			m.countUntil(t)
		} else if gap > 0 {
			if m.nGaps == freezeAvgFrames {
				m.sum -= m.gaps[m.head]
			} else {
				m.nGaps++
			}
			m.gaps[m.head] = gap
			m.sum += gap
			m.head = (m.head + 1) % freezeAvgFrames
		}
	}
	m.paused = false
	m.inFreeze = false
	m.last = t
	m.counted = t
	m.frames++
}

// countUntil adds the current gap's frozen time up to t. The gap counts
// from the last frame, as WebRTC counts it.
func (m *FreezeMeter) countUntil(t time.Time) {
	from := m.last
	if m.counted.After(from) {
		from = m.counted
	}
	if !m.inFreeze {
		m.freezes++
		m.inFreeze = true
	}
	if t.After(from) {
		m.frozen += t.Sub(from)
		m.totalTime += t.Sub(from)
		m.counted = t
	}
}

// Pause stops the clock: the sender stopped sending on purpose (its video
// is suspended or off), which is no freeze. The next Frame resumes.
func (m *FreezeMeter) Pause(t time.Time) {
	if !m.paused && m.Frozen(t) {
		m.countUntil(t)
	}
	m.paused = true
}

// Frozen reports whether the picture stands still at now (a freeze in
// progress).
func (m *FreezeMeter) Frozen(now time.Time) bool {
	return !m.paused && m.frames >= freezeMinFrames && now.Sub(m.last) >= m.threshold()
}

// Take returns the frozen time and the number of freezes since the last
// Take, including a freeze still in progress at now.
func (m *FreezeMeter) Take(now time.Time) (frozen time.Duration, freezes int) {
	if m.Frozen(now) {
		m.countUntil(now)
	}
	frozen, freezes = m.frozen, m.freezes
	m.frozen, m.freezes = 0, 0
	return frozen, freezes
}

// Total is the frozen time since the meter started.
func (m *FreezeMeter) Total() time.Duration { return m.totalTime }
