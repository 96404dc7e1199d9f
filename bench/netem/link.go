package netem

import (
	"math"
	"math/rand"
	"sync"
	"time"
)

// Verdict is what a Link decided for one packet.
type Verdict int

// The verdicts.
const (
	Pass      Verdict = iota // deliver at the release time
	DropLoss                 // lost by the random or Gilbert-Elliott model
	DropQueue                // tail-dropped: the rate queue was full
)

// Counters are what a Link did; Delay* describe the total added delay of
// passed packets (queueing plus delay draw).
type Counters struct {
	Packets    uint64  `json:"packets"`
	Bytes      uint64  `json:"bytes"`
	Passed     uint64  `json:"passed"`
	LostRandom uint64  `json:"lostRandom"` // random model
	LostBurst  uint64  `json:"lostBurst"`  // Gilbert-Elliott model
	LostQueue  uint64  `json:"lostQueue"`  // tail drops behind the rate cap
	Bursts     uint64  `json:"bursts"`     // runs of consecutive model losses
	MaxBurst   uint64  `json:"maxBurst"`   // longest run
	DelayMean  float64 `json:"delayMeanMs"`
	DelayStd   float64 `json:"delayStdMs"`
	DelayMax   float64 `json:"delayMaxMs"`
	QueueMaxMs float64 `json:"queueMaxMs"` // longest wait behind the rate cap
	delaySum   float64
	delaySq    float64
}

// LossPct is the share of packets the Link dropped, in percent.
func (c Counters) LossPct() float64 {
	if c.Packets == 0 {
		return 0
	}
	return 100 * float64(c.LostRandom+c.LostBurst+c.LostQueue) / float64(c.Packets)
}

// Link applies one Profile to the packets of one direction, in order: the
// loss models (a lost packet costs no bandwidth), the rate cap and its
// queue, then the delay draw. Safe for concurrent use.
type Link struct {
	mu      sync.Mutex
	p       Profile
	lossRng *rand.Rand // loss draws and delay draws come from separate
	delRng  *rand.Rand // streams so one setting does not move the other
	geBad   bool
	run     uint64    // current run of consecutive model losses
	free    time.Time // when the rate cap has sent everything queued
	c       Counters
}

// NewLink returns a Link for p. Two Links with equal profiles and seeds
// make the same decisions for the same packet sequence.
func NewLink(p Profile) *Link {
	return &Link{
		p:       withLinkDefaults(p),
		lossRng: rand.New(rand.NewSource(p.Seed*2 + 1)),
		delRng:  rand.New(rand.NewSource(p.Seed*2 + 2)),
	}
}

// withLinkDefaults fills in a rate cap's queue and burst.
func withLinkDefaults(p Profile) Profile {
	if p.RateBps > 0 {
		if p.Queue == 0 {
			p.Queue = DefaultQueue
		}
		if p.Burst == 0 {
			p.Burst = DefaultBurst
		}
	}
	return p
}

// Profile returns the Link's profile with defaults filled in.
func (l *Link) Profile() Profile { return l.p }

// Admit decides the fate of a packet of size bytes arriving at now and, if
// it passes, when it leaves the link.
func (l *Link) Admit(now time.Time, size int) (time.Time, Verdict) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.c.Packets++
	l.c.Bytes += uint64(size)

	if v := l.lose(); v != Pass {
		return time.Time{}, v
	}
	l.endRun()

	out := now
	if l.p.RateBps > 0 {
		// Token bucket as virtual time: an idle link has saved up at most
		// Burst bytes of credit; the packet leaves once the bytes ahead of
		// it and its own are paid for at the rate.
		credit := l.txTime(l.p.Burst)
		start := l.free
		if floor := now.Add(-credit); start.Before(floor) {
			start = floor
		}
		done := start.Add(l.txTime(size))
		// Byte-limited FIFO: the bytes ahead plus this packet must fit
		// in Queue worth of the rate.
		if done.Sub(now) > l.p.Queue {
			l.c.LostQueue++
			return time.Time{}, DropQueue
		}
		l.free = done
		if done.After(now) {
			out = done
		}
		if w := ms(out.Sub(now)); w > l.c.QueueMaxMs {
			l.c.QueueMaxMs = w
		}
	}
	if l.p.Delay > 0 || l.p.Jitter > 0 {
		d := float64(l.p.Delay) + float64(l.p.Jitter)*l.delRng.NormFloat64()
		if d > 0 {
			out = out.Add(time.Duration(d))
		}
	}
	added := ms(out.Sub(now))
	l.c.Passed++
	l.c.delaySum += added
	l.c.delaySq += added * added
	if added > l.c.DelayMax {
		l.c.DelayMax = added
	}
	return out, Pass
}

// lose runs the loss models for one packet.
func (l *Link) lose() Verdict {
	if l.p.GEP > 0 {
		// netem's order: move between states first, then lose by the
		// new state's probability.
		if l.geBad {
			if l.lossRng.Float64() < l.p.GER {
				l.geBad = false
			}
		} else if l.lossRng.Float64() < l.p.GEP {
			l.geBad = true
		}
		pl := l.p.GEGood
		if l.geBad {
			pl = l.p.geBad()
		}
		if l.lossRng.Float64() < pl {
			l.c.LostBurst++
			l.countRun()
			return DropLoss
		}
	}
	if l.p.Loss > 0 && l.lossRng.Float64() < l.p.Loss {
		l.c.LostRandom++
		l.countRun()
		return DropLoss
	}
	return Pass
}

func (l *Link) countRun() {
	l.run++
	if l.run == 1 {
		l.c.Bursts++
	}
	if l.run > l.c.MaxBurst {
		l.c.MaxBurst = l.run
	}
}

func (l *Link) endRun() { l.run = 0 }

func (l *Link) txTime(bytes int) time.Duration {
	return time.Duration(int64(bytes) * 8 * int64(time.Second) / l.p.RateBps)
}

// Counters returns a snapshot of what the Link did.
func (l *Link) Counters() Counters {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.c
	if c.Passed > 0 {
		n := float64(c.Passed)
		c.DelayMean = c.delaySum / n
		c.DelayStd = math.Sqrt(math.Max(0, c.delaySq/n-c.DelayMean*c.DelayMean))
	}
	return c
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
