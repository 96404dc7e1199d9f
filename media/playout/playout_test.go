package playout_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/softphone/softphone/media/opus"
	"github.com/softphone/softphone/media/opus/opustest"
	"github.com/softphone/softphone/media/playout"
)

const (
	rate  = 48000
	frame = 960
)

type packet struct {
	seq     uint16
	ts      uint32
	payload []byte
	arrive  time.Duration // since the simulation started
}

// encode returns the test signal and its 20 ms Opus packets (with FEC).
func encode(t testing.TB, seconds float64) ([]int16, [][]byte) {
	return encodeWith(t, seconds, opus.EncoderOptions{Complexity: -1, FEC: true, LossPerc: 5})
}

func encodeWith(t testing.TB, seconds float64, o opus.EncoderOptions) ([]int16, [][]byte) {
	t.Helper()
	sig := opustest.Speechish(int(seconds*rate), rate)
	pkts := opustest.Encode(t, sig, rate, o)
	return sig[:len(pkts)*frame], pkts
}

type network struct {
	base    time.Duration // one-way delay
	jitter  time.Duration // uniform ± jitter
	loss    float64       // random loss probability
	outage  [2]time.Duration
	seq0    uint16
	ts0     uint32
	reorder float64 // probability a packet is held back 25 ms extra
}

func (n network) schedule(pkts [][]byte, rng *rand.Rand) []packet {
	var out []packet
	for i, p := range pkts {
		sent := time.Duration(i) * 20 * time.Millisecond
		if rng.Float64() < n.loss {
			continue
		}
		if n.outage[1] > 0 && sent >= n.outage[0] && sent < n.outage[1] {
			continue
		}
		d := n.base
		if n.jitter > 0 {
			d += time.Duration((rng.Float64()*2 - 1) * float64(n.jitter))
		}
		if rng.Float64() < n.reorder {
			d += 25 * time.Millisecond
		}
		out = append(out, packet{
			seq:     n.seq0 + uint16(i),
			ts:      n.ts0 + uint32(i*frame),
			payload: p,
			arrive:  sent + d,
		})
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].arrive < out[b].arrive })
	return out
}

type simResult struct {
	out   []int16
	stats []playout.Stats // sampled every 100 ms after the first second
	final playout.Stats
}

