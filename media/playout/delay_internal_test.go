package playout

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/softphone/softphone/internal/netem"
)

// The target follows the jitter: zero on a steady path, about the 99.6th
// percentile of single packets' extra delay on a jittery one, and it
// comes down again when the jitter goes.
func TestDelayManagerTarget(t *testing.T) {
	tests := []struct {
		name     string
		delay    netem.Delay
		min, max float64 // ms
	}{
		{"steady", netem.Delay{Base: 30 * time.Millisecond}, 0, 2},
		{"uniform ±10", netem.Delay{Base: 30 * time.Millisecond, Jitter: 10 * time.Millisecond}, 16, 22},
		{"normal 40±20", netem.Delay{Base: 40 * time.Millisecond, Jitter: 20 * time.Millisecond, Dist: netem.Normal}, 85, 105},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 1))
			d := newDelayManager()
			for i := range 3000 { // 60 s of 20 ms packets
				sent := float64(i * 20)
				d.observe(sent+float64(tt.delay.Draw(rng))/1e6, sent, true)
			}
			t.Logf("target %.1f", d.target)
			if d.target < tt.min || d.target > tt.max {
				t.Fatalf("target %.1f ms, want %.0f–%.0f", d.target, tt.min, tt.max)
			}
		})
	}
}

// A step in the transit (a sender that stalled and skipped ahead, a longer
// path) moves the reference within a few hundred milliseconds and is not
// taken for jitter; on a jittery path the same rise is jitter.
func TestDelayManagerStep(t *testing.T) {
	d := newDelayManager()
	rng := rand.New(rand.NewPCG(2, 2))
	jit := netem.Delay{Base: 5 * time.Millisecond, Jitter: 2 * time.Millisecond}
	var rel float64
	for i := range 1500 { // 30 s; the transit rises by 60 ms at 10 s
		sent := float64(i * 20)
		step := 0.0
		if i >= 500 {
			step = 60
		}
		rel = d.observe(sent+step+float64(jit.Draw(rng))/1e6, sent, true)
		if i == 520 && rel > 10 { // 400 ms after the step
			t.Fatalf("relative delay %.1f ms 400 ms after a step: the reference did not follow", rel)
		}
	}
	if d.target > 10 {
		t.Fatalf("target %.1f ms after a step on a steady path, want the jitter's (≈ 4 ms)", d.target)
	}
}

// Before the first interval ends the target already follows a jittery path
// (so the first words are not concealed while it learns), while one late
// packet on a steady path is not taken for jitter.
func TestDelayManagerEarlyTarget(t *testing.T) {
	t.Run("jitter", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 3))
		delay := netem.Delay{Base: 40 * time.Millisecond, Jitter: 20 * time.Millisecond, Dist: netem.Normal}
		d := newDelayManager()
		for i := range 15 { // 300 ms
			sent := float64(i * 20)
			d.observe(sent+float64(delay.Draw(rng))/1e6, sent, true)
		}
		if d.updates != 0 || d.target < 25 || d.target > growFloorMs {
			t.Fatalf("after 300 ms: target %.1f ms after %d intervals, want 25–%.0f before the first", d.target, d.updates, growFloorMs)
		}
	})
	t.Run("one late packet", func(t *testing.T) {
		d := newDelayManager()
		for i := range 15 {
			sent := float64(i * 20)
			late := 0.0
			if i == 3 {
				late = 80
			}
			d.observe(sent+30+late, sent, true)
		}
		if d.target > 2*bucketMs {
			t.Fatalf("target %.1f ms after one late packet", d.target)
		}
	})
}
