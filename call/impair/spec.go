// Package impair degrades a network path in-process: random or bursty
// (Gilbert-Elliott) loss, delay with uniform or normal jitter, and a
// bandwidth cap with a bounded queue, applied to the
// packets a pion/transport Net's UDP sockets send. It lets anyone reproduce
// a bad network on a laptop without root or tc: the softphone wraps the
// network of its WebRTC session with it (--impair), so the media path is
// impaired and the signaling WebSocket is not.
package impair

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/softphone/softphone/internal/netem"
)

// ErrBadSpec is wrapped by every error of Parse.
var ErrBadSpec = errors.New("bad impairment spec")

// Limits of the values Parse accepts: beyond them a spec is a typo.
const (
	maxDelay = 10 * time.Second
	minRate  = 1_000          // bit/s
	maxRate  = 10_000_000_000 // bit/s
	// DefaultQueue is how much sending time the rate cap's queue holds
	// when the spec sets no queue: packets that would wait longer are
	// dropped (tail drop), as at a router with a bounded buffer.
	DefaultQueue = 250 * time.Millisecond
)

// Config is one impairment, applied to what the wrapped sockets send.
// The zero value impairs nothing.
type Config struct {
	// Loss is the share of packets dropped at random, in percent (0–100).
	Loss float64
	// GE, when set instead of Loss, drops packets in bursts: the
	// Gilbert-Elliott model of netem's "loss gemodel" (probabilities 0–1).
	GE netem.GilbertElliott
	// Delay is added to every packet; Jitter spreads it per packet, over
	// [Delay-Jitter, Delay+Jitter] (Dist uniform) or as a normal
	// distribution with standard deviation Jitter (Dist normal, netem's
	// "distribution normal"), never below zero. As with netem, packets
	// whose delays differ by more than their spacing are reordered.
	Delay, Jitter time.Duration
	Dist          netem.Dist
	// Rate caps the throughput in bits per second (0: no cap). Packets
	// queue behind the cap; Queue bounds the wait (default DefaultQueue)
	// and packets beyond it are dropped.
	Rate  int64
	Queue time.Duration
	// Seed makes the random loss and jitter reproducible (0: random).
	Seed uint64
}

// IsZero reports whether c impairs nothing.
func (c Config) IsZero() bool {
	return c.Loss == 0 && c.GE == (netem.GilbertElliott{}) && c.Delay == 0 && c.Jitter == 0 && c.Rate == 0
}

// keys are the spec's keys in canonical order, for String and errors.
var keys = []string{"loss", "ge", "delay", "jitter", "dist", "rate", "queue", "seed"}

// Parse reads a spec such as "loss=5%,delay=80ms,jitter=20ms,rate=300kbps":
// comma-separated key=value pairs, each optional, in any order. Keys:
//
//	loss    percent of packets dropped: 5%, 0.5% or 5 (0–100)
//	ge      bursty loss instead, Gilbert-Elliott P/R[/BAD[/GOOD]] as netem's
//	        "loss gemodel": P the chance per packet to enter the bad state,
//	        R to leave it, BAD and GOOD the loss in each state (default
//	        100% and 0%): ge=1%/30% loses 3.2 % in bursts of 3.3 on average
//	delay   added one-way delay: 80ms, 1.5s, or a number of milliseconds
//	jitter  delay spread around delay, same units
//	dist    jitter distribution: uniform (±jitter, default) or normal
//	        (standard deviation jitter)
//	rate    bandwidth cap: 300kbps, 1.5mbps, 64000bps (also kbit, mbit)
//	queue   longest wait behind the rate cap before tail drop (default 250ms)
//	seed    integer seed for reproducible loss and jitter patterns
//
// The empty spec is no impairment. Errors name the key and value at fault.
func Parse(spec string) (Config, error) {
	var c Config
	seen := map[string]bool{}
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok {
			return Config{}, fmt.Errorf("%w: %q is not key=value (keys: %s)", ErrBadSpec, part, strings.Join(keys, ", "))
		}
		if seen[k] {
			return Config{}, fmt.Errorf("%w: %s given twice", ErrBadSpec, k)
		}
		seen[k] = true
		var err error
		switch k {
		case "loss":
			c.Loss, err = parseLoss(v)
		case "ge":
			c.GE, err = parseGE(v)
		case "dist":
			switch strings.ToLower(v) {
			case "uniform":
				c.Dist = netem.Uniform
			case "normal":
				c.Dist = netem.Normal
			default:
				err = errors.New("want uniform or normal")
			}
		case "delay":
			c.Delay, err = parseDuration(v)
		case "jitter":
			c.Jitter, err = parseDuration(v)
		case "rate":
			c.Rate, err = parseRate(v)
		case "queue":
			c.Queue, err = parseDuration(v)
			if err == nil && c.Queue == 0 {
				err = errors.New("want a duration above 0 such as 250ms")
			}
		case "seed":
			c.Seed, err = strconv.ParseUint(v, 10, 64)
			if err != nil {
				err = errors.New("want a non-negative integer")
			}
		default:
			return Config{}, fmt.Errorf("%w: unknown key %q (keys: %s)", ErrBadSpec, k, strings.Join(keys, ", "))
		}
		if err != nil {
			return Config{}, fmt.Errorf("%w: %s=%q: %v", ErrBadSpec, k, v, err)
		}
	}
	if seen["loss"] && seen["ge"] {
		return Config{}, fmt.Errorf("%w: loss and ge both set (ge is loss in bursts; give one)", ErrBadSpec)
	}
	return c, nil
}

