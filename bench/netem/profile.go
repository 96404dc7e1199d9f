// Package netem models what Linux's netem and tbf queueing disciplines do
// to packets — random and Gilbert-Elliott loss, delay with normally
// distributed jitter (reordering as netem does), a token-bucket rate with a
// bounded queue — in user space and deterministically from a seed. The
// benchmark bridge (bench/cmd/callbench) applies one Link per direction to
// the frames it copies between two network namespaces, on machines without
// sch_netem.
package netem

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrSpec wraps every profile parse error.
var ErrSpec = errors.New("netem: bad profile")

// Profile is the impairment of one direction. The zero value passes every
// packet at once.
type Profile struct {
	// Loss is the probability of dropping a packet at random (0–1).
	Loss float64
	// GEP and GER are the Gilbert-Elliott transition probabilities per
	// packet, good→bad and bad→good; the model is on when GEP > 0. GEBad
	// is the loss probability in the bad state (default 1), GEGood in the
	// good state (default 0), as netem's "loss gemodel p r 1-h 1-k".
	GEP, GER, GEBad, GEGood float64
	// Delay is the mean one-way delay, Jitter the standard deviation of a
	// normal distribution around it (netem "delay D J distribution
	// normal"); negative draws become 0. Packets whose delays differ by more
	// than their spacing are reordered.
	Delay, Jitter time.Duration
	// RateBps caps the throughput (bits per second, 0 = none). Packets wait
	// in a FIFO holding at most Queue worth of bytes at that rate (default
	// 200 ms); arrivals that would exceed it are dropped at the tail. Burst
	// is the token bucket's depth in bytes (default 3000: two full frames).
	RateBps int64
	Queue   time.Duration
	Burst   int
	// Seed makes the loss and delay draws reproducible.
	Seed int64
}

// DefaultQueue and DefaultBurst apply when a rate is set without them.
const (
	DefaultQueue = 200 * time.Millisecond
	DefaultBurst = 3000
)

// Active reports whether the profile changes anything.
func (p Profile) Active() bool {
	return p.Loss > 0 || p.GEP > 0 || p.Delay > 0 || p.Jitter > 0 || p.RateBps > 0
}

// MeanLoss is the long-run loss probability the loss models give.
func (p Profile) MeanLoss() float64 {
	ge := 0.0
	if p.GEP > 0 {
		bad := p.GEP / (p.GEP + p.GER)
		ge = bad*p.geBad() + (1-bad)*p.GEGood
	}
	return 1 - (1-p.Loss)*(1-ge)
}

func (p Profile) geBad() float64 {
	if p.GEBad == 0 {
		return 1
	}
	return p.GEBad
}

// QueueBytes is the tail-drop limit of the rate queue in bytes.
func (p Profile) QueueBytes() int64 {
	q := p.Queue
	if q == 0 {
		q = DefaultQueue
	}
	return p.RateBps * int64(q) / int64(8*time.Second)
}

// String gives the profile back in ParseProfile's syntax.
func (p Profile) String() string {
	var parts []string
	pct := func(v float64) string { return strconv.FormatFloat(v*100, 'g', -1, 64) + "%" }
	if p.Loss > 0 {
		parts = append(parts, "loss="+pct(p.Loss))
	}
	if p.GEP > 0 {
		ge := "ge=" + pct(p.GEP) + "/" + pct(p.GER)
		if p.GEBad != 0 || p.GEGood != 0 {
			ge += "/" + pct(p.geBad()) + "/" + pct(p.GEGood)
		}
		parts = append(parts, ge)
	}
	if p.Delay > 0 {
		parts = append(parts, "delay="+p.Delay.String())
	}
	if p.Jitter > 0 {
		parts = append(parts, "jitter="+p.Jitter.String())
	}
	if p.RateBps > 0 {
		if p.RateBps%1000 == 0 {
			parts = append(parts, "rate="+strconv.FormatInt(p.RateBps/1000, 10)+"kbps")
		} else {
			parts = append(parts, "rate="+strconv.FormatInt(p.RateBps, 10)+"bps")
		}
		if p.Queue > 0 {
			parts = append(parts, "queue="+p.Queue.String())
		}
		if p.Burst > 0 {
			parts = append(parts, "burst="+strconv.Itoa(p.Burst))
		}
	}
	if p.Seed != 0 {
		parts = append(parts, "seed="+strconv.FormatInt(p.Seed, 10))
	}
	if len(parts) == 0 {
		return "clean"
	}
	return strings.Join(parts, ",")
}

