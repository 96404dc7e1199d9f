package playout

import (
	"math"
	"math/rand/v2"
	"testing"
)

// periodic returns n samples of a voiced-like wave of period p samples.
func periodic(n, p int, amp float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		ph := 2 * math.Pi * float64(i) / float64(p)
		out[i] = int16(amp * (0.6*math.Sin(ph) + 0.3*math.Sin(3*ph+1) + 0.1*math.Sin(7*ph+2)))
	}
	return out
}

func noise(n int, amp float64, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * rng.NormFloat64())
	}
	return out
}

// maxStep is the largest sample-to-sample jump of hist followed by f: a
// click shows as a jump far above the signal's own.
func maxStep(hist, f []int16) float64 {
	all := append(append([]int16(nil), hist...), f...)
	m := 0.0
	for i := 1; i < len(all); i++ {
		m = max(m, math.Abs(float64(all[i])-float64(all[i-1])))
	}
	return m
}

func TestStretchVoiced(t *testing.T) {
	const rate = 48000
	tests := []struct {
		name   string
		period int
		want   int
		urgent bool
		cut    func(p int) int // expected removal
	}{
		{"one period of 5 ms", 240, 300, false, func(p int) int { return p }},
		{"one period of 9.2 ms", 442, 300, false, func(p int) int { return p }},
		{"several periods when urgent", 200, 700, true, func(p int) int { return 3 * p }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := periodic(2*1440+960, tt.period, 8000)
			hist, f := sig[:1440], append([]int16(nil), sig[1440:1440+960]...)
			ref := maxStep(hist, sig[1440:1440+960])
			s := newStretcher(rate, 1)
			n, cut := s.accelerate(hist, f, tt.want, false, tt.urgent)
			if want := tt.cut(tt.period); cut < want-2 || cut > want+2 || n != 960-cut {
				t.Fatalf("removed %d (frame %d), want %d", cut, n, want)
			}
			if st := maxStep(hist, f[:n]); st > 1.3*ref {
				t.Fatalf("largest step %.0f after the cut, signal's own %.0f: a click", st, ref)
			}
			dst := make([]int16, 2000)
			f2 := append([]int16(nil), sig[1440:1440+960]...)
			n, ins := s.expand(dst, hist, f2, 300, false, false)
			if ins < tt.period-2 || ins > tt.period+2 || n != 960+ins {
				t.Fatalf("inserted %d (frame %d), want one period %d", ins, n, tt.period)
			}
			if st := maxStep(hist, dst[:n]); st > 1.3*ref {
				t.Fatalf("largest step %.0f after the insert, signal's own %.0f", st, ref)
			}
		})
	}
}

func TestStretchLowEnergyAndNoise(t *testing.T) {
	s := newStretcher(48000, 1)
	quiet := noise(1440+960, 40, 1)
	f := append([]int16(nil), quiet[1440:]...)
	if n, cut := s.accelerate(quiet[:1440], f, 500, true, false); cut != 500 || n != 460 {
		t.Fatalf("low energy: removed %d, frame %d; want 500, 460", cut, n)
	}
	dst := make([]int16, 2000)
	if n, ins := s.expand(dst, quiet[:1440], quiet[1440:], 700, true, false); ins != 700 || n != 1660 {
		t.Fatalf("low energy: inserted %d, frame %d; want 700, 1660", ins, n)
	}
	// Loud noise has no pitch: nothing is cut or repeated unless urgent.
	loud := noise(1440+960, 6000, 2)
	f = append([]int16(nil), loud[1440:]...)
	if _, cut := s.accelerate(loud[:1440], f, 500, false, false); cut != 0 {
		t.Fatalf("cut %d samples out of loud noise", cut)
	}
	if _, ins := s.expand(dst, loud[:1440], loud[1440:], 500, false, false); ins != 0 {
		t.Fatalf("inserted %d samples into loud noise", ins)
	}
}

func TestLossTrackerDepth(t *testing.T) {
	tests := []struct {
		name    string
		pattern []bool // missing frames, repeated
		red     int
		fec     bool
		want    int
	}{
		{"clean", []bool{false}, 2, false, 0},
		{"loss without redundancy", []bool{true, false, false, false, false, false, false, false, false, false}, 0, false, 0},
		{"single losses with FEC", []bool{true, false, false, false, false, false, false, false, false, false}, 0, true, 1},
		{"single losses with RED 2", []bool{true, false, false, false, false, false, false, false, false, false}, 2, false, 1},
		{"bursts of 3 with RED 4", append([]bool{true, true, true}, make([]bool, 40)...), 4, false, 3},
		{"bursts of 3 with RED 2", append([]bool{true, true, true}, make([]bool, 40)...), 2, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l lossTracker
			for i := range 3000 {
				l.packet(tt.red, tt.fec)
				l.due(tt.pattern[i%len(tt.pattern)])
			}
			if got := l.extraFrames(); got != tt.want {
				t.Fatalf("extra frames %d, want %d (rate %.3f, mean run %.2f)", got, tt.want, l.rate, l.meanRun())
			}
		})
	}
}
