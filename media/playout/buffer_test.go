package playout_test

import (
	"errors"
	"hash/fnv"
	"sync"
	"testing"
	"time"

	"github.com/softphone/softphone/internal/netem"
	"github.com/softphone/softphone/media/opus"
	"github.com/softphone/softphone/media/playout"
)

var wb = opus.EncoderOptions{Bitrate: 32000, Complexity: -1, MaxBandwidth: opus.Wideband}

// pull is what call/rtc's clock pulls at a time: 10 ms.
const pull = rate / 100

const ms = time.Millisecond

// The network profiles, with the redundancy the sender would pick.
var profiles = []struct {
	name string
	path path
	// Bounds on what is played.
	maxConcealPct float64 // concealed share of the played audio
	maxShifts     int     // lag moves between speech windows after the first 2 s
	minCorr       float64 // median window correlation with what was sent
	maxLeadMs     float64 // the final lead
}{
	{"clean", path{delay: netem.Delay{Base: 1 * ms}}, 0.1, 0, 0.9, 15},
	// A sender descheduled for 30 ms: two late frames are concealed; the
	// delay need not move for good.
	{"cpu stall", path{delay: netem.Delay{Base: 1 * ms, Jitter: 2 * ms}, stall: [2]time.Duration{6100 * ms, 6130 * ms}}, 0.5, 2, 0.9, 40},
	// The transit rises by 60 ms for good: one move of the delay, no
	// lasting rise of the target.
	{"transit step", path{delay: netem.Delay{Base: 1 * ms, Jitter: 2 * ms}, step: [2]time.Duration{6 * time.Second, 60 * ms}}, 2, 2, 0.9, 75},
	{"loss 5% RED1", path{loss: netem.Loss{Random: 0.05}, delay: netem.Delay{Base: 1 * ms}, red: 1}, 1, 2, 0.85, 45},
	{"loss 10% RED2", path{loss: netem.Loss{Random: 0.10}, delay: netem.Delay{Base: 1 * ms}, red: 2}, 1, 3, 0.8, 65},
	{"jitter 40±20 normal", path{delay: netem.Delay{Base: 40 * ms, Jitter: 20 * ms, Dist: netem.Normal}}, 1.5, 6, 0.85, 125},
	{"loss 5% + jitter RED1", path{loss: netem.Loss{Random: 0.05}, delay: netem.Delay{Base: 40 * ms, Jitter: 20 * ms, Dist: netem.Normal}, red: 1}, 2, 8, 0.8, 140},
	{"bursty GE 1%/30% RED3", path{loss: netem.Loss{GE: netem.Simple(0.01, 0.30)}, delay: netem.Delay{Base: 1 * ms}, red: 3}, 4, 4, 0.8, 90},
}

func TestProfiles(t *testing.T) {
	const seconds = 16
	sig, pkts := speech(t, seconds, wb)
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			h := fnv.New64a()
			h.Write([]byte(p.name))
			arr := p.path.schedule(pkts, h.Sum64())
			r := simulate(t, arr, arr[len(arr)-1].at+time.Second, pull)
			st := r.stats
			conceal := 100 * float64(st.ConcealedSamples) / float64(max(st.PlayedSamples, 1))
			// Judge the time shifts after the start-up (2 s), the rest whole.
			corr, lags, _ := quality(sig, r.out)
			shifts := countShifts(lags[min(len(lags), 2*5):])
			t.Logf("%s: conceal %.2f%% (late-wait %d, underruns %d), RED %d FEC %d PLC %d, accel %d (%.0f ms) expand %d (%.0f ms), shifts %d, corr %.3f, delay %.1f (max %.1f) target %.1f ms, missing %.3f burst %.2f",
				p.name, conceal, st.UnderrunSamples/48, st.Underruns, st.REDRecovered, st.FECRecovered, st.Concealed,
				st.Accelerates, float64(st.AcceleratedSamples)/48, st.Expands, float64(st.ExpandedSamples)/48,
				shifts, corr, st.DelayMs, r.maxLead, st.TargetDelayMs, st.MissingRate, st.MeanBurst)
			if conceal > p.maxConcealPct {
				t.Errorf("concealed %.2f%% of the played audio, want ≤ %.2f%%", conceal, p.maxConcealPct)
			}
			if testing.Verbose() {
				t.Logf("lags %v", lags)
			}
			if shifts > p.maxShifts {
				t.Errorf("%d time shifts after the start, want ≤ %d", shifts, p.maxShifts)
			}
			if corr < p.minCorr {
				t.Errorf("median correlation %.3f, want ≥ %.3f", corr, p.minCorr)
			}
			if r.maxLead > p.maxLeadMs {
				t.Errorf("delay up to %.1f ms after the start, want ≤ %.1f", r.maxLead, p.maxLeadMs)
			}
			if st.Decoded+st.REDRecovered+st.FECRecovered+st.Concealed < uint64(len(pkts))*9/10 {
				t.Errorf("only %d frames played of %d sent", st.Decoded+st.REDRecovered+st.FECRecovered+st.Concealed, len(pkts))
			}
		})
	}
}

