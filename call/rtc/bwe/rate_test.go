package bwe

import (
	"testing"
	"time"
)

// TestRateHoldsWhileApplicationLimited: a rate the media do not use is not
// tested by them, so it must not grow (alrShare); once they use it, it does.
func TestRateHoldsWhileApplicationLimited(t *testing.T) {
	for _, tc := range []struct {
		name      string
		start     float64
		ackedPart float64 // acked as a share of the rate
		grows     bool
	}{
		{"lean video (70 % of the target) leaves it unused", 300_000, 0.7, false},
		{"media fill the target", 300_000, 0.92, true},
		{"below the floor a paused video may still come back", 100_000, 0.4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAIMD(tc.start, 30_000, 30_000, 2_000_000)
			now := time.Unix(100, 0)
			for range 100 { // 10 s of feedback
				a.update(now, usageNormal, tc.ackedPart*a.rate, 50*time.Millisecond, false)
				now = now.Add(100 * time.Millisecond)
			}
			if grew := a.rate > tc.start*1.05; grew != tc.grows {
				t.Errorf("rate %.0f → %.0f kbps after 10 s; want growth %v", tc.start/1000, a.rate/1000, tc.grows)
			}
		})
	}
}

// TestProbeCeiling: with a capacity known, a probe's result counts up to the
// rate that capacity holds, unless it shows the path grew (probeLift).
func TestProbeCeiling(t *testing.T) {
	a := newAIMD(200_000, 30_000, 30_000, 2_000_000)
	if got := a.probeCeiling(400_000); got != 400_000 {
		t.Errorf("no capacity known: %.0f, want the probe's 400 kbps", got/1000)
	}
	a.cut(time.Unix(100, 0), 300_000, true) // congestion at 300 kbps
	a.rate = 200_000
	for _, tc := range []struct{ probe, want float64 }{
		{0, 0},
		{250_000, 250_000},           // below the capacity: all of it
		{375_000, capHold * 300_000}, // a 1.25× probe through a shaper's burst
		{480_000, 480_000},           // 1.6× the capacity: the path grew
	} {
		if got := a.probeCeiling(tc.probe); got != tc.want {
			t.Errorf("probe %.0f kbps: ceiling %.0f, want %.0f", tc.probe/1000, got/1000, tc.want/1000)
		}
	}
	// Below the capacity any probe may raise the rate; at it, only one that
	// asks for enough to show the path grew.
	if got := a.probeLeast(); got != 0 {
		t.Errorf("rate under the capacity: least probe %.0f kbps, want any", got/1000)
	}
	a.rate = capHold * 300_000
	if got, want := a.probeLeast(), 1.25*probeLift*300_000; got != want {
		t.Errorf("rate at the capacity: least probe %.0f kbps, want %.0f", got/1000, want/1000)
	}
}
