package playout

import "math"

// Time-scale modification. The buffer changes its delay by shortening
// (accelerate) or lengthening (preemptive expand) decoded audio rather than
// by dropping or repeating whole frames, as NetEq does: in voiced speech it
// removes or repeats exactly one pitch period (the waveform after the cut
// then continues in phase, so the ear hears a slightly shorter or longer
// syllable, not a click), and in low-energy stretches — pauses, breaths,
// background noise — it removes or inserts any length, where nobody hears
// it. Both join the two sides with a linear cross-fade.
//
// The pitch period is searched from 2.5 to 15 ms (400 Hz down to 67 Hz): a
// coarse normalised autocorrelation on a 4 kHz decimation, refined at the
// full rate around the best coarse lag.

const (
	minPitchMs = 2.5
	maxPitchMs = 15.0
	// analysisMs is the window the pitch correlation compares.
	analysisMs = 10.0
	coarseRate = 4000
	// voicedCorr is the normalised correlation above which cutting or
	// repeating a period is inaudible; urgentCorr is accepted when the
	// delay is far off target (NetEq's fast mode uses 0.5).
	voicedCorr = 0.9
	urgentCorr = 0.5
	// minFadeMs bounds the cross-fade of a low-energy splice.
	minFadeMs = 2.5
)

// stretcher holds the scratch memory of the time-scale modification; one per
// buffer, used under its lock.
type stretcher struct {
	rate, ch int
	mono     []float64 // history then frame, channels averaged
	coarse   []float64
}

func newStretcher(rate, ch int) *stretcher {
	return &stretcher{rate: rate, ch: ch}
}

func (s *stretcher) ms(v float64) int { return int(v * float64(s.rate) / 1000) }

// load fills s.mono with hist followed by f (both interleaved) and returns
// the index where f starts.
func (s *stretcher) load(hist, f []int16) int {
	n := (len(hist) + len(f)) / s.ch
	if cap(s.mono) < n {
		s.mono = make([]float64, n)
	}
	s.mono = s.mono[:n]
	i := 0
	for _, part := range [2][]int16{hist, f} {
		for k := 0; k+s.ch <= len(part); k += s.ch {
			var v float64
			for c := range s.ch {
				v += float64(part[k+c])
			}
			s.mono[i] = v / float64(s.ch)
			i++
		}
	}
	return len(hist) / s.ch
}

// pitch estimates the period (in samples) at position at of s.mono from the
// window before it: it compares mono[at-w, at) with the same window one lag
// earlier. It returns 0 when there is too little history.
func (s *stretcher) pitch(at int) int {
	factor := max(s.rate/coarseRate, 1)
	w := s.ms(analysisMs)
	minLag, maxLag := s.ms(minPitchMs), s.ms(maxPitchMs)
	if at-w-maxLag < 0 {
		maxLag = at - w
	}
	if maxLag < minLag {
		return 0
	}
	// Coarse: box-filtered decimation of [at-w-maxLag, at).
	from := at - w - maxLag
	nc := (at - from) / factor
	if cap(s.coarse) < nc {
		s.coarse = make([]float64, nc)
	}
	c := s.coarse[:nc]
	for i := range c {
		var sum float64
		for _, v := range s.mono[from+i*factor : from+(i+1)*factor] {
			sum += v
		}
		c[i] = sum
	}
	cw := w / factor
	end := len(c)
	coarseAt := func(lag int) float64 {
		if lag < minLag/factor || end-cw-lag < 0 {
			return math.Inf(-1)
		}
		return ncc(c[end-cw:end], c[end-cw-lag:end-lag])
	}
	best, bestLag := math.Inf(-1), 0
	for lag := minLag / factor; lag <= maxLag/factor; lag++ {
		if v := coarseAt(lag); v > best {
			best, bestLag = v, lag
		}
	}
	if bestLag == 0 {
		return 0
	}
	// A multiple of the period matches as well as the period: prefer the
	// shortest lag that matches nearly as well (the smallest change).
	for k := 4; k >= 2; k-- {
		sub := int(math.Round(float64(bestLag) / float64(k)))
		if v := max(coarseAt(sub-1), coarseAt(sub), coarseAt(sub+1)); v >= best-0.03 {
			for _, l := range []int{sub - 1, sub, sub + 1} {
				if coarseAt(l) == v {
					bestLag = l
				}
			}
			break
		}
	}
	// Fine: full rate around the coarse pick.
	best, fine := math.Inf(-1), 0
	for lag := max(bestLag*factor-factor, minLag); lag <= min(bestLag*factor+factor, maxLag); lag++ {
		if v := ncc(s.mono[at-w:at], s.mono[at-w-lag:at-lag]); v > best {
			best, fine = v, lag
		}
	}
	return fine
}

