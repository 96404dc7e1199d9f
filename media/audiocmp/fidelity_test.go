package audiocmp_test

import (
	"slices"
	"testing"

	"github.com/softphone/softphone/media/audiocmp"
)

func TestCompare(t *testing.T) {
	const rate = 48000
	ref := audiocmp.Speech(rate*8, rate, 2)
	delayed := func(d int) []int16 { return append(make([]int16, d), ref...) }
	shifted := func() []int16 {
		// 15 ms of silence inserted 4 s in: the delay moves once.
		g := delayed(4800)
		at := 4800 + 4*rate
		return slices.Concat(g[:at], make([]int16, 720), g[at:])
	}
	holed := func() []int16 {
		// Every tenth 20 ms frame lost to silence.
		g := delayed(4800)
		for f := 4800; f+960 <= len(g); f += 9600 {
			clear(g[f : f+960])
		}
		return g
	}
	tests := []struct {
		name       string
		got        []int16
		minS, maxS float64
		shifts     int
		lagMs      float64
	}{
		{"identical, 100 ms late", delayed(4800), 4.4, 4.5, 0, 100},
		{"one move of 15 ms", shifted(), 4.2, 4.5, 1, 100},
		{"a tenth of the frames lost", holed(), 1, 3.5, 0, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := audiocmp.Compare(ref, tt.got, rate, rate)
			t.Logf("%+v", c)
			if c.Score < tt.minS || c.Score > tt.maxS {
				t.Errorf("score %.2f, want %.1f–%.1f", c.Score, tt.minS, tt.maxS)
			}
			if c.Shifts != tt.shifts {
				t.Errorf("%d shifts, want %d", c.Shifts, tt.shifts)
			}
			if c.LagMs < tt.lagMs-1 || c.LagMs > tt.lagMs+16 {
				t.Errorf("lag %.1f ms, want ≈ %.0f", c.LagMs, tt.lagMs)
			}
		})
	}
}
