package netem_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/softphone/softphone/internal/netem"
)

func TestLossRates(t *testing.T) {
	const n = 200000
	tests := []struct {
		name      string
		loss      netem.Loss
		wantLoss  float64
		wantBurst float64 // mean run of consecutive losses
	}{
		{"none", netem.Loss{}, 0, 0},
		{"random 5%", netem.Loss{Random: 0.05}, 0.05, 1 / 0.95},
		{"gilbert 1%/30%", netem.Loss{GE: netem.Simple(0.01, 0.30)}, 0.01 / 0.31, 1 / 0.30},
		{"gilbert-elliott lossy good state", netem.Loss{GE: netem.GilbertElliott{P: 0.05, R: 0.5, LossBad: 0.8, LossGood: 0.02}}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			l := tt.loss
			lost, runs, run := 0, 0, 0
			for range n {
				if l.Drop(rng) {
					lost++
					run++
				} else if run > 0 {
					runs++
					run = 0
				}
			}
			want := tt.wantLoss
			if tt.loss.GE != (netem.GilbertElliott{}) {
				want = tt.loss.GE.MeanLoss()
			}
			got := float64(lost) / n
			if math.Abs(got-want) > 0.1*want+0.001 {
				t.Errorf("loss %.4f, want %.4f", got, want)
			}
			if tt.wantBurst > 0 {
				if b := float64(lost) / float64(runs); math.Abs(b-tt.wantBurst) > 0.1*tt.wantBurst {
					t.Errorf("mean burst %.2f, want %.2f", b, tt.wantBurst)
				}
			}
		})
	}
}

func TestDelayDistributions(t *testing.T) {
	const n = 100000
	tests := []struct {
		name           string
		d              netem.Delay
		mean, sd, minV float64 // ms
	}{
		{"fixed", netem.Delay{Base: 40 * time.Millisecond}, 40, 0, 40},
		{"uniform ±20", netem.Delay{Base: 40 * time.Millisecond, Jitter: 20 * time.Millisecond}, 40, 20 / math.Sqrt(3), 20},
		// Normal 40±20 clipped at zero: the clip moves the mean up a little.
		{"normal 40±20", netem.Delay{Base: 40 * time.Millisecond, Jitter: 20 * time.Millisecond, Dist: netem.Normal}, 40.2, 19.6, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			var sum, sq float64
			lo := math.Inf(1)
			for range n {
				v := float64(tt.d.Draw(rng)) / float64(time.Millisecond)
				sum += v
				sq += v * v
				lo = min(lo, v)
			}
			mean := sum / n
			sd := math.Sqrt(sq/n - mean*mean)
			if math.Abs(mean-tt.mean) > 0.5 || math.Abs(sd-tt.sd) > 0.5 || lo < tt.minV-0.001 {
				t.Errorf("mean %.2f sd %.2f min %.2f, want %.2f %.2f ≥ %.2f", mean, sd, lo, tt.mean, tt.sd, tt.minV)
			}
		})
	}
}
