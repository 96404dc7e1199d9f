package impair

import (
	"encoding/binary"
	"errors"
	"math"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder is a fake network behind a shaper: it notes when each packet
// would have hit the wire.
type recorder struct {
	mu   sync.Mutex
	at   []time.Time
	size []int
	ids  []uint64
}

func (r *recorder) send(p *packet) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at = append(r.at, time.Now())
	r.size = append(r.size, len(p.b))
	r.ids = append(r.ids, binary.BigEndian.Uint64(p.b))
	return nil
}

func (r *recorder) snapshot() ([]time.Time, []int, []uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.at), slices.Clone(r.size), slices.Clone(r.ids)
}

func newTestShaper(t *testing.T, c Config) (*shaper, *recorder) {
	t.Helper()
	s := newShaper(c, 1)
	r := &recorder{}
	s.send = r.send
	t.Cleanup(s.close)
	return s, r
}

func payload(id uint64, size int) []byte {
	b := make([]byte, max(size, 8))
	binary.BigEndian.PutUint64(b, id)
	return b
}

func TestLossFraction(t *testing.T) {
	for _, loss := range []float64{0, 1, 10, 30, 100} {
		s, r := newTestShaper(t, Config{Loss: loss, Seed: 7})
		const n = 20000
		for i := range n {
			if _, err := s.submit(payload(uint64(i), 100), nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		at, _, _ := r.snapshot()
		got := 100 * float64(n-len(at)) / n
		// Binomial: 3 standard deviations at n=20000 is < 1 point.
		if math.Abs(got-loss) > 1 {
			t.Errorf("loss=%g%%: dropped %.2f%% of %d packets", loss, got, n)
		}
		if int(s.lost.Load())+len(at) != n {
			t.Errorf("loss=%g%%: counters %d lost + %d sent != %d", loss, s.lost.Load(), len(at), n)
		}
	}
}

// TestGilbertElliottBursts: ge=1%/30% loses 3.2 % of the packets in runs
// of 3.3 on average, where loss=3.2% would lose them one at a time.
func TestGilbertElliottBursts(t *testing.T) {
	for _, tc := range []struct {
		spec      string
		loss, run float64
	}{
		{"ge=1%/30%", 100 * 0.01 / 0.31, 1 / 0.30},
		{"loss=3.2%", 3.2, 1 / (1 - 0.032)},
	} {
		c, err := Parse(tc.spec + ",seed=3")
		if err != nil {
			t.Fatal(err)
		}
		s, r := newTestShaper(t, c)
		const n = 100000
		for i := range n {
			if _, err := s.submit(payload(uint64(i), 100), nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		_, _, ids := r.snapshot()
		runs, next := 0, uint64(0)
		for _, id := range ids {
			if id != next {
				runs++
			}
			next = id + 1
		}
		lost := n - len(ids)
		loss, run := 100*float64(lost)/n, float64(lost)/float64(max(runs, 1))
		if math.Abs(loss-tc.loss) > 0.2*tc.loss || math.Abs(run-tc.run) > 0.15*tc.run {
			t.Errorf("%s: lost %.2f%% in runs of %.2f, want %.2f%% in runs of %.2f", tc.spec, loss, run, tc.loss, tc.run)
		}
	}
}

// TestLossReproducible: the same seed drops the same packets.
func TestLossReproducible(t *testing.T) {
	run := func() []uint64 {
		s, r := newTestShaper(t, Config{Loss: 20, Seed: 99})
		for i := range 500 {
			_, _ = s.submit(payload(uint64(i), 20), nil, nil)
		}
		_, _, ids := r.snapshot()
		return ids
	}
	if a, b := run(), run(); !slices.Equal(a, b) {
		t.Fatal("same seed, different loss pattern")
	}
}

func TestDelayAndJitter(t *testing.T) {
	for _, tc := range []struct {
		delay, jitter time.Duration
	}{
		{80 * time.Millisecond, 0},
		{50 * time.Millisecond, 20 * time.Millisecond},
	} {
		s, r := newTestShaper(t, Config{Delay: tc.delay, Jitter: tc.jitter, Seed: 3})
		const n = 60
		sentAt := make([]time.Time, n)
		for i := range n {
			sentAt[i] = time.Now()
			_, _ = s.submit(payload(uint64(i), 100), nil, nil)
			time.Sleep(3 * time.Millisecond)
		}
		time.Sleep(tc.delay + tc.jitter + 50*time.Millisecond)
		at, _, ids := r.snapshot()
		if len(at) != n {
			t.Fatalf("delay=%v: %d of %d packets sent", tc.delay, len(at), n)
		}
		var sum time.Duration
		lo, hi := time.Hour, time.Duration(0)
		reordered := 0
		for i, id := range ids {
			d := at[i].Sub(sentAt[id])
			sum += d
			lo, hi = min(lo, d), max(hi, d)
			if i > 0 && id < ids[i-1] {
				reordered++
			}
		}
		mean := sum / n
		t.Logf("delay=%v jitter=%v: mean %v, min %v, max %v, %d reordered", tc.delay, tc.jitter, mean, lo, hi, reordered)
		// Timers fire late, never early: allow scheduling slack above.
		if lo < tc.delay-tc.jitter || hi > tc.delay+tc.jitter+15*time.Millisecond {
			t.Errorf("delay=%v jitter=%v: delays span %v..%v", tc.delay, tc.jitter, lo, hi)
		}
		if mean < tc.delay-3*time.Millisecond || mean > tc.delay+8*time.Millisecond {
			t.Errorf("delay=%v jitter=%v: mean delay %v", tc.delay, tc.jitter, mean)
		}
		if tc.jitter > 0 && hi-lo < tc.jitter {
			t.Errorf("jitter=%v: delays only span %v", tc.jitter, hi-lo)
		}
		if tc.jitter == 0 && reordered > 0 {
			t.Errorf("no jitter, yet %d packets reordered", reordered)
		}
	}
}

func TestRateCap(t *testing.T) {
	const rate = 800_000 // bit/s
	s, r := newTestShaper(t, Config{Rate: rate, Queue: 100 * time.Millisecond})
	// Offer twice the rate for one second: 1000-byte packets every 5 ms.
	start := time.Now()
	for i := 0; time.Since(start) < time.Second; i++ {
		_, _ = s.submit(payload(uint64(i), 1000), nil, nil)
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond)
	at, size, _ := r.snapshot()
	if len(at) < 10 {
		t.Fatalf("only %d packets passed", len(at))
	}
	bytes := 0
	for _, n := range size[1:] {
		bytes += n
	}
	got := float64(bytes*8) / at[len(at)-1].Sub(at[0]).Seconds()
	t.Logf("offered ≈1600 kbps, cap %d kbps: passed %.0f kbps (%d sent, %d tail-dropped)", rate/1000, got/1000, len(at), s.tailDropped.Load())
	if math.Abs(got-rate)/rate > 0.1 {
		t.Errorf("throughput %.0f bit/s, want %d ± 10%%", got, rate)
	}
	if s.tailDropped.Load() == 0 {
		t.Error("twice the rate offered, yet the bounded queue dropped nothing")
	}
}

// TestRateCapQueueDelay: below the cap nothing waits; a burst waits at
// most the configured queue.
func TestRateCapQueueDelay(t *testing.T) {
	s, r := newTestShaper(t, Config{Rate: 1_000_000, Queue: 50 * time.Millisecond})
	start := time.Now()
	for i := range 100 { // 100 kB at once: 800 ms of sending at 1 Mbit/s
		_, _ = s.submit(payload(uint64(i), 1000), nil, nil)
	}
	time.Sleep(120 * time.Millisecond)
	at, _, _ := r.snapshot()
	last := at[len(at)-1].Sub(start)
	// Burst (10 ms) + queue (50 ms) of 8 ms packets ≈ 8 packets.
	if len(at) < 6 || len(at) > 10 || last > 80*time.Millisecond {
		t.Errorf("burst of 100: %d passed, the last after %v; want ≈ 8 within the 50 ms queue", len(at), last)
	}
}

func TestClose(t *testing.T) {
	s, r := newTestShaper(t, Config{Delay: time.Second})
	_, _ = s.submit(payload(1, 10), nil, nil)
	s.close()
	s.close() // idempotent
	if _, err := s.submit(payload(2, 10), nil, nil); !errors.Is(err, net.ErrClosed) {
		t.Errorf("submit after close: %v, want net.ErrClosed", err)
	}
	if at, _, _ := r.snapshot(); len(at) != 0 {
		t.Errorf("%d held-back packets sent after close", len(at))
	}
}

// TestNetSockets runs real loopback sockets through the wrapper: every kind
// of socket pion opens is impaired, the packets arrive, and delay shows.
func TestNetSockets(t *testing.T) {
	const delay = 30 * time.Millisecond
	n := Config{Delay: delay}.Net(nil)
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	raddr := rx.LocalAddr().(*net.UDPAddr)

	udp, err := n.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := n.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dialed, err := n.DialUDP("udp4", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := n.Dial("udp4", raddr.String())
	if err != nil {
		t.Fatal(err)
	}
	writes := []func() error{
		func() error { _, err := udp.WriteTo([]byte("a"), raddr); return err },
		func() error { _, err := udp.WriteToUDP([]byte("b"), raddr); return err },
		func() error { _, err := pc.WriteTo([]byte("c"), raddr); return err },
		func() error { _, err := dialed.Write([]byte("d")); return err },
		func() error { _, err := dc.Write([]byte("e")); return err },
	}
	for i, w := range writes {
		start := time.Now()
		if err := w(); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		_ = rx.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 16)
		k, _, err := rx.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("write %d: nothing received: %v", i, err)
		}
		if d := time.Since(start); d < delay {
			t.Errorf("write %d (%q): arrived after %v, want ≥ %v", i, buf[:k], d, delay)
		}
	}
	for _, c := range []interface{ Close() error }{udp, pc, dialed, dc} {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	if _, err := udp.WriteTo([]byte("x"), raddr); err == nil {
		t.Error("write after close succeeded")
	}
}

func TestZeroConfigIsPassThrough(t *testing.T) {
	if n := (Config{}).Net(nil); n != nil {
		t.Errorf("zero config wrapped the network: %T", n)
	}
}
