// Package opustest provides the test signal, the packet encoding and the
// correlation measures that the tests of the Opus receive path (decoder,
// playout buffer) share.
package opustest

import "math"

// Speechish returns n samples (mono, at rate Hz) of a non-periodic test
// signal: two frequency-modulated tones under a syllable-like envelope. It is
// tonal enough for Opus to preserve the waveform (so cross-correlation is a
// fair quality measure) but never repeats within a test, so the best
// alignment lag is unique.
func Speechish(n, rate int) []int16 {
	out := make([]int16, n)
	var ph1, ph2 float64
	for i := range out {
		t := float64(i) / float64(rate)
		f1 := 300 + 120*math.Sin(2*math.Pi*0.9*t) + 40*math.Sin(2*math.Pi*3.1*t)
		f2 := 1100 + 300*math.Sin(2*math.Pi*0.37*t+1)
		ph1 += 2 * math.Pi * f1 / float64(rate)
		ph2 += 2 * math.Pi * f2 / float64(rate)
		env := 0.55 + 0.45*math.Sin(2*math.Pi*2.3*t)*math.Sin(2*math.Pi*0.61*t+0.5)
		v := env * (0.6*math.Sin(ph1) + 0.3*math.Sin(ph2))
		out[i] = int16(v * 12000)
	}
	return out
}

// AlignedNCC finds the lag in [0, maxLag] at which got best matches ref
// (got[i+lag] ≈ ref[i]) and returns the normalised cross-correlation there,
// computed over the overlapping part.
func AlignedNCC(ref, got []int16, maxLag int) (best float64, bestLag int) {
	best = math.Inf(-1)
	for lag := 0; lag <= maxLag && lag < len(got); lag++ {
		if c := NCC(ref, got[lag:]); c > best {
			best, bestLag = c, lag
		}
	}
	return best, bestLag
}

// NCC is the normalised cross-correlation of a and b over their common
// length (0 when either is silent).
func NCC(a, b []int16) float64 {
	n := min(len(a), len(b))
	var ab, aa, bb float64
	for i := 0; i < n; i++ {
		x, y := float64(a[i]), float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
