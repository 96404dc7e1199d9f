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
