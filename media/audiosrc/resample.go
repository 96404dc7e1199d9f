package audiosrc

import "math"

// Resampler quality: Kaiser-windowed sinc with resampleZeros zero crossings
// on each side, cutoff at resampleRolloff of the lower Nyquist frequency
// (room for the transition band), kernel tabulated at resampleRes points per
// zero crossing with linear interpolation between them.
const (
	resampleZeros   = 16
	resampleRolloff = 0.94
	resampleBeta    = 8.6 // ≈ 86 dB stop-band attenuation
	resampleRes     = 512
)

// Resampler converts a mono stream between sample rates with a band-limited
// (windowed-sinc) interpolator. Output sample n sits at input time
// n·inRate/outRate; the kernel is symmetric, so there is no phase shift and
// no delay to compensate. Feed it with Process and finish with Flush.
type Resampler struct {
	l, m   int64   // out and in rates divided by their gcd
	fc     float64 // cutoff relative to the input Nyquist frequency
	half   int     // kernel half-width in input samples
	table  []float32
	tscale float64 // table index per input-sample distance

	hist []float32 // input samples from absolute index base on
	base int64
	n    int64 // next output index
}

// NewResampler returns a resampler from inRate to outRate Hz (both > 0).
func NewResampler(inRate, outRate int) *Resampler {
	g := gcd(inRate, outRate)
	r := &Resampler{l: int64(outRate / g), m: int64(inRate / g)}
	r.fc = resampleRolloff * min(1, float64(outRate)/float64(inRate))
	r.half = int(math.Ceil(resampleZeros / r.fc))
	// h(x) = fc·sinc(fc·x)·kaiser(x/half), x in input samples, tabulated
	// over [0, half] (it is even).
	size := r.half*resampleRes + 2
	r.table = make([]float32, size)
	r.tscale = resampleRes
	i0b := besselI0(resampleBeta)
	for i := range r.table {
		x := float64(i) / r.tscale
		if x > float64(r.half) {
			break
		}
		t := x / float64(r.half)
		w := besselI0(resampleBeta*math.Sqrt(1-t*t)) / i0b
		r.table[i] = float32(r.fc * sinc(r.fc*x) * w)
	}
	// Zero history before the first sample, so the first outputs have
	// their left half of the kernel.
	r.hist = make([]float32, r.half)
	r.base = -int64(r.half)
	return r
}

// Process consumes in and appends the outputs that are now complete.
func (r *Resampler) Process(dst, in []float32) []float32 {
	r.hist = append(r.hist, in...)
	return r.drain(dst)
}

// Flush feeds zeros so that every output up to the end of the input so far
// is produced, and appends them.
func (r *Resampler) Flush(dst []float32) []float32 {
	end := r.base + int64(len(r.hist)) // absolute index after the last input
	// Outputs whose time n·m/l is before end.
	last := (end*r.l + r.m - 1) / r.m
	r.hist = append(r.hist, make([]float32, r.half+1)...)
	for r.n < last {
		var ok bool
		if dst, ok = r.one(dst); !ok {
			break
		}
	}
	return dst
}

func (r *Resampler) drain(dst []float32) []float32 {
	for {
		var ok bool
		if dst, ok = r.one(dst); !ok {
			break
		}
	}
	// Drop history that no future output needs.
	keepFrom := (r.n*r.m)/r.l - int64(r.half) + 1
	if drop := keepFrom - r.base; drop > 0 && drop <= int64(len(r.hist)) {
		r.hist = append(r.hist[:0], r.hist[drop:]...)
		r.base += drop
	}
	return dst
}

// one computes output r.n if all inputs it needs are present.
func (r *Resampler) one(dst []float32) ([]float32, bool) {
	num := r.n * r.m
	ip := num / r.l
	frac := float64(num%r.l) / float64(r.l)
	lo, hi := ip-int64(r.half)+1, ip+int64(r.half)
	if hi >= r.base+int64(len(r.hist)) {
		return dst, false
	}
	var acc float64
	for k := max(lo, r.base); k <= hi; k++ {
		d := math.Abs(frac + float64(ip-k))
		pos := d * r.tscale
		i := int(pos)
		if i+1 >= len(r.table) {
			continue
		}
		t := float32(pos - float64(i))
		h := r.table[i] + t*(r.table[i+1]-r.table[i])
		acc += float64(r.hist[k-r.base] * h)
	}
	r.n++
	return append(dst, float32(acc)), true
}

// Resample converts a whole mono signal from inRate to outRate.
func Resample(in []float32, inRate, outRate int) []float32 {
	if inRate == outRate {
		return append([]float32(nil), in...)
	}
	r := NewResampler(inRate, outRate)
	out := make([]float32, 0, int(int64(len(in))*int64(outRate)/int64(inRate))+1)
	out = r.Process(out, in)
	return r.Flush(out)
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the zeroth-order modified Bessel function of the first kind
// (power series; converges fast for the β used here).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < sum*1e-12 {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
