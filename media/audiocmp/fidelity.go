package audiocmp

import (
	"math"
	"math/cmplx"
	"slices"
)

// Fidelity of received speech, for `softphone bench quality`. It is our own
// objective measure, not ITU-T P.862: received audio is aligned with what
// was sent window by window (so a delay that moves is followed, and each
// move counted), both are cut into 21 ms frames, and each frame's spectrum
// is reduced to loudness in critical bands (Bark scale, 100 Hz–7.7 kHz,
// Zwicker's 0.23 power law). The distance is the mean relative loudness
// difference over the frames where the sender spoke; Score maps it onto the
// 1–4.5 scale of listening tests (calibrated against P.862.2 on the
// softphone's own impaired calls, docs/benchmarks.md).

// Comparison says how well got reproduces ref.
type Comparison struct {
	Score    float64 // fidelity on a MOS-like 1–4.5 scale
	Distance float64 // mean relative Bark-loudness distance of speech frames (0 = identical)
	Shifts   int     // lasting moves of the delay (> 1 ms between speech windows)
	LagMs    float64 // median delay of got behind ref
	Windows  int     // speech windows compared
	Corr     float64 // median waveform correlation of the aligned windows
}

const (
	cmpWindowMs  = 200
	cmpDecim     = 6 // tracking runs on a 1/6 decimation (8 kHz at 48 kHz)
	trackMs      = 40
	frameSlackMs = 12
	frameLen     = 1024 // ≈ 21 ms at 48 kHz
	loudPower    = 0.23
	// Score = scoreA − scoreB · Distance, a least-squares line through
	// P.862.2 scores of simulated calls (clean 4.3 at 0.033, 5 % loss
	// concealed 2.5–3.0 at 0.07–0.09).
	scoreA = 5.42
	scoreB = 33
)

// barkEdges are the critical-band edges (Hz) up to the wideband limit.
var barkEdges = []float64{100, 200, 300, 400, 510, 630, 770, 920, 1080, 1270, 1480, 1720, 2000, 2320, 2700, 3150, 3700, 4400, 5300, 6400, 7700}

// Compare aligns got (received, mono at rate Hz) with ref (sent) and
// measures its fidelity. maxLag bounds the initial search for where got
// sits in ref (samples, either way).
func Compare(ref, got []int16, rate, maxLag int) Comparison {
	win := rate * cmpWindowMs / 1000
	r8, g8 := decimate(ref, cmpDecim), decimate(got, cmpDecim)
	// Level: compare shapes, not gains (a codec or a mixer may scale).
	gain := 1.0
	if rg := RMS(got); rg > 0 {
		gain = RMS(ref) / rg
	}
	var (
		c        Comparison
		lags     []int
		corrs    []float64
		dsum     float64
		frames   int
		lag      int
		have     bool
		misses   int
		spectrum = newBandMeter(rate)
	)
	for off := 0; off+win <= len(got); off += win {
		w := got[off : off+win]
		if RMS(w)*gain < 300 {
			continue // a pause: nothing to align
		}
		span := maxLag / cmpDecim
		if have {
			span = rate * trackMs / 1000 / cmpDecim
		}
		l, _ := alignAround(r8, g8, off/cmpDecim, lag/cmpDecim, span, win/cmpDecim)
		l, corr := refineLag(ref, w, off, l*cmpDecim, cmpDecim)
		if corr >= 0.6 {
			lag, have, misses = l, true, 0
			lags = append(lags, l)
		} else if misses++; misses > 3 {
			have = false // lost the track: search wide again
		}
		corrs = append(corrs, corr)
		if !have {
			continue
		}
		st := off - lag
		if st < 0 || st+win > len(ref) || RMS(ref[st:st+win]) < 300 {
			continue
		}
		for f := 0; f+frameLen <= win; f += frameLen / 2 {
			d, ok := spectrum.distance(ref[st+f:st+f+frameLen], w[f:f+frameLen], gain)
			if ok {
				dsum += d
				frames++
			}
		}
		c.Windows++
	}
	if frames == 0 {
		return Comparison{Score: 1, Distance: math.Inf(1)}
	}
	c.Distance = dsum / float64(frames)
	c.Score = min(max(scoreA-scoreB*c.Distance, 1), 4.5)
	c.Shifts = CountShifts(lags, rate/1000)
	if len(lags) > 0 {
		s := slices.Clone(lags)
		slices.Sort(s)
		c.LagMs = float64(s[len(s)/2]) * 1000 / float64(rate)
	}
	if len(corrs) > 0 {
		slices.Sort(corrs)
		c.Corr = corrs[len(corrs)/2]
	}
	return c
}