// ParseProfile reads "key=value,…" with keys loss (5%), ge (p%/r%[/bad%/good%]),
// delay (40ms), jitter (20ms), rate (300kbps, 1.5mbps, 64000bps), queue
// (200ms), burst (bytes) and seed. "clean" or "" is no impairment.
func ParseProfile(spec string) (Profile, error) {
	var p Profile
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "clean" || spec == "none" {
		return p, nil
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || v == "" {
			return Profile{}, fmt.Errorf("%w: %q: want key=value", ErrSpec, kv)
		}
		if seen[k] {
			return Profile{}, fmt.Errorf("%w: %s given twice", ErrSpec, k)
		}
		seen[k] = true
		var err error
		switch k {
		case "loss":
			p.Loss, err = parseProb(v)
		case "ge":
			err = p.parseGE(v)
		case "delay":
			p.Delay, err = parseDur(v)
		case "jitter":
			p.Jitter, err = parseDur(v)
		case "rate":
			p.RateBps, err = parseRate(v)
		case "queue":
			p.Queue, err = parseDur(v)
		case "burst":
			p.Burst, err = strconv.Atoi(v)
			if err == nil && p.Burst < 0 {
				err = errors.New("negative")
			}
		case "seed":
			p.Seed, err = strconv.ParseInt(v, 10, 64)
		default:
			return Profile{}, fmt.Errorf("%w: unknown key %q", ErrSpec, k)
		}
		if err != nil {
			return Profile{}, fmt.Errorf("%w: %s=%q: %v", ErrSpec, k, v, err)
		}
	}
	if (seen["queue"] || seen["burst"]) && p.RateBps == 0 {
		return Profile{}, fmt.Errorf("%w: queue and burst need a rate", ErrSpec)
	}
	return p, nil
}

func (p *Profile) parseGE(v string) error {
	fs := strings.Split(v, "/")
	if len(fs) != 2 && len(fs) != 4 {
		return errors.New("want p%/r% or p%/r%/bad%/good%")
	}
	var ps [4]float64
	for i, f := range fs {
		x, err := parseProb(f)
		if err != nil {
			return err
		}
		ps[i] = x
	}
	if ps[0] == 0 || ps[1] == 0 {
		return errors.New("p and r must be above 0")
	}
	p.GEP, p.GER = ps[0], ps[1]
	if len(fs) == 4 {
		p.GEBad, p.GEGood = ps[2], ps[3]
		if p.GEBad == 0 {
			return errors.New("a bad state that loses nothing")
		}
	}
	return nil
}

func parseProb(v string) (float64, error) {
	x, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err != nil {
		return 0, errors.New("want a percentage such as 5%")
	}
	if x < 0 || x > 100 {
		return 0, errors.New("out of range 0–100%")
	}
	return x / 100, nil
}

func parseDur(v string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		v = strconv.FormatFloat(n, 'f', -1, 64) + "ms"
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errors.New("want a duration such as 40ms")
	}
	return d, nil
}

const maxRateBps = 100e9

func parseRate(v string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"kbps", 1e3}, {"kbit", 1e3}, {"mbps", 1e6}, {"mbit", 1e6}, {"bps", 1}, {"bit", 1}}
	lv := strings.ToLower(v)
	for _, u := range units {
		if num, ok := strings.CutSuffix(lv, u.suffix); ok {
			x, err := strconv.ParseFloat(num, 64)
			// At least 1 bit/s (less would read as no cap), at most a
			// rate an int64 holds with room (100 Gbit/s).
			if err != nil || !(x*u.mult >= 1 && x*u.mult <= maxRateBps) {
				break
			}
			return int64(x * u.mult), nil
		}
	}
	return 0, errors.New("want a rate such as 300kbps")
}