// simulate drives a Buffer with a virtual clock: packets arrive per the
// schedule, and the "device" pulls chunks of the given sizes back to back in
// real time.
func simulate(t testing.TB, arrivals []packet, total time.Duration, chunks []int, rng *rand.Rand) simResult {
	t.Helper()
	start := time.Unix(1000, 0)
	var now time.Time = start
	b, err := playout.New(playout.Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	var res simResult
	pullAt := time.Duration(0)
	nextStat := time.Second
	buf := make([]int16, 4096)
	i := 0
	for pullAt < total {
		for i < len(arrivals) && arrivals[i].arrive <= pullAt {
			now = start.Add(arrivals[i].arrive)
			a := arrivals[i]
			b.Push(a.seq, a.ts, now, a.payload)
			i++
		}
		now = start.Add(pullAt)
		n := chunks[rng.IntN(len(chunks))]
		b.Pull(buf[:n])
		res.out = append(res.out, buf[:n]...)
		pullAt += time.Duration(n) * time.Second / rate
		if pullAt >= nextStat {
			res.stats = append(res.stats, b.Stats())
			nextStat += 100 * time.Millisecond
		}
	}
	res.final = b.Stats()
	return res
}

// alignedNCC aligns ref against out block by block. The buffer only ever
// shifts its output by whole frames (drop / insert), so after one global
// search each block only tries the previous lag ± k frames. It returns the
// pooled NCC over all blocks and the lags used.
func alignedNCC(ref, out []int16, maxLag int) (float64, []int) {
	const block = rate / 4
	_, lag0 := opustest.AlignedNCC(ref[rate/2:rate/2+block], out[rate/2:], maxLag)
	var ab, aa, bb float64
	var lags []int
	lag := lag0
	for off := 0; off+block <= len(ref); off += block {
		r := ref[off : off+block]
		best, bestLag := math.Inf(-1), lag
		for k := -6; k <= 6; k++ {
			l := lag + k*frame
			if l < 0 || off+l+block > len(out) {
				continue
			}
			if c := opustest.NCC(r, out[off+l:off+l+block]); c > best {
				best, bestLag = c, l
			}
		}
		if math.IsInf(best, -1) {
			break
		}
		lag = bestLag
		lags = append(lags, lag)
		for j, x := range r {
			y := float64(out[off+lag+j])
			ab += float64(x) * y
			aa += float64(x) * float64(x)
			bb += y * y
		}
	}
	return ab / math.Sqrt(aa*bb), lags
}

func TestPlayoutUnderImpairment(t *testing.T) {
	sig, pkts := encode(t, 8)
	_, plainPkts := encodeWith(t, 8, opus.EncoderOptions{Complexity: -1}) // like mediadevices' encoder: no FEC
	total := time.Duration(len(sig))*time.Second/rate + 500*time.Millisecond
	tests := []struct {
		name        string
		net         network
		chunks      []int
		minNCC      float64
		maxTargetMs float64
		maxLatePct  float64
		noFEC       bool
	}{
		{"clean", network{base: 40 * time.Millisecond}, []int{480}, 0.9, 30, 0, false},
		{"clean big callbacks", network{base: 40 * time.Millisecond}, []int{1024, 960, 512}, 0.9, 40, 0, false},
		{"jitter ±10ms", network{base: 40 * time.Millisecond, jitter: 10 * time.Millisecond}, []int{256, 480, 512, 441}, 0.9, 60, 3, false},
		{"jitter ±30ms", network{base: 80 * time.Millisecond, jitter: 30 * time.Millisecond}, []int{480}, 0.85, 110, 4, false},
		{"5% loss + jitter", network{base: 40 * time.Millisecond, jitter: 10 * time.Millisecond, loss: 0.05}, []int{480, 256}, 0.8, 60, 3, false},
		{"5% loss + jitter, no FEC", network{base: 40 * time.Millisecond, jitter: 10 * time.Millisecond, loss: 0.05}, []int{480}, 0.8, 60, 3, true},
		{"reorder 10%", network{base: 20 * time.Millisecond, reorder: 0.1}, []int{480}, 0.9, 60, 3, false},
		{"wraparound", network{base: 40 * time.Millisecond, jitter: 5 * time.Millisecond, seq0: 65500, ts0: math.MaxUint32 - 100000}, []int{480}, 0.9, 50, 3, false},
		{"300ms outage", network{base: 40 * time.Millisecond, outage: [2]time.Duration{3 * time.Second, 3300 * time.Millisecond}}, []int{480}, 0.8, 40, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			stream := pkts
			if tc.noFEC {
				stream = plainPkts
			}
			arrivals := tc.net.schedule(stream, rng)
			res := simulate(t, arrivals, total, tc.chunks, rng)
			ncc, lags := alignedNCC(sig, res.out, rate/2)
			f := res.final
			var maxTarget, maxDelay float64
			for _, s := range res.stats {
				maxTarget = max(maxTarget, s.TargetDelayMs)
				maxDelay = max(maxDelay, s.DelayMs)
			}
			// Mouth-to-ear delay from the alignment: minus the network and
			// Opus' 6.5 ms lookahead, what remains is the buffer's.
			var bufMs []float64
			for _, l := range lags {
				bufMs = append(bufMs, float64(l)*1000/rate-float64(tc.net.base.Milliseconds())-6.5)
			}
			t.Logf("ncc %.3f; target max %.1f ms, delay max %.1f ms; buffer delay from alignment %.1f..%.1f ms; final %+v",
				ncc, maxTarget, maxDelay, slicesMin(bufMs), slicesMax(bufMs), f)
			if ncc < tc.minNCC {
				t.Errorf("aligned NCC %.3f < %.2f", ncc, tc.minNCC)
			}
			if maxTarget > tc.maxTargetMs || maxTarget < 20 {
				t.Errorf("target delay reached %.1f ms, want 20..%.0f", maxTarget, tc.maxTargetMs)
			}
			if maxDelay > 200+20 {
				t.Errorf("delay estimate reached %.1f ms, beyond the 200 ms bound", maxDelay)
			}
			if lo, hi := slicesMin(bufMs), slicesMax(bufMs); lo < -5 || hi > 200 {
				t.Errorf("buffer delay from alignment %.1f..%.1f ms outside 0..200", lo, hi)
			}
			if late := 100 * float64(f.Late) / float64(len(pkts)); late > tc.maxLatePct {
				t.Errorf("late %.1f%% > %.1f%%", late, tc.maxLatePct)
			}
			if tc.net.loss > 0 && !tc.noFEC && f.FECRecovered == 0 {
				t.Error("no frame recovered by FEC under loss")
			}
			if tc.net.loss == 0 && tc.net.outage[1] == 0 && f.Concealed+f.FECRecovered > uint64(len(pkts))/50 {
				t.Errorf("%d frames concealed without loss", f.Concealed+f.FECRecovered)
			}
		})
	}
}

