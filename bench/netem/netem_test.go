package netem

import (
	"errors"
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestParseProfile(t *testing.T) {
	tests := []struct {
		spec string
		want Profile
	}{
		{"", Profile{}},
		{"clean", Profile{}},
		{"loss=5%", Profile{Loss: 0.05}},
		{"loss=0.5", Profile{Loss: 0.005}},
		{"ge=1%/30%", Profile{GEP: 0.01, GER: 0.3}},
		{"ge=1%/30%/80%/1%", Profile{GEP: 0.01, GER: 0.3, GEBad: 0.8, GEGood: 0.01}},
		{"delay=40ms,jitter=20ms", Profile{Delay: 40 * time.Millisecond, Jitter: 20 * time.Millisecond}},
		{"delay=80", Profile{Delay: 80 * time.Millisecond}},
		{"rate=300kbps,queue=200ms", Profile{RateBps: 300000, Queue: 200 * time.Millisecond}},
		{"rate=1.5mbit,burst=4000,seed=7", Profile{RateBps: 1500000, Burst: 4000, Seed: 7}},
		{"loss=5%,delay=80ms,jitter=20ms,rate=500kbps", Profile{Loss: 0.05, Delay: 80 * time.Millisecond, Jitter: 20 * time.Millisecond, RateBps: 500000}},
	}
	for _, tt := range tests {
		got, err := ParseProfile(tt.spec)
		if err != nil {
			t.Errorf("ParseProfile(%q): %v", tt.spec, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseProfile(%q) = %+v, want %+v", tt.spec, got, tt.want)
		}
		again, err := ParseProfile(got.String())
		if err != nil || again != got {
			t.Errorf("round trip of %q via %q = %+v, %v", tt.spec, got.String(), again, err)
		}
	}
}

func TestParseProfileErrors(t *testing.T) {
	for _, spec := range []string{
		"loss", "loss=abc", "loss=150%", "ge=1%", "ge=0%/30%", "ge=1%/30%/0%/0%",
		"delay=-5ms", "jitter=x", "rate=fast", "rate=0kbps", "queue=100ms",
		"burst=-1,rate=1mbps", "seed=z", "colour=red", "loss=1%,loss=2%",
	} {
		if _, err := ParseProfile(spec); !errors.Is(err, ErrSpec) {
			t.Errorf("ParseProfile(%q) = %v, want ErrSpec", spec, err)
		}
	}
}

// run sends n packets of size bytes every gap through a Link for p.
func run(p Profile, n, size int, gap time.Duration) ([]Verdict, []time.Duration, Counters) {
	l := NewLink(p)
	vs := make([]Verdict, n)
	ds := make([]time.Duration, n)
	for i := range n {
		now := t0.Add(time.Duration(i) * gap)
		at, v := l.Admit(now, size)
		vs[i] = v
		if v == Pass {
			ds[i] = at.Sub(now)
		}
	}
	return vs, ds, l.Counters()
}

func TestRandomLossRate(t *testing.T) {
	for _, loss := range []float64{0.05, 0.10} {
		_, _, c := run(Profile{Loss: loss, Seed: 3}, 200000, 100, 20*time.Millisecond)
		if got := c.LossPct() / 100; math.Abs(got-loss) > 0.003 {
			t.Errorf("loss %.2f: measured %.4f", loss, got)
		}
		if c.LostBurst != 0 || c.LostQueue != 0 {
			t.Errorf("loss %.2f: burst/queue losses %d/%d", loss, c.LostBurst, c.LostQueue)
		}
	}
}

func TestGilbertElliottBursts(t *testing.T) {
	p := Profile{GEP: 0.01, GER: 0.30, Seed: 9}
	vs, _, c := run(p, 400000, 100, 20*time.Millisecond)
	want := p.MeanLoss() // 1/31 ≈ 3.2 %
	if got := c.LossPct() / 100; math.Abs(got-want) > 0.003 {
		t.Errorf("mean loss %.4f, want %.4f", got, want)
	}
	// Mean burst length of the bad state with total loss there: 1/r.
	var runs, lost, cur int
	for _, v := range vs {
		if v == DropLoss {
			cur++
			lost++
			continue
		}
		if cur > 0 {
			runs++
		}
		cur = 0
	}
	mean := float64(lost) / float64(runs)
	if math.Abs(mean-1/p.GER) > 0.25 {
		t.Errorf("mean burst %.2f packets, want %.2f", mean, 1/p.GER)
	}
	if c.Bursts != uint64(runs) || c.MaxBurst < 8 {
		t.Errorf("counters: %d bursts (counted %d), max %d", c.Bursts, runs, c.MaxBurst)
	}
	// Random loss at the same mean has much shorter runs.
	vsR, _, _ := run(Profile{Loss: want, Seed: 9}, 400000, 100, 20*time.Millisecond)
	if r := meanRun(vsR); r > 1.1 || r >= mean/2 {
		t.Errorf("random loss mean run %.2f vs GE %.2f", r, mean)
	}
}

func meanRun(vs []Verdict) float64 {
	var runs, lost, cur int
	for _, v := range append(vs, Pass) {
		if v != Pass {
			cur++
			lost++
			continue
		}
		if cur > 0 {
			runs++
		}
		cur = 0
	}
	return float64(lost) / float64(runs)
}

func TestDelayNormalJitter(t *testing.T) {
	p := Profile{Delay: 40 * time.Millisecond, Jitter: 20 * time.Millisecond, Seed: 5}
	_, ds, c := run(p, 100000, 100, 20*time.Millisecond)
	var in1, in2 int // within one and two standard deviations
	for _, d := range ds {
		if d < 0 {
			t.Fatalf("negative delay %v", d)
		}
		dev := math.Abs(ms(d) - 40)
		if dev <= 20 {
			in1++
		}
		if dev <= 40 {
			in2++
		}
	}
	n := float64(len(ds))
	if f := float64(in1) / n; math.Abs(f-0.683) > 0.01 {
		t.Errorf("%.3f within 1σ, want 0.683", f)
	}
	// The 2.3 % of draws below 0 become 0 = exactly 2σ below the mean.
	if f := float64(in2) / n; math.Abs(f-0.977) > 0.01 {
		t.Errorf("%.3f within 2σ, want 0.977", f)
	}
	// Truncation at 0 lifts the mean a little (≈ +0.17 ms) and narrows σ.
	if math.Abs(c.DelayMean-40.2) > 0.5 || c.DelayStd < 19 || c.DelayStd > 20.5 {
		t.Errorf("mean %.2f ms, std %.2f ms", c.DelayMean, c.DelayStd)
	}
}

func TestJitterReorders(t *testing.T) {
	p := Profile{Delay: 40 * time.Millisecond, Jitter: 20 * time.Millisecond, Seed: 1}
	l := NewLink(p)
	var s Schedule[int]
	const n = 20000
	var out []int
	for i := range n {
		now := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		out = s.Due(now, out)
		at, _ := l.Admit(now, 100)
		s.Add(at, i)
	}
	out = s.Due(t0.Add(time.Hour), out)
	if len(out) != n {
		t.Fatalf("released %d of %d", len(out), n)
	}
	// Two packets 20 ms apart swap when their delay draws differ by more
	// than 20 ms: P(N(0, 2σ²) > 20 ms) = P(Z > 0.707) ≈ 0.24.
	frac := float64(s.Reordered()) / n
	if frac < 0.15 || frac > 0.35 {
		t.Errorf("reordered share %.3f", frac)
	}
	// Without jitter nothing is reordered.
	l = NewLink(Profile{Delay: 40 * time.Millisecond})
	var s2 Schedule[int]
	for i := range 1000 {
		at, _ := l.Admit(t0.Add(time.Duration(i)*time.Millisecond), 100)
		s2.Add(at, i)
	}
	got := s2.Due(t0.Add(time.Hour), nil)
	for i, v := range got {
		if v != i {
			t.Fatalf("fixed delay reordered: position %d holds %d", i, v)
		}
	}
}

func TestRateCapAndQueue(t *testing.T) {
	p := Profile{RateBps: 300000, Queue: 200 * time.Millisecond}
	// Offer twice the rate: 1250-byte packets every 16.7 ms = 600 kbit/s.
	const n, size = 3000, 1250
	gap := time.Second / 60
	l := NewLink(p)
	var last time.Time
	var delivered int
	for i := range n {
		now := t0.Add(time.Duration(i) * gap)
		at, v := l.Admit(now, size)
		if v != Pass {
			continue
		}
		delivered += size
		if w := at.Sub(now); w > p.Queue {
			t.Fatalf("packet %d waited %v, queue is %v", i, w, p.Queue)
		}
		if at.Before(last) {
			t.Fatalf("rate cap reordered packet %d", i)
		}
		last = at
	}
	dur := last.Sub(t0).Seconds()
	if got := float64(delivered*8) / dur; math.Abs(got-300000)/300000 > 0.02 {
		t.Errorf("throughput %.0f bit/s, want 300000", got)
	}
	c := l.Counters()
	if share := float64(c.LostQueue) / n; math.Abs(share-0.5) > 0.02 {
		t.Errorf("tail drops %.3f of packets, want ≈ 0.5", share)
	}
	if c.QueueMaxMs < 150 || c.QueueMaxMs > 200 {
		t.Errorf("longest queue wait %.1f ms", c.QueueMaxMs)
	}

	// Below the rate: nothing dropped, waits of one packet's transmission at most.
	_, ds, c2 := run(p, 1000, 100, 20*time.Millisecond) // 40 kbit/s
	if c2.LostQueue != 0 {
		t.Errorf("%d drops below the rate", c2.LostQueue)
	}
	for _, d := range ds {
		if d > 3*time.Millisecond {
			t.Fatalf("wait %v below the rate", d)
		}
	}
}

func TestRateBurstCredit(t *testing.T) {
	// An idle link sends Burst bytes back to back, then paces.
	l := NewLink(Profile{RateBps: 100000, Burst: 3000})
	var waits []time.Duration
	for range 5 {
		at, v := l.Admit(t0, 1000)
		if v != Pass {
			t.Fatal("dropped within the queue")
		}
		waits = append(waits, at.Sub(t0))
	}
	if waits[0] != 0 || waits[1] != 0 || waits[2] != 0 {
		t.Errorf("burst not sent at once: %v", waits)
	}
	if waits[3] != 80*time.Millisecond || waits[4] != 160*time.Millisecond {
		t.Errorf("after the burst want 80 ms per 1000 bytes: %v", waits)
	}
}

func TestDeterministicSeeds(t *testing.T) {
	p := Profile{Loss: 0.05, GEP: 0.01, GER: 0.3, Delay: 40 * time.Millisecond, Jitter: 20 * time.Millisecond, Seed: 42}
	v1, d1, _ := run(p, 5000, 200, 20*time.Millisecond)
	v2, d2, _ := run(p, 5000, 200, 20*time.Millisecond)
	for i := range v1 {
		if v1[i] != v2[i] || d1[i] != d2[i] {
			t.Fatalf("same seed differs at packet %d", i)
		}
	}
	p.Seed = 43
	v3, d3, _ := run(p, 5000, 200, 20*time.Millisecond)
	same := true
	for i := range v1 {
		if v1[i] != v3[i] || d1[i] != d3[i] {
			same = false
			break
		}
	}
	if same {
		t.Error("different seeds gave the same pattern")
	}
}

func TestCleanPassesAtOnce(t *testing.T) {
	vs, ds, c := run(Profile{}, 100, 1500, time.Millisecond)
	for i := range vs {
		if vs[i] != Pass || ds[i] != 0 {
			t.Fatalf("packet %d: %v after %v", i, vs[i], ds[i])
		}
	}
	if c.Passed != 100 || c.LossPct() != 0 {
		t.Errorf("counters %+v", c)
	}
}

// FuzzParseProfile: any accepted spec prints back to an equal profile,
// and nothing panics on arbitrary input.
func FuzzParseProfile(f *testing.F) {
	for _, s := range []string{"", "clean", "loss=5%", "ge=1%/30%/80%/1%", "delay=40ms,jitter=20ms",
		"rate=300kbps,queue=200ms,burst=3000", "loss=5%,delay=80,jitter=20ms,rate=0.5mbit,seed=-3", "loss=,x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		p, err := ParseProfile(spec)
		if err != nil {
			return
		}
		again, err := ParseProfile(p.String())
		if err != nil {
			t.Fatalf("%q → %q: %v", spec, p.String(), err)
		}
		if again.String() != p.String() {
			t.Fatalf("%q → %q → %q", spec, p.String(), again.String())
		}
	})
}
