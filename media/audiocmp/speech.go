package audiocmp

import (
	"math"
	"math/rand/v2"
)

// vowels are first three formant frequencies (Hz) of a few vowels.
var vowels = [][3]float64{
	{730, 1090, 2440}, // a
	{270, 2290, 3010}, // i
	{300, 870, 2240},  // u
	{530, 1840, 2480}, // e
	{570, 840, 2410},  // o
}

// Speech returns n samples (mono, at rate Hz) of synthetic speech: voiced
// syllables (a glottal pulse train at a gliding pitch of 90–230 Hz through
// three formant resonators) separated by short gaps and longer pauses, with
// a faint noise floor. It has what time-scale modification works on —
// pitch periods, syllable onsets, low-energy pauses — and is deterministic
// for a seed.
func Speech(n, rate int, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]int16, n)
	type res struct{ a1, a2, y1, y2, g float64 }
	var fs [3]res
	setFormants := func(f [3]float64) {
		for i := range fs {
			bw := 60 + 40*float64(i)
			r := math.Exp(-math.Pi * bw / float64(rate))
			fs[i].a1 = 2 * r * math.Cos(2*math.Pi*f[i]/float64(rate))
			fs[i].a2 = -r * r
			fs[i].g = 1 - r
		}
	}
	i := 0
	phase := 0.0
	for i < n {
		// A word of 2–4 syllables, then a pause.
		syl := 2 + rng.IntN(3)
		for s := 0; s < syl && i < n; s++ {
			length := rate * (120 + rng.IntN(130)) / 1000
			f0a := 90 + 140*rng.Float64()
			f0b := f0a * (0.8 + 0.4*rng.Float64())
			setFormants(vowels[rng.IntN(len(vowels))])
			for k := 0; k < length && i < n; k, i = k+1, i+1 {
				t := float64(k) / float64(length)
				f0 := f0a + (f0b-f0a)*t
				phase += f0 / float64(rate)
				var src float64
				if phase >= 1 {
					phase--
					src = 1
				}
				// Attack and decay of the syllable.
				env := math.Sin(math.Pi * math.Min(1, t*1.2))
				x := src*env + 0.002*rng.NormFloat64()
				var y float64
				for j := range fs {
					v := fs[j].g*x + fs[j].a1*fs[j].y1 + fs[j].a2*fs[j].y2
					fs[j].y2, fs[j].y1 = fs[j].y1, v
					y += v / float64(j+1)
				}
				out[i] = int16(max(min(y*90000, 32767), -32768))
			}
			gap := rate * (30 + rng.IntN(60)) / 1000
			for k := 0; k < gap && i < n; k, i = k+1, i+1 {
				out[i] = int16(30 * rng.NormFloat64())
			}
		}
		pause := rate * (180 + rng.IntN(320)) / 1000
		for k := 0; k < pause && i < n; k, i = k+1, i+1 {
			out[i] = int16(30 * rng.NormFloat64())
		}
	}
	return out
}