// A call whose media connects late hands the buffer 600 ms of packets at
// once: all of them are played, faster, until the lead is back at target.
func TestLateStartIsAccelerated(t *testing.T) {
	const seconds = 8
	sig, pkts := speech(t, seconds, wb)
	arr := path{delay: netem.Delay{Base: 1 * ms}, backlog: 600 * ms}.schedule(pkts, 9)
	r := simulate(t, arr, arr[len(arr)-1].at+time.Second, pull)
	st := r.stats
	t.Logf("accelerated %d times (%.0f ms), decoded %d of %d, lead %.1f ms", st.Accelerates, float64(st.AcceleratedSamples)/48, st.Decoded, len(pkts), st.DelayMs)
	if st.Decoded < uint64(len(pkts)-1) || st.Concealed != 0 { // the last may still be playing
		t.Fatalf("decoded %d of %d frames, concealed %d: a backlog must not be cut", st.Decoded, len(pkts), st.Concealed)
	}
	if ms := float64(st.AcceleratedSamples) / 48; ms < 400 {
		t.Fatalf("accelerated away %.0f ms, want most of the 600 ms backlog", ms)
	}
	if st.DelayMs > 40 {
		t.Fatalf("lead %.1f ms at the end, want back near target", st.DelayMs)
	}
	// Stretched speech still matches what was sent, and once drained the
	// delay holds.
	corr, lags, _ := quality(sig, r.out)
	if corr < 0.85 || len(lags) < 10 {
		t.Fatalf("correlation %.3f over %d windows", corr, len(lags))
	}
	if n := countShifts(lags[len(lags)-10:]); n != 0 {
		t.Fatalf("%d time shifts in the last 2 s: %v", n, lags[len(lags)-10:])
	}
}

