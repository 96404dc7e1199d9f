package audiosrc

import (
	"fmt"
	"math"
)

// NewTone returns a sine source of freq Hz at amplitude (0..1 of full
// scale). The phase is accumulated in float64 and wrapped, so the frequency
// does not drift over long calls.
func NewTone(freq, amplitude float64, opts Options) (*Source, error) {
	if !(freq > 0 && freq < SampleRate/2) {
		return nil, fmt.Errorf("audiosrc: tone frequency %v Hz outside (0, %d)", freq, SampleRate/2)
	}
	if !(amplitude >= 0 && amplitude <= 1) {
		return nil, fmt.Errorf("audiosrc: tone amplitude %v outside [0, 1]", amplitude)
	}
	step := 2 * math.Pi * freq / SampleRate
	amp := amplitude * math.MaxInt16
	phase := 0.0
	return newSource("tone", opts, func(p []int16) (int, error) {
		for i := range p {
			p[i] = int16(math.Round(amp * math.Sin(phase)))
			phase += step
			if phase >= 2*math.Pi {
				phase -= 2 * math.Pi
			}
		}
		return len(p), nil
	}), nil
}

// NewSilence returns a source of digital silence.
func NewSilence(opts Options) *Source {
	return newSource("silence", opts, func(p []int16) (int, error) {
		clear(p)
		return len(p), nil
	})
}
