// Package netem holds the packet loss and delay models that impair a
// network path the way Linux netem does: random (Bernoulli) loss, the
// Gilbert-Elliott two-state burst-loss model, and delay jitter drawn from a
// uniform or a normal distribution. The softphone's --impair and the
// playout simulations in tests draw from the same models.
package netem

import (
	"math"
	"math/rand/v2"
	"time"
)

// GilbertElliott is the two-state burst-loss model (netem's "loss gemodel
// p r 1-h 1-k"): in the bad state a packet is lost with probability
// LossBad (netem's 1-h), in the good state with LossGood (1-k); after each
// packet the model moves good→bad with probability P and bad→good with
// probability R. The simple Gilbert model (LossBad 1, LossGood 0) has mean
// loss P/(P+R) and mean burst 1/R.
type GilbertElliott struct {
	P, R              float64 // transition probabilities, 0–1
	LossBad, LossGood float64 // loss probabilities in each state
}

// Simple returns the Gilbert model of p and r.
func Simple(p, r float64) GilbertElliott { return GilbertElliott{P: p, R: r, LossBad: 1} }

// MeanLoss is the long-run share of packets the model loses.
func (g GilbertElliott) MeanLoss() float64 {
	if g.P+g.R == 0 {
		return g.LossGood
	}
	bad := g.P / (g.P + g.R)
	return bad*g.LossBad + (1-bad)*g.LossGood
}

// Loss decides packet fates with a seeded generator. The zero value loses
// nothing.
type Loss struct {
	// Random is the independent loss probability (0–1), used when GE is
	// the zero model.
	Random float64
	GE     GilbertElliott
	bad    bool
}

// Drop reports whether the next packet is lost.
func (l *Loss) Drop(rng *rand.Rand) bool {
	if l.GE == (GilbertElliott{}) {
		return l.Random > 0 && rng.Float64() < l.Random
	}
	var lost bool
	if l.bad {
		lost = rng.Float64() < l.GE.LossBad
		if rng.Float64() < l.GE.R {
			l.bad = false
		}
	} else {
		lost = rng.Float64() < l.GE.LossGood
		if rng.Float64() < l.GE.P {
			l.bad = true
		}
	}
	return lost
}

// Dist is a delay-jitter distribution.
type Dist int

// Distributions of Delay.Jitter.
const (
	Uniform Dist = iota // spread evenly over delay ± jitter
	Normal              // normal with mean delay and standard deviation jitter (netem "distribution normal")
)

// Delay draws per-packet one-way delays: Base plus jitter from Dist, never
// below zero.
type Delay struct {
	Base, Jitter time.Duration
	Dist         Dist
}

// Draw returns one packet's delay.
func (d Delay) Draw(rng *rand.Rand) time.Duration {
	if d.Jitter <= 0 {
		return max(d.Base, 0)
	}
	var x float64
	switch d.Dist {
	case Normal:
		x = rng.NormFloat64()
	default:
		x = rng.Float64()*2 - 1
	}
	v := float64(d.Base) + x*float64(d.Jitter)
	return time.Duration(max(math.Round(v), 0))
}
