// Package audiocmp compares audio black-box: a non-periodic test signal and
// an FFT cross-correlation aligner that finds where received audio sits in
// what was sent and how well it matches. Tests and the media benchmark use
// it to measure correlation and latency file to file.
package audiocmp

import (
	"math"
	"math/cmplx"

	"github.com/softphone/softphone/media/audiosrc"
)

// Signal is non-periodic: two tones whose frequencies wander at
// incommensurate rates under a slow envelope, so every stretch has exactly one best alignment, and tonal enough for Opus.
func Signal(seconds, seed float64) []int16 {
	n := int(seconds * audiosrc.SampleRate)
	out := make([]float32, n)
	var p1, p2 float64
	for i := range n {
		t := float64(i) / audiosrc.SampleRate
		f1 := 300 + 150*math.Sin(2*math.Pi*0.37*t+seed)
		f2 := 1100 + 400*math.Sin(2*math.Pi*0.23*t+1+seed)
		p1 += 2 * math.Pi * f1 / audiosrc.SampleRate
		p2 += 2 * math.Pi * f2 / audiosrc.SampleRate
		env := 0.6 + 0.4*math.Sin(2*math.Pi*0.53*t+2*seed)
		out[i] = float32(env * (0.3*math.Sin(p1) + 0.2*math.Sin(p2)))
	}
	return audiosrc.ToInt16(out)
}

// fft is an in-place radix-2 FFT (len(a) a power of two); inverse scales.
func fft(a []complex128, inverse bool) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		ang := 2 * math.Pi / float64(size)
		if !inverse {
			ang = -ang
		}
		wn := cmplx.Rect(1, ang)
		for start := 0; start < n; start += size {
			w := complex(1, 0)
			for k := range size / 2 {
				u, v := a[start+k], a[start+k+size/2]*w
				a[start+k], a[start+k+size/2] = u+v, u-v
				w *= wn
			}
		}
	}
	if inverse {
		for i := range a {
			a[i] /= complex(float64(n), 0)
		}
	}
}

// Aligner finds where a window of audio sits in a reference signal:
// cross-correlation by FFT, normalised by the energy of each stretch of the
// reference.
type Aligner struct {
	ref    []int16
	n      int
	refF   []complex128
	energy []float64
}

// NewAligner prepares ref for windows of at most maxWin samples.
func NewAligner(ref []int16, maxWin int) *Aligner {
	n := 1
	for n < maxWin+len(ref) {
		n <<= 1
	}
	a := &Aligner{ref: ref, n: n, refF: make([]complex128, n), energy: make([]float64, len(ref)+1)}
	for i, v := range ref {
		a.refF[i] = complex(float64(v), 0)
		a.energy[i+1] = a.energy[i] + float64(v)*float64(v)
	}
	fft(a.refF, false)
	return a
}

// Align returns the best lag of win in the reference and the normalised
// correlation there.
func (a *Aligner) Align(win []int16) (lag int, corr float64) {
	b := make([]complex128, a.n)
	for i, v := range win {
		b[i] = complex(float64(v), 0)
	}
	fft(b, false)
	for i := range b {
		b[i] = a.refF[i] * cmplx.Conj(b[i])
	}
	fft(b, true)
	best := math.Inf(-1)
	for l := 0; l+len(win) <= len(a.ref); l++ {
		e := a.energy[l+len(win)] - a.energy[l]
		if e <= 0 {
			continue
		}
		if v := real(b[l]) / math.Sqrt(e); v > best {
			best, lag = v, l
		}
	}
	var sw, swr float64
	for i, v := range win {
		x := float64(v)
		sw += x * x
		swr += x * float64(a.ref[lag+i])
	}
	e := a.energy[lag+len(win)] - a.energy[lag]
	if sw == 0 || e == 0 {
		return lag, 0
	}
	return lag, swr / math.Sqrt(sw*e)
}

// RMS is the root mean square of w (0 for no samples).
func RMS(w []int16) float64 {
	if len(w) == 0 {
		return 0
	}
	var s float64
	for _, v := range w {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(w)))
}
