package rtc

import (
	"testing"

	"github.com/softphone/softphone/media/playout"
)

// The listening figures come from what was played between two snapshots,
// time-scale changes included.
func TestListeningFromDelta(t *testing.T) {
	const second = 48000
	a := playout.Stats{PlayedSamples: 10 * second, Accelerates: 1, Expands: 1}
	b := playout.Stats{
		PlayedSamples: 40 * second, Decoded: 1500,
		Accelerates: 3, Expands: 5, AcceleratedSamples: 480, ExpandedSamples: 960,
		ConcealedSamples: 2 * 960, Concealed: 2, ConcealEvents: 2,
	}
	l := diff(a, b).listening(0)
	if want := 6.0 / 0.5; l.ShiftsPerMin != want {
		t.Errorf("ShiftsPerMin %.2f, want %.2f", l.ShiftsPerMin, want)
	}
	if want := 100 * 1920.0 / (30 * second); l.ConcealedPct != want {
		t.Errorf("ConcealedPct %.4f, want %.4f", l.ConcealedPct, want)
	}
	if want := 100 * 1440.0 / (30 * second); l.StretchPct != want {
		t.Errorf("StretchPct %.4f, want %.4f", l.StretchPct, want)
	}
	// What fell in the remote side's pauses is not heard: only speech counts.
	c := b
	c.Pause = playout.PauseCounts{PlayedSamples: 20 * second, Shifts: 4, StretchedSamples: 480, ConcealedSamples: 960, ConcealEvents: 1}
	sp := diff(a, c).listening(0)
	if want := 2.0 / (10.0 / 60); sp.ShiftsPerMin != want {
		t.Errorf("speech only: ShiftsPerMin %.2f, want %.2f", sp.ShiftsPerMin, want)
	}
	if want := 100 * 960.0 / (10 * second); sp.ConcealedPct != want {
		t.Errorf("speech only: ConcealedPct %.4f, want %.4f", sp.ConcealedPct, want)
	}
	if want := 100 * 960.0 / (10 * second); sp.StretchPct != want {
		t.Errorf("speech only: StretchPct %.4f, want %.4f", sp.StretchPct, want)
	}
	still := diff(b, b).listening(0)
	if still.ShiftsPerMin != 0 || still.ConcealedPct != 0 {
		t.Errorf("nothing played: %+v", still)
	}
}
