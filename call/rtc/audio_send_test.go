package rtc

import (
	"testing"
	"time"

	"github.com/softphone/softphone/media/opus"
)

func TestREDDistance(t *testing.T) {
	tests := []struct {
		name        string
		loss, burst float64
		want        int
	}{
		{"clean", 0, 0, 1},
		{"0.3 % loss", 0.003, 1, 1},
		{"5 % random", 0.05, 1.05, 1},
		{"10 % random", 0.10, 1.11, 2},
		{"unknown runs (receiver report only)", 0.10, 0, 1},
		{"Gilbert 1 %/30 %: 3.2 % in runs of 3.3", 0.032, 3.3, maxRED},
		{"runs of 2 at 2 %", 0.02, 2, 2},
		{"hopeless", 0.5, 10, maxRED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redDistance(tt.loss, tt.burst); got != tt.want {
				t.Fatalf("distance %d, want %d", got, tt.want)
			}
		})
	}
}

// The distance rises at once with the reports and comes down a step per
// redHold once they are clean; FEC is on without RED only.
func TestREDControl(t *testing.T) {
	enc := &opus.EncoderBuilder{}
	c := newRedControl(enc, 32000)
	c.bound(true)
	t0 := time.Unix(0, 0)
	c.report(t0, 0.032, 3.3)
	if d := c.distance.Load(); d != maxRED {
		t.Fatalf("distance %d after bursty reports, want %d", d, maxRED)
	}
	c.report(t0.Add(time.Second), 0, 0)
	if d := c.distance.Load(); d != maxRED {
		t.Fatalf("distance %d right after a clean report, want it held", d)
	}
	for i := 1; i <= 10; i++ {
		c.report(t0.Add(time.Duration(i)*(redHold+time.Second)), 0, 0)
	}
	if d := c.distance.Load(); d != minRED {
		t.Fatalf("distance %d after a long clean spell, want %d", d, minRED)
	}
}