// ncc is the normalised cross-correlation of a and b (equal lengths); 0
// when either is silent.
func ncc(a, b []float64) float64 {
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

// accelerate shortens f (interleaved, not yet played) by about want samples
// per channel, in place, using hist (the audio played just before f) for
// the pitch analysis. Voiced audio loses whole pitch periods (as many as
// fit when urgent, else one) if the waveform repeats well enough; a
// low-energy frame loses want samples wherever. It returns f's new length
// in samples per channel and how many it removed (0: no cut was clean).
func (s *stretcher) accelerate(hist, f []int16, want int, lowEnergy, urgent bool) (int, int) {
	n := len(f) / s.ch
	fade := s.ms(minFadeMs)
	if want <= 0 || n < 2*fade {
		return n, 0
	}
	h0 := s.load(hist, f)
	if lowEnergy {
		cut := min(want, n-2*fade)
		if cut <= 0 {
			return n, 0
		}
		spliceOut(f, s.ch, cut, fade)
		return n - cut, cut
	}
	p := s.pitch(h0)
	if p == 0 || p+fade > n {
		return n, 0
	}
	threshold := voicedCorr
	periods := 1
	if urgent {
		threshold = urgentCorr
		periods = max(1, min(want/p, (n-fade)/p))
	}
	for k := periods; k >= 1; k-- {
		cut := k * p
		l := min(p, n-cut)
		if l < fade {
			continue
		}
		if ncc(s.mono[h0:h0+l], s.mono[h0+cut:h0+cut+l]) < threshold {
			continue
		}
		spliceOut(f, s.ch, cut, l)
		return n - cut, cut
	}
	return n, 0
}

// spliceOut removes cut samples per channel from the start of f: its first
// fade samples are cross-faded into the fade samples at cut, and the rest
// of f from cut+fade on follows.
func spliceOut(f []int16, ch, cut, fade int) {
	n := len(f) / ch
	fade = min(fade, n-cut)
	for i := range fade {
		w := float64(i+1) / float64(fade+1)
		for c := range ch {
			a, b := float64(f[i*ch+c]), float64(f[(cut+i)*ch+c])
			f[i*ch+c] = clamp16((1-w)*a + w*b)
		}
	}
	copy(f[fade*ch:], f[(cut+fade)*ch:])
}

// expand lengthens f by about want samples per channel, writing the result
// to dst (which must hold len(f) + want·ch samples) and returning the
// samples per channel written and inserted. Voiced audio gains one pitch
// period (a repeat of the period before f, faded into f's own start); a
// low-energy frame gains want samples of its own texture. hist must hold at
// least the inserted length.
func (s *stretcher) expand(dst, hist, f []int16, want int, lowEnergy, urgent bool) (int, int) {
	n := len(f) / s.ch
	hn := len(hist) / s.ch
	if want <= 0 {
		return copy(dst, f) / s.ch, 0
	}
	h0 := s.load(hist, f)
	var ins int
	if lowEnergy {
		ins = min(want, hn, n)
	} else {
		p := s.pitch(h0)
		threshold := voicedCorr
		if urgent {
			threshold = urgentCorr
		}
		if p == 0 || p > hn || p > n || ncc(s.mono[h0-p:h0], s.mono[h0:h0+p]) < threshold {
			return copy(dst, f) / s.ch, 0
		}
		ins = p
	}
	if ins < s.ms(minFadeMs) {
		return copy(dst, f) / s.ch, 0
	}
	// X[i] fades from f's start (the natural continuation of what was
	// played) to the ins samples before f (whose continuation is f[0]).
	for i := range ins {
		w := float64(i+1) / float64(ins+1)
		for c := range s.ch {
			a := float64(f[i*s.ch+c])
			b := float64(hist[(hn-ins+i)*s.ch+c])
			dst[i*s.ch+c] = clamp16((1-w)*a + w*b)
		}
	}
	copy(dst[ins*s.ch:], f)
	return n + ins, ins
}

func clamp16(v float64) int16 {
	return int16(max(min(math.Round(v), 32767), -32768))
}

// rms is the root mean square of interleaved samples.
func rms(p []int16) float64 {
	if len(p) == 0 {
		return 0
	}
	var s float64
	for _, v := range p {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(p)))
}