func TestPullBeforePushIsSilent(t *testing.T) {
	b, err := playout.New(playout.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out := []int16{1, 2, 3}
	b.Pull(out)
	if out[0] != 0 || out[1] != 0 || out[2] != 0 {
		t.Fatalf("got %v, want silence", out)
	}
	if st := b.Stats(); st.Playing || st.SilenceMs <= 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Pull sizes need not match frames; every sample is delivered once.
func TestArbitraryPullSizes(t *testing.T) {
	sig, pkts := speech(t, 3, wb)
	arr := path{delay: netem.Delay{Base: 1 * ms}}.schedule(pkts, 1)
	for _, chunk := range []int{160, 441, 960, 1920} {
		r := simulate(t, arr, 4*time.Second, chunk)
		st := r.stats
		if st.Decoded < uint64(len(pkts)-1) { // the last may still be playing
			t.Errorf("chunk %d: decoded %d of %d", chunk, st.Decoded, len(pkts))
		}
		if c, _, _ := quality(sig, r.out); c < 0.9 {
			t.Errorf("chunk %d: correlation %.3f", chunk, c)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for _, c := range []playout.Config{
		{SampleRate: 44100},
		{Channels: 3},
		{FrameSamples: 100},
		{MinDelay: time.Second, MaxDelay: time.Millisecond},
	} {
		if _, err := playout.NewWithDecoder(dec, c); !errors.Is(err, playout.ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", c, err)
		}
	}
	if _, err := playout.NewWithDecoder(nil, playout.Config{}); !errors.Is(err, playout.ErrConfig) {
		t.Errorf("nil decoder: %v", err)
	}
}

func TestBadPayloadsCounted(t *testing.T) {
	b, err := playout.New(playout.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Now()
	b.Push(1, 960, now, nil)
	b.Push(2, 1920, now, make([]byte, 2000))
	b.Push(3, 2880, now, []byte{0xff, 0xff, 0xff}) // code 3 packet with an impossible frame count
	if st := b.Stats(); st.Invalid != 3 || st.Received != 0 {
		t.Fatalf("invalid %d received %d, want 3 and 0", st.Invalid, st.Received)
	}
}

func TestConcurrentPushPull(t *testing.T) {
	_, pkts := speech(t, 2, wb)
	b, err := playout.New(playout.Config{FastStart: true})
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
		}
	}()
	go func() {
		defer wg.Done()
		out := make([]int16, 480)
		for range 200 {
			b.Pull(out)
			_ = b.Stats()
		}
	}()
	wg.Wait()
}

func BenchmarkPush(b *testing.B) {
	_, pkts := speech(b, 1, wb)
	buf, err := playout.New(playout.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Close()
	now := time.Now()
	out := make([]int16, frame)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf.Push(uint16(i), uint32(i*frame), now.Add(time.Duration(i)*20*ms), pkts[i%len(pkts)])
		if i%2 == 1 {
			buf.Pull(out)
			buf.Pull(out)
		}
	}
}

func BenchmarkPull480(b *testing.B) {
	_, pkts := speech(b, 1, wb)
	base := time.Now()
	var now time.Time
	buf, err := playout.New(playout.Config{FastStart: true, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Close()
	out := make([]int16, 480)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			at := base.Add(time.Duration(i/2) * 20 * ms)
			now = at
			buf.Push(uint16(i/2), uint32(i/2*frame), at, pkts[(i/2)%len(pkts)])
		}
		buf.Pull(out)
	}
}

// When the sender stops, the concealment that runs out into the stop is not
// counted as loss.
func TestEndOfStreamIsNotLoss(t *testing.T) {
	_, pkts := speech(t, 3, wb)
	arr := path{delay: netem.Delay{Base: 1 * ms}}.schedule(pkts, 1)
	st := simulateTo(t, arr, arr[len(arr)-1].at+time.Second, pull, false, [2]time.Duration{}).stats
	if st.Concealed != 0 || st.ConcealedSamples != 0 || st.Rebuffers != 1 || st.StoppedSamples == 0 {
		t.Fatalf("after the end: concealed %d frames / %d samples, %d rebuffers, %d stopped samples; want 0, 0, 1, > 0",
			st.Concealed, st.ConcealedSamples, st.Rebuffers, st.StoppedSamples)
	}
}

// A receiver descheduled for 150 ms catches up with a burst of pulls before
// it reads the packets that arrived meanwhile: they are waited for, not
// concealed for lost (the delay grows by the stall, once).
func TestReceiverStall(t *testing.T) {
	sig, pkts := speech(t, 8, wb)
	arr := path{delay: netem.Delay{Base: 1 * ms}}.schedule(pkts, 1)
	r := simulateTo(t, arr, arr[len(arr)-1].at+time.Second, pull, true, [2]time.Duration{4 * time.Second, 4150 * ms})
	st := r.stats
	corr, lags, _ := quality(sig, r.out)
	t.Logf("concealed %d frames, waited %.0f ms, corr %.3f, shifts %d", st.Concealed, float64(st.UnderrunSamples)/48, corr, countShifts(lags))
	if st.Concealed > 1 {
		t.Fatalf("%d frames concealed for lost after a receiver stall, want them waited for", st.Concealed)
	}
}

// On a clean path a small start-up excess (the first packets held up a few
// milliseconds while the call came up, wherever the first landed against
// the puller's clock) stays: it is not worth a time shift.
func TestCleanPathIsNeverShifted(t *testing.T) {
	_, pkts := speech(t, 8, wb)
	for _, backlog := range []time.Duration{0, 4 * ms, 9 * ms, 15 * ms} {
		arr := path{delay: netem.Delay{Base: 1 * ms}, backlog: backlog}.schedule(pkts, 5)
		r := simulate(t, arr, arr[len(arr)-1].at+time.Second, pull)
		if st := r.stats; st.Accelerates+st.Expands != 0 {
			t.Errorf("start-up backlog %v: %d accelerations (%.1f ms), %d expansions on a clean path", backlog,
				st.Accelerates, float64(st.AcceleratedSamples)/48, st.Expands)
		}
	}
	// The connect replay: the first packet sent is up to half a frame old
	// and, with RED, carries a copy of a frame from before the call was up.
	for _, red := range []int{0, 1} {
		for _, age := range []time.Duration{1 * ms, 5 * ms, 10 * ms} {
			arr := path{delay: netem.Delay{Base: 1 * ms}, red: red, replay: age}.schedule(pkts, 5)
			r := simulate(t, arr, arr[len(arr)-1].at+time.Second, pull)
			if st := r.stats; st.Accelerates+st.Expands != 0 {
				t.Errorf("replay %v old, RED %d: %d accelerations (%.1f ms), %d expansions on a clean path", age, red,
					st.Accelerates, float64(st.AcceleratedSamples)/48, st.Expands)
			}
		}
	}
}

// Loss in a pause of the speech is counted apart (Stats.Pause): the
// listening estimate leaves it out, as a listener does not hear it.
func TestLossInPausesCountedApart(t *testing.T) {
	sig, pkts := speech(t, 8, wb)
	level := make([]float64, len(pkts))
	peak := 0.0
	for i := range pkts {
		level[i] = rms16(sig[i*frame : (i+1)*frame])
		peak = max(peak, level[i])
	}
	// Frames well inside a pause, and well inside speech (their three
	// predecessors alike), at least ten frames apart.
	inside := func(i int, f func(float64) bool) bool {
		for j := i - 3; j <= i; j++ {
			if j < 0 || !f(level[j]) {
				return false
			}
		}
		return true
	}
	drop := map[uint16]bool{}
	var nPause, nSpeech int
	last := -100
	for i := 10; i < len(pkts)-10; i++ {
		if i-last < 10 {
			continue
		}
		switch {
		case nPause < 5 && inside(i, func(l float64) bool { return l < 0.01*peak }):
			nPause++
		case nSpeech < 5 && inside(i, func(l float64) bool { return l > 0.3*peak }):
			nSpeech++
		default:
			continue
		}
		drop[uint16(1000+i)] = true
		last = i
	}
	if nPause == 0 || nSpeech == 0 {
		t.Fatalf("test speech has %d pause and %d speech frames to drop", nPause, nSpeech)
	}
	var arr []arrival
	for _, a := range (path{delay: netem.Delay{Base: 1 * ms}}).schedule(pkts, 5) {
		if !drop[a.seq] {
			arr = append(arr, a)
		}
	}
	st := simulate(t, arr, arr[len(arr)-1].at+time.Second, pull).stats
	const f = uint64(frame)
	if got, want := st.Pause.ConcealedSamples, uint64(nPause)*f; got != want {
		t.Errorf("concealed in pauses: %d samples, want %d (%d frames)", got, want, nPause)
	}
	// (A wait for a packet that came late is concealment too; not a loss.)
	lost := st.ConcealedSamples - st.UnderrunSamples
	if got, want := lost-st.Pause.ConcealedSamples+st.Pause.UnderrunSamples, uint64(nSpeech)*f; got != want {
		t.Errorf("concealed in speech: %d samples, want %d (%d frames)", got, want, nSpeech)
	}
	if st.Pause.PlayedSamples == 0 || st.Pause.PlayedSamples >= st.PlayedSamples {
		t.Errorf("pause share of the played audio: %d of %d samples", st.Pause.PlayedSamples, st.PlayedSamples)
	}
}