// parseGE reads P/R[/BAD[/GOOD]] percentages.
func parseGE(v string) (netem.GilbertElliott, error) {
	parts := strings.Split(v, "/")
	if len(parts) < 2 || len(parts) > 4 {
		return netem.GilbertElliott{}, errors.New("want P/R[/BAD[/GOOD]] such as 1%/30%")
	}
	vals := []float64{0, 0, 100, 0}
	for i, p := range parts {
		f, err := parseLoss(p)
		if err != nil {
			return netem.GilbertElliott{}, err
		}
		vals[i] = f
	}
	if vals[1] == 0 {
		return netem.GilbertElliott{}, errors.New("the chance R to leave the bad state must be above 0%")
	}
	return netem.GilbertElliott{P: vals[0] / 100, R: vals[1] / 100, LossBad: vals[2] / 100, LossGood: vals[3] / 100}, nil
}

func parseLoss(v string) (float64, error) {
	num := strings.TrimSpace(strings.TrimSuffix(v, "%"))
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("want a percentage such as 5%")
	}
	if f < 0 || f > 100 {
		return 0, errors.New("want a percentage between 0% and 100%")
	}
	return f, nil
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		// A bare number is milliseconds, as in most network tools.
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(maxDelay/time.Millisecond) {
			return 0, errors.New("want a duration such as 80ms or 1.5s")
		}
		d = time.Duration(f * float64(time.Millisecond))
	}
	if d < 0 || d > maxDelay {
		return 0, fmt.Errorf("want a duration between 0 and %v", maxDelay)
	}
	return d, nil
}

// rateUnits maps unit suffixes (lower case, longest first) to bits per second.
var rateUnits = []struct {
	suffix string
	mult   float64
}{
	{"gbps", 1e9}, {"mbps", 1e6}, {"kbps", 1e3}, {"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bps", 1}, {"bit", 1},
}

func parseRate(v string) (int64, error) {
	lv := strings.ToLower(v)
	for _, u := range rateUnits {
		num, ok := strings.CutSuffix(lv, u.suffix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, errors.New("want a rate such as 300kbps or 1.5mbps")
		}
		bps := f * u.mult
		if bps < minRate || bps > maxRate {
			return 0, errors.New("want a rate between 1kbps and 10gbps")
		}
		return int64(math.Round(bps)), nil
	}
	return 0, errors.New("want a rate with a unit, such as 300kbps, 1.5mbps or 64000bps")
}

// String renders c as a spec Parse reads back to the same Config.
func (c Config) String() string {
	var parts []string
	if c.Loss != 0 {
		parts = append(parts, "loss="+strconv.FormatFloat(c.Loss, 'g', -1, 64)+"%")
	}
	if c.GE != (netem.GilbertElliott{}) {
		pct := func(f float64) string { return strconv.FormatFloat(f*100, 'g', -1, 64) + "%" }
		ge := "ge=" + pct(c.GE.P) + "/" + pct(c.GE.R)
		if c.GE.LossBad != 1 || c.GE.LossGood != 0 {
			ge += "/" + pct(c.GE.LossBad) + "/" + pct(c.GE.LossGood)
		}
		parts = append(parts, ge)
	}
	if c.Delay != 0 {
		parts = append(parts, "delay="+c.Delay.String())
	}
	if c.Jitter != 0 {
		parts = append(parts, "jitter="+c.Jitter.String())
	}
	if c.Dist == netem.Normal {
		parts = append(parts, "dist=normal")
	}
	if c.Rate != 0 {
		switch {
		case c.Rate%1_000_000 == 0:
			parts = append(parts, fmt.Sprintf("rate=%dmbps", c.Rate/1_000_000))
		case c.Rate%1000 == 0:
			parts = append(parts, fmt.Sprintf("rate=%dkbps", c.Rate/1000))
		default:
			parts = append(parts, fmt.Sprintf("rate=%dbps", c.Rate))
		}
	}
	if c.Queue != 0 {
		parts = append(parts, "queue="+c.Queue.String())
	}
	if c.Seed != 0 {
		parts = append(parts, "seed="+strconv.FormatUint(c.Seed, 10))
	}
	return strings.Join(parts, ",")
}
