package rtc

import (
	"time"

	"github.com/softphone/softphone/media/playout"
	"github.com/softphone/softphone/media/quality"
)

// mosWindow is the stretch of played audio STATS' mos describes.
const mosWindow = 10 * time.Second

// audioQuality turns the playout buffer's cumulative counters into the
// STATS audio figures: per interval (since the last sample), over the last
// mosWindow (mos) and over the call (call*). Only the stats loop uses it.
type audioQuality struct {
	snaps []audioSnap // oldest first, spanning at most mosWindow
	prev  audioSnap
	have  bool
}

type audioSnap struct {
	at time.Time
	st playout.Stats
}

// sample fills out's audio fields from the buffer's counters st at now;
// rttMs feeds the mouth-to-ear estimate.
func (q *audioQuality) sample(now time.Time, st playout.Stats, rttMs float64, out *quality.Stats) {
	if q.have && st.PlayedSamples < q.prev.st.PlayedSamples {
		*q = audioQuality{} // a new track: its counters start over
	}
	cur := audioSnap{at: now, st: st}
	m2e := rttMs/2 + codecDelayMs + st.DelayMs
	out.JitterMs = st.JitterMs
	out.PlayoutDelayMs = st.DelayMs
	out.TargetDelayMs = st.TargetDelayMs
	out.MouthToEarMs = m2e
	if q.have {
		d := diff(q.prev.st, st)
		out.ConcealedPct, out.FECPct, out.REDPct, out.StretchPct = d.concealedPct(), d.framePct(d.FECRecovered), d.framePct(d.REDRecovered), d.stretchPct()
		if n := d.Received + d.Late; n > 0 {
			out.LatePct = 100 * float64(d.Late) / float64(n)
		}
	}
	whole := diff(playout.Stats{}, st)
	out.CallConcealedPct, out.CallFECPct, out.CallREDPct, out.CallStretchPct = whole.concealedPct(), whole.framePct(whole.FECRecovered), whole.framePct(whole.REDRecovered), whole.stretchPct()
	out.CallTimeStretches = st.Accelerates + st.Expands
	out.CallMos = whole.listening(m2e).MOS()

	q.snaps = append(q.snaps, cur)
	for len(q.snaps) > 1 && now.Sub(q.snaps[0].at) > mosWindow {
		q.snaps = q.snaps[1:]
	}
	out.Mos = diff(q.snaps[0].st, st).listening(m2e).MOS()
	if len(q.snaps) == 1 {
		out.Mos = out.CallMos
	}
	q.prev, q.have = cur, true
}

// statsDelta is what a buffer played between two snapshots.
type statsDelta struct{ playout.Stats }

func diff(a, b playout.Stats) statsDelta {
	d := func(x, y uint64) uint64 {
		if y < x {
			return 0
		}
		return y - x
	}
	return statsDelta{playout.Stats{
		Received: d(a.Received, b.Received), Late: d(a.Late, b.Late),
		Decoded: d(a.Decoded, b.Decoded), REDRecovered: d(a.REDRecovered, b.REDRecovered),
		FECRecovered: d(a.FECRecovered, b.FECRecovered), Concealed: d(a.Concealed, b.Concealed),
		ConcealEvents: d(a.ConcealEvents, b.ConcealEvents), Underruns: d(a.Underruns, b.Underruns),
		UnderrunSamples: d(a.UnderrunSamples, b.UnderrunSamples),
		PlayedSamples:   d(a.PlayedSamples, b.PlayedSamples), ConcealedSamples: d(a.ConcealedSamples, b.ConcealedSamples),
		AcceleratedSamples: d(a.AcceleratedSamples, b.AcceleratedSamples), ExpandedSamples: d(a.ExpandedSamples, b.ExpandedSamples),
		Accelerates: d(a.Accelerates, b.Accelerates), Expands: d(a.Expands, b.Expands),
		Pause: playout.PauseCounts{
			PlayedSamples: d(a.Pause.PlayedSamples, b.Pause.PlayedSamples), ConcealedSamples: d(a.Pause.ConcealedSamples, b.Pause.ConcealedSamples),
			ConcealEvents: d(a.Pause.ConcealEvents, b.Pause.ConcealEvents), UnderrunSamples: d(a.Pause.UnderrunSamples, b.Pause.UnderrunSamples),
			Shifts: d(a.Pause.Shifts, b.Pause.Shifts), StretchedSamples: d(a.Pause.StretchedSamples, b.Pause.StretchedSamples),
		},
	}}
}

func (d statsDelta) concealedPct() float64 {
	if d.PlayedSamples == 0 {
		return 0
	}
	return 100 * float64(d.ConcealedSamples) / float64(d.PlayedSamples)
}

func (d statsDelta) stretchPct() float64 {
	if d.PlayedSamples == 0 {
		return 0
	}
	return 100 * float64(d.AcceleratedSamples+d.ExpandedSamples) / float64(d.PlayedSamples)
}

// framePct is n as a share of the frames played.
func (d statsDelta) framePct(n uint64) float64 {
	frames := d.Decoded + d.REDRecovered + d.FECRecovered + d.Concealed
	if frames == 0 {
		return 0
	}
	return 100 * float64(n) / float64(frames)
}

// listening is the E-model input for what was played while the remote
// side spoke: concealment and time-scale changes in its pauses move or
// replace near-silence and are not heard. A wait for a late packet
// conceals without replacing any speech: to a listener it is a stretch,
// not a loss.
func (d statsDelta) listening(m2e float64) quality.Listening {
	l := quality.Listening{MouthToEarMs: m2e}
	sub := func(x, y uint64) uint64 { return x - min(x, y) }
	p := d.Pause
	played := float64(sub(d.PlayedSamples, p.PlayedSamples))
	if played == 0 {
		return l
	}
	under := sub(d.UnderrunSamples, p.UnderrunSamples)
	lost := sub(sub(d.ConcealedSamples, p.ConcealedSamples), under)
	l.ConcealedPct = 100 * float64(lost) / played
	l.StretchPct = 100 * float64(sub(d.AcceleratedSamples+d.ExpandedSamples, p.StretchedSamples)+under) / played
	l.ShiftsPerMin = float64(sub(d.Accelerates+d.Expands, p.Shifts)) / (played / 48000 / 60)
	return l
}
