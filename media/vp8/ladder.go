package vp8

import (
	"math"
	"time"
)

// Rung is one step of the resolution/frame-rate ladder: the picture the
// encoder sends while the target bitrate is at least MinKbps; it is entered
// from below only at UpKbps.
type Rung struct {
	Width, Height int
	FPS           float64
	MinKbps       int // below this the encoder steps down
	UpKbps        int // the encoder steps up to this rung at this target
}

// Ladder shape, relative to the capture size and frame rate: full picture,
// three quarters, half at 80 % of the frame rate, half at half the frame
// rate, a quarter at a third. At the SD capture (640×360@30) that is
// 640×360@30 → 480×270@30 → 320×180@24 → 320×180@15 → 160×90@10.
var ladderShape = []struct{ size, fps float64 }{
	{1, 1}, {0.75, 1}, {0.5, 0.8}, {0.5, 0.5}, {0.25, 1.0 / 3},
}

const (
	// kbpsPerPixelRate calibrates rungMinKbps: 640×360@30 needs 300 kbps,
	// the start bitrate WebRTC requires for 360p (media-quality-notes §9).
	kbpsPerPixelRate = 300 / 134_900.0 // 134 900 = (640·360·30)^0.75
	// upMargin is the hysteresis: a rung is entered at 1.35× the bitrate it
	// is left at, so an estimate wobbling around one threshold does not flap
	// the picture size (each size change costs a keyframe).
	upMargin = 1.35
	// upHold is how long the target must stay above a higher rung's UpKbps
	// before the encoder steps up (down steps are immediate: they relieve a
	// congested path).
	upHold = 1500 * time.Millisecond
	// overshootHold is how long the encoder may miss its target by
	// overshootFactor before the ladder steps down regardless of the
	// thresholds (content that needs more than the model says).
	overshootHold   = 2 * time.Second
	overshootFactor = 1.3
	// holdAfterOvershoot keeps a ladder stepped down for overshoot from
	// climbing straight back.
	holdAfterOvershoot = 8 * time.Second
	// downDwell spaces steps down (each costs a keyframe) unless the
	// target falls below half the rung's minimum.
	downDwell = time.Second
	// SuspendKbps is the target below which the lowest rung is not worth
	// sending: the encoder sends nothing until the target recovers to
	// resumeKbps (or the lowest rung's UpKbps if that is higher).
	SuspendKbps = 20
	resumeKbps  = 30
)

// rungMinKbps models the bitrate a rung needs as growing with the pixel
// rate to the power 0.75 (larger pictures compress better per pixel).
func rungMinKbps(w, h int, fps float64) int {
	return int(math.Round(kbpsPerPixelRate * math.Pow(float64(w*h)*fps, 0.75)))
}

// NewLadder builds the ladder for a capture size and frame rate. Sizes are
// even (I420) and never below 16×16; rungs that would repeat the previous
// picture are left out.
func NewLadder(w, h int, fps float64) []Rung {
	var out []Rung
	for _, s := range ladderShape {
		rw := max(int(float64(w)*s.size+0.5)&^1, 16)
		rh := max(int(float64(h)*s.size+0.5)&^1, 16)
		if s.size == 1 {
			rw, rh = w, h
		}
		rf := fps * s.fps
		if n := len(out); n > 0 && out[n-1].Width == rw && out[n-1].Height == rh && out[n-1].FPS == rf {
			continue
		}
		minK := rungMinKbps(rw, rh, rf)
		out = append(out, Rung{Width: rw, Height: rh, FPS: rf, MinKbps: minK, UpKbps: int(float64(minK) * upMargin)})
	}
	return out
}

// ladder walks the rungs with the target bitrate: down at once when the
// target falls below the current rung's minimum or the encoder keeps
// overshooting, up when the target has stayed above a higher rung's UpKbps
// for upHold, to the highest rung the target allows.
type ladder struct {
	rungs     []Rung
	cur       int
	suspended bool
	upSince   time.Time // the target is above the next rung up's UpKbps since
	overSince time.Time // the encoder overshoots since
	noUpUntil time.Time
	changed   time.Time // the last step down
}

// update returns the rung (index) and whether video is suspended for the
// target kbps at now; sentKbps is what the encoder produced over the last
// second (0 when unknown).
func (l *ladder) update(now time.Time, kbps int, sentKbps float64) (int, bool) {
	last := len(l.rungs) - 1
	if !l.suspended && kbps < SuspendKbps {
		l.suspended, l.cur = true, last
		l.upSince, l.overSince = time.Time{}, time.Time{}
		return l.cur, true
	}
	if l.suspended {
		if kbps < max(l.rungs[last].UpKbps, resumeKbps) {
			l.upSince = time.Time{}
			return l.cur, true
		}
		if l.upSince.IsZero() {
			l.upSince = now
		}
		if now.Sub(l.upSince) < upHold {
			return l.cur, true
		}
		// Resume on the highest rung the target carries.
		l.suspended, l.cur, l.upSince = false, last, time.Time{}
		for l.cur > 0 && kbps >= l.rungs[l.cur-1].UpKbps {
			l.cur--
		}
		return l.cur, false
	}
	// Down: the target no longer carries this rung. Once per downDwell
	// unless it falls far below: a congestion controller cutting in steps
	// would otherwise walk the ladder one keyframe at a time.
	if kbps < l.rungs[l.cur].MinKbps && (now.Sub(l.changed) >= downDwell || kbps < l.rungs[l.cur].MinKbps/2) {
		for l.cur < last && kbps < l.rungs[l.cur].MinKbps {
			l.cur++
		}
		l.upSince, l.overSince = time.Time{}, time.Time{}
		l.changed = now
		return l.cur, false
	}
	// Down: the content needs more than the model says.
	if sentKbps > overshootFactor*float64(kbps) && l.cur < last {
		if l.overSince.IsZero() {
			l.overSince = now
		} else if now.Sub(l.overSince) >= overshootHold {
			l.cur++
			l.overSince, l.upSince = time.Time{}, time.Time{}
			l.noUpUntil = now.Add(holdAfterOvershoot)
			return l.cur, false
		}
	} else {
		l.overSince = time.Time{}
	}
	// Up: to the highest rung the target has carried for upHold.
	if l.cur == 0 || kbps < l.rungs[l.cur-1].UpKbps || now.Before(l.noUpUntil) {
		l.upSince = time.Time{}
		return l.cur, false
	}
	if l.upSince.IsZero() {
		l.upSince = now
	}
	if now.Sub(l.upSince) >= upHold {
		for l.cur > 0 && kbps >= l.rungs[l.cur-1].UpKbps {
			l.cur--
		}
		l.upSince = time.Time{}
	}
	return l.cur, false
}
