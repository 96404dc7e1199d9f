// Package audiocheck measures received speech against the speech that was
// sent, black-box, from the WAV files two softphones recorded: where the
// sent speech sits in each recording (per window, so playout adjustments
// show up as time shifts), the mouth-to-ear delay from the four offsets of
// a two-way call, and a cut of the received speech aligned for an external
// PESQ scorer.
package audiocheck

import (
	"math"
	"slices"

	"github.com/softphone/softphone/media/audiocmp"
	"github.com/softphone/softphone/media/audiosrc"
)

// AlignRate is the sample rate the offsets are searched at.
const AlignRate = 8000

// Options tune Locate; the zero value picks the defaults.
type Options struct {
	Window  float64 // seconds per window (default 0.4)
	Hop     float64 // seconds between windows (default 0.2)
	MinCorr float64 // normalised correlation a window needs (default 0.7)
	ShiftMs float64 // offset change that counts as a time shift (default 8 ms)
	// MaxDevMs drops windows this far from the median offset: speech
	// that repeats a word elsewhere in the reference (default 300 ms).
	MaxDevMs float64
}

func (o *Options) defaults() {
	if o.Window == 0 {
		o.Window = 0.4
	}
	if o.Hop == 0 {
		o.Hop = 0.2
	}
	if o.MinCorr == 0 {
		o.MinCorr = 0.7
	}
	if o.ShiftMs == 0 {
		o.ShiftMs = 8
	}
	if o.MaxDevMs == 0 {
		o.MaxDevMs = 300
	}
}

// Window is one stretch of the recording found in the reference.
type Window struct {
	AtMs     float64 `json:"atMs"`     // window start in the recording
	OffsetMs float64 `json:"offsetMs"` // where reference sample 0 sits in the recording
	Corr     float64 `json:"corr"`
}

// Shift is a change of offset between two consecutive found windows.
type Shift struct {
	AtMs    float64 `json:"atMs"`
	DeltaMs float64 `json:"deltaMs"` // positive: the audio came later
	// InSpeech: every window between the two had sound (no pause), so
	// the listener heard the cut or the repeat.
	InSpeech bool `json:"inSpeech"`
}

// Placement is where the reference sits in one recording.
type Placement struct {
	OffsetMs      float64  `json:"offsetMs"`      // median over found windows
	FirstOffsetMs float64  `json:"firstOffsetMs"` // of the first found window
	DriftMs       float64  `json:"driftMs"`       // max − min offset of found windows
	Found         int      `json:"found"`         // windows found
	Speech        int      `json:"speech"`        // windows with sound
	Shifts        []Shift  `json:"shifts"`
	Windows       []Window `json:"windows"`
}

// Coverage is the share of windows with sound that matched the reference.
func (p Placement) Coverage() float64 {
	if p.Speech == 0 {
		return 0
	}
	return float64(p.Found) / float64(p.Speech)
}

// ShiftCounts returns all shifts and those inside speech.
func (p Placement) ShiftCounts() (all, inSpeech int) {
	for _, s := range p.Shifts {
		all++
		if s.InSpeech {
			inSpeech++
		}
	}
	return all, inSpeech
}

// Downsample converts 48 kHz (or any rate) mono PCM to rate Hz.
func Downsample(pcm []int16, inRate, rate int) []int16 {
	f := make([]float32, len(pcm))
	for i, v := range pcm {
		f[i] = float32(v) / 32768
	}
	return audiosrc.ToInt16(audiosrc.Resample(f, inRate, rate))
}

// Locate finds ref in rec, both mono PCM at AlignRate. ok is false when no
// window matched.
func Locate(ref, rec []int16, opts Options) (Placement, bool) {
	opts.defaults()
	win := int(opts.Window * AlignRate)
	hop := int(opts.Hop * AlignRate)
	var p Placement
	if len(ref) < win || len(rec) < win {
		return p, false
	}
	// Silence threshold relative to the loud windows of the recording.
	var levels []float64
	for at := 0; at+win <= len(rec); at += hop {
		levels = append(levels, audiocmp.RMS(rec[at:at+win]))
	}
	sorted := slices.Clone(levels)
	slices.Sort(sorted)
	loud := sorted[len(sorted)*95/100]
	if loud == 0 {
		return p, false
	}
	al := audiocmp.NewAligner(ref, win)
	type hit struct {
		idx int
		w   Window
	}
	var hits []hit
	sound := make([]bool, len(levels))
	for i, lvl := range levels {
		if lvl < 0.15*loud {
			continue
		}
		sound[i] = true
		p.Speech++
		at := i * hop
		lag, corr := al.Align(rec[at : at+win])
		if corr < opts.MinCorr {
			continue
		}
		hits = append(hits, hit{i, Window{
			AtMs:     ms(at),
			OffsetMs: ms(at - lag),
			Corr:     math.Round(corr*1000) / 1000,
		}})
	}
	if len(hits) == 0 {
		return p, false
	}
	offs := make([]float64, len(hits))
	for i, h := range hits {
		offs[i] = h.w.OffsetMs
	}
	med := median(offs)
	kept := hits[:0]
	for _, h := range hits {
		if math.Abs(h.w.OffsetMs-med) <= opts.MaxDevMs {
			kept = append(kept, h)
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, h := range kept {
		p.Windows = append(p.Windows, h.w)
		lo, hi = math.Min(lo, h.w.OffsetMs), math.Max(hi, h.w.OffsetMs)
		if i == 0 {
			continue
		}
		prev := kept[i-1]
		if d := h.w.OffsetMs - prev.w.OffsetMs; math.Abs(d) >= opts.ShiftMs {
			// Windows across the cut itself match badly and drop out;
			// what matters is whether a pause lay between.
			p.Shifts = append(p.Shifts, Shift{AtMs: h.w.AtMs, DeltaMs: d, InSpeech: !slices.Contains(sound[prev.idx:h.idx], false)})
		}
	}
	offs = offs[:0]
	for _, w := range p.Windows {
		offs = append(offs, w.OffsetMs)
	}
	p.Found = len(p.Windows)
	p.OffsetMs = median(offs)
	p.FirstOffsetMs = p.Windows[0].OffsetMs
	p.DriftMs = hi - lo
	return p, true
}

func ms(samples int) float64 { return float64(samples) * 1000 / AlignRate }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