// CountShifts counts the lasting moves of a lag track: the median of the
// three windows after a point differs from the median of the three before
// by more than tol. A single stray window (a match one pitch period off)
// is not a shift.
func CountShifts(lags []int, tol int) int {
	med := func(v []int) int {
		w := slices.Clone(v)
		slices.Sort(w)
		return w[len(w)/2]
	}
	n := 0
	for i := 3; i+3 <= len(lags); i++ {
		if d := med(lags[i:i+3]) - med(lags[i-3:i]); d > tol || d < -tol {
			n++
			i += 2
		}
	}
	return n
}

func decimate(x []int16, f int) []float64 {
	out := make([]float64, len(x)/f)
	for i := range out {
		var s float64
		for _, v := range x[i*f : (i+1)*f] {
			s += float64(v)
		}
		out[i] = s
	}
	return out
}

// alignAround finds the lag (decimated samples; got[at] ≈ ref[at-lag])
// within center±span where the window of got at at best matches ref.
func alignAround(ref, got []float64, at, center, span, n int) (int, float64) {
	w := got[at : at+n]
	best, bestL := -2.0, center
	for l := center - span; l <= center+span; l++ {
		st := at - l
		if st < 0 || st+n > len(ref) {
			continue
		}
		if c := nccf(w, ref[st:st+n]); c > best {
			best, bestL = c, l
		}
	}
	return bestL, best
}

// refineLag searches ±step full-rate samples around lag.
func refineLag(ref, w []int16, off, lag, step int) (int, float64) {
	best, bestL := -2.0, lag
	for l := lag - step; l <= lag+step; l++ {
		st := off - l
		if st < 0 || st+len(w) > len(ref) {
			continue
		}
		var ab, aa, bb float64
		for i, v := range w {
			x, y := float64(v), float64(ref[st+i])
			ab += x * y
			aa += x * x
			bb += y * y
		}
		if aa > 0 && bb > 0 {
			if c := ab / math.Sqrt(aa*bb); c > best {
				best, bestL = c, l
			}
		}
	}
	return bestL, best
}

func nccf(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// bandMeter computes critical-band loudness of frames.
type bandMeter struct {
	rate   int
	window []float64
	buf    []complex128
	bands  [][2]int // FFT bin ranges
	lr, lg []float64
}

func newBandMeter(rate int) *bandMeter {
	m := &bandMeter{rate: rate, window: make([]float64, frameLen), buf: make([]complex128, frameLen)}
	for i := range m.window {
		m.window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(frameLen))
	}
	bin := func(hz float64) int { return int(math.Round(hz * frameLen / float64(rate))) }
	for i := 0; i+1 < len(barkEdges); i++ {
		lo, hi := bin(barkEdges[i]), bin(barkEdges[i+1])
		if hi > lo && hi <= frameLen/2 {
			m.bands = append(m.bands, [2]int{lo, hi})
		}
	}
	m.lr, m.lg = make([]float64, len(m.bands)), make([]float64, len(m.bands))
	return m
}

// loudness fills out with the band loudness of frame (scaled by gain).
func (m *bandMeter) loudness(frame []int16, gain float64, out []float64) float64 {
	for i, v := range frame {
		m.buf[i] = complex(float64(v)*gain*m.window[i], 0)
	}
	fft(m.buf, false)
	var total float64
	for k, b := range m.bands {
		var e float64
		for i := b[0]; i < b[1]; i++ {
			a := cmplx.Abs(m.buf[i])
			e += a * a
		}
		out[k] = math.Pow(e/float64(b[1]-b[0])+1, loudPower)
		total += out[k]
	}
	return total
}

// distance is the relative loudness difference of a frame of got against
// the same frame of ref; ok is false when ref is too quiet to judge.
func (m *bandMeter) distance(ref, got []int16, gain float64) (float64, bool) {
	tr := m.loudness(ref, 1, m.lr)
	m.loudness(got, gain, m.lg)
	// Below ≈ −45 dBFS the sender was not speaking.
	if tr < float64(len(m.bands))*math.Pow(200*200*frameLen/4, loudPower) {
		return 0, false
	}
	var d float64
	for k := range m.lr {
		d += math.Abs(m.lr[k] - m.lg[k])
	}
	return d / tr, true
}