func slicesMin(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func slicesMax(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func TestPullBeforePushIsSilent(t *testing.T) {
	b, err := playout.New(playout.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, n := range []int{0, 1, 7, 480, 4096} {
		out := make([]int16, n)
		for i := range out {
			out[i] = 123
		}
		b.Pull(out)
		for i, v := range out {
			if v != 0 {
				t.Fatalf("Pull(%d): sample %d = %d, want silence", n, i, v)
			}
		}
	}
	if s := b.Stats(); s.Playing || s.Received != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCountersAndArbitraryPullSizes(t *testing.T) {
	_, pkts := encode(t, 1)
	now := time.Unix(0, 0)
	b, err := playout.New(playout.Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	push := func(i int) { b.Push(uint16(i), uint32(i*frame), now, pkts[i]) }
	for i := 0; i < 5; i++ {
		push(i)
	}
	push(3)                                     // duplicate
	b.Push(9, 9*frame, now, nil)                // invalid: empty
	b.Push(9, 9*frame, now, make([]byte, 2000)) // invalid: too big
	now = now.Add(100 * time.Millisecond)
	total := 0
	for _, n := range []int{1, 3, 17, 960, 961, 100, 1} {
		out := make([]int16, n)
		b.Pull(out)
		total += n
	}
	push(0) // late: already played
	s := b.Stats()
	if !s.Playing || s.Received != 5 || s.Duplicate != 1 || s.Invalid != 2 || s.Late != 1 {
		t.Fatalf("stats %+v", s)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// A stray Pull after Close must not touch the freed decoder.
	b.Pull(make([]int16, 2000))
}

func TestConfigErrors(t *testing.T) {
	tests := []playout.Config{
		{SampleRate: 44101},
		{Channels: 3},
		{FrameSamples: 100},
		{MinDelay: 300 * time.Millisecond, MaxDelay: 100 * time.Millisecond},
	}
	for _, c := range tests {
		if b, err := playout.New(c); err == nil {
			b.Close()
			t.Errorf("config %+v accepted", c)
		}
	}
	if _, err := playout.NewWithDecoder(nil, playout.Config{}); err == nil {
		t.Error("nil decoder accepted")
	}
}

// TestConcurrentPushPull runs the network and audio sides on their own
// goroutines; it is for the race detector.
func TestConcurrentPushPull(t *testing.T) {
	_, pkts := encode(t, 2)
	b, err := playout.New(playout.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i, p := range pkts {
			b.Push(uint16(i), uint32(i*frame), time.Now(), p)
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	go func() {
		defer wg.Done()
		out := make([]int16, 480)
		for i := 0; i < 300; i++ {
			b.Pull(out)
			_ = b.Stats()
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	wg.Wait()
}

func BenchmarkPush(b *testing.B) {
	_, pkts := encode(b, 1)
	buf, err := playout.New(playout.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Close()
	now := time.Unix(0, 0)
	out := make([]int16, frame)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = now.Add(20 * time.Millisecond)
		buf.Push(uint16(i), uint32(i*frame), now, pkts[i%len(pkts)])
		if i%8 == 7 { // keep the buffer from filling up, off the clock
			b.StopTimer()
			for j := 0; j < 8; j++ {
				buf.Pull(out)
			}
			b.StartTimer()
		}
	}
}

func BenchmarkPull480(b *testing.B) {
	_, pkts := encode(b, 1)
	now := time.Unix(0, 0)
	buf, err := playout.New(playout.Config{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Close()
	out := make([]int16, 480)
	seq := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// One packet per 20 ms of pulled audio keeps the buffer in steady state.
		if i%2 == 0 {
			now = now.Add(20 * time.Millisecond)
			buf.Push(uint16(seq), uint32(seq*frame), now, pkts[seq%len(pkts)])
			seq++
		}
		buf.Pull(out)
	}
}

// TestFastStart checks that with FastStart the first packet plays at the
// first pull after it arrives, and that the delay then grows to the target
// by inserted concealment; without it the first pulls are pre-roll silence.
func TestFastStart(t *testing.T) {
	_, pkts := encode(t, 2)
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			now := time.Unix(0, 0)
			b, err := playout.New(playout.Config{Now: func() time.Time { return now }, FastStart: fast})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			out := make([]int16, frame)
			// Packets arrive every 20 ms and the speaker pulls right after.
			for i := range 50 {
				b.Push(uint16(i), uint32(i*frame), now, pkts[i])
				b.Pull(out)
				if i == 0 {
					if got := b.Stats().Playing; got != fast {
						t.Fatalf("playing after the first packet's pull = %v, want %v", got, fast)
					}
				}
				now = now.Add(20 * time.Millisecond)
			}
			st := b.Stats()
			if !st.Playing {
				t.Fatalf("not playing after 1 s: %+v", st)
			}
			if fast && st.Inserted == 0 {
				t.Errorf("fast start never raised the delay: %+v", st)
			}
			if st.DelayMs < st.TargetDelayMs-20 {
				t.Errorf("delay %.1f ms stayed below the target %.1f ms", st.DelayMs, st.TargetDelayMs)
			}
		})
	}
}

// TestDriftSettlesDown: a stall early in the call makes the buffer build
// delay (concealment, then the late packets in a burst). Once the network
// is clean again and every packet has a frame of slack to spare, the buffer
// must come back near its target rather than keep the extra frame.
func TestDriftSettlesDown(t *testing.T) {
	_, pkts := encode(t, 6)
	now := time.Unix(0, 0)
	b, err := playout.New(playout.Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out := make([]int16, frame)
	// Packet i is sent at 20i ms; packets 5..7 are held 70 ms by the
	// network and arrive together. The speaker pulls at 20i + 10 ms.
	arrive := func(i int) time.Duration {
		d := time.Duration(i) * 20 * time.Millisecond
		if i >= 5 && i <= 7 {
			return 7*20*time.Millisecond + 10*time.Millisecond/2
		}
		return d
	}
	next := 0
	for k := range len(pkts) {
		pullAt := time.Duration(k)*20*time.Millisecond + 10*time.Millisecond
		for next < len(pkts) && arrive(next) <= pullAt {
			now = time.Unix(0, 0).Add(arrive(next))
			b.Push(uint16(next), uint32(next*frame), now, pkts[next])
			next++
		}
		now = time.Unix(0, 0).Add(pullAt)
		b.Pull(out)
	}
	st := b.Stats()
	if st.Inserted+st.Concealed == 0 {
		t.Fatalf("the stall raised no delay: %+v", st)
	}
	if st.DelayMs > st.TargetDelayMs+10 {
		t.Fatalf("delay %.1f ms stayed more than half a frame above the target %.1f ms: %+v", st.DelayMs, st.TargetDelayMs, st)
	}
}
