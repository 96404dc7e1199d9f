package e2e

import (
	"math"
	"math/cmplx"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/media/audiosrc"
	"github.com/softphone/softphone/media/record"
	"github.com/softphone/softphone/media/videosrc"
	"github.com/softphone/softphone/server"
)

// testSignal is a non-periodic test signal: two tones whose frequencies
// wander at incommensurate rates under a slow envelope, so every stretch of
// it has exactly one best alignment, and tonal enough for Opus to keep the
// waveform.
func testSignal(seconds float64, seed float64) []int16 {
	n := int(seconds * audiosrc.SampleRate)
	out := make([]float32, n)
	var p1, p2 float64
	for i := range n {
		t := float64(i) / audiosrc.SampleRate
		f1 := 300 + 150*math.Sin(2*math.Pi*0.37*t+seed)
		f2 := 1100 + 400*math.Sin(2*math.Pi*0.23*t+1+seed)
		p1 += 2 * math.Pi * f1 / audiosrc.SampleRate
		p2 += 2 * math.Pi * f2 / audiosrc.SampleRate
		env := 0.6 + 0.4*math.Sin(2*math.Pi*0.53*t+2*seed)
		out[i] = float32(env * (0.3*math.Sin(p1) + 0.2*math.Sin(p2)))
	}
	return audiosrc.ToInt16(out)
}

func writeWAV(t *testing.T, path string, pcm []int16) {
	t.Helper()
	w, err := audiosrc.CreateWAV(path, audiosrc.SampleRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(pcm); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func loadWAV(t *testing.T, path string) []int16 {
	t.Helper()
	pcm, _, err := audiosrc.LoadWAV(mustOpen(t, path))
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return pcm
}

// fft is an in-place radix-2 FFT (len(a) a power of two); inverse scales.
func fft(a []complex128, inverse bool) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		ang := 2 * math.Pi / float64(size)
		if !inverse {
			ang = -ang
		}
		wn := cmplx.Rect(1, ang)
		for start := 0; start < n; start += size {
			w := complex(1, 0)
			for k := range size / 2 {
				u, v := a[start+k], a[start+k+size/2]*w
				a[start+k], a[start+k+size/2] = u+v, u-v
				w *= wn
			}
		}
	}
	if inverse {
		for i := range a {
			a[i] /= complex(float64(n), 0)
		}
	}
}

// aligner finds where a window of received audio sits in the sent signal:
// cross-correlation by FFT (the sent signal's transform is computed once),
// normalised by the energy of each stretch of the reference, because the
// raw product favours loud stretches over the right one.
type aligner struct {
	ref    []int16
	n      int
	refF   []complex128
	energy []float64
}

func newAligner(ref []int16, maxWin int) *aligner {
	n := 1
	for n < maxWin+len(ref) {
		n <<= 1
	}
	a := &aligner{ref: ref, n: n, refF: make([]complex128, n), energy: make([]float64, len(ref)+1)}
	for i, v := range ref {
		a.refF[i] = complex(float64(v), 0)
		a.energy[i+1] = a.energy[i] + float64(v)*float64(v)
	}
	fft(a.refF, false)
	return a
}

// align returns the best lag of win in the reference and the normalised
// correlation there.
func (a *aligner) align(win []int16) (lag int, corr float64) {
	b := make([]complex128, a.n)
	for i, v := range win {
		b[i] = complex(float64(v), 0)
	}
	fft(b, false)
	for i := range b {
		b[i] = a.refF[i] * cmplx.Conj(b[i])
	}
	fft(b, true)
	best := math.Inf(-1)
	for l := 0; l+len(win) <= len(a.ref); l++ {
		e := a.energy[l+len(win)] - a.energy[l]
		if e <= 0 {
			continue
		}
		if v := real(b[l]) / math.Sqrt(e); v > best {
			best, lag = v, l
		}
	}
	var sw, swr float64
	for i, v := range win {
		x := float64(v)
		sw += x * x
		swr += x * float64(a.ref[lag+i])
	}
	e := a.energy[lag+len(win)] - a.energy[lag]
	if sw == 0 || e == 0 {
		return lag, 0
	}
	return lag, swr / math.Sqrt(sw*e)
}

// audioMatch cuts the audible part of got into windows (skipping the first,
// while the playout buffer settles) and aligns each with sent on its own: a
// playout buffer may legitimately drop or insert a frame between windows.
// It returns the median correlation and the number of windows.
func audioMatch(t *testing.T, got, sent []int16) (float64, int) {
	t.Helper()
	const win = audiosrc.SampleRate / 4
	const maxWindows = 16
	start := slices.IndexFunc(got, func(v int16) bool { return v > 300 || v < -300 })
	if start < 0 {
		t.Fatalf("received audio is silent (%d samples)", len(got))
	}
	var cs []float64
	var lags []int
	al := newAligner(sent, win)
	for off := start + win; off+win <= len(got) && len(cs) < maxWindows; off += win {
		w := got[off : off+win]
		if rms(w) < 300 {
			break // the call ended here
		}
		l, c := al.align(w)
		cs = append(cs, c)
		lags = append(lags, off-l)
	}
	if len(cs) == 0 {
		t.Fatalf("no audible window in %d received samples", len(got))
	}
	t.Logf("per-window correlation: %.3f (delay in samples %v)", cs, lags)
	slices.Sort(cs)
	return cs[len(cs)/2], len(cs)
}

func rms(w []int16) float64 {
	var s float64
	for _, v := range w {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(w)))
}

// waitFor reads events until one called name arrives, skipping any other.
func (d *device) waitFor(name string, within time.Duration) call.Event {
	d.t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			d.t.Fatalf("%s: no %s within %v; saw %s", d.name, name, within, d.history())
		}
		ev, ok := d.read(left)
		if !ok {
			continue
		}
		d.next = len(d.seen)
		if ev.Name == name {
			return ev
		}
	}
}

// mediaCall is one two-party media call set up for a test.
type mediaCall struct {
	alice, bob       *device
	sentA, sentB     []int16
	recA, recB       string
	channel          string
	aliceCfg, bobCfg *call.MediaConfig
}

func mediaConfig(in, rec string) *call.MediaConfig {
	return &call.MediaConfig{
		AudioIn: in, AudioOut: call.SourceNone, VideoIn: call.SourceTestsrc,
		VideoWidth: 320, VideoHeight: 180, FPS: 15,
		MinBitrate: 150, MaxBitrate: 600,
		RecordDir: rec, Loop: true,
	}
}

// startMediaCall logs alice and bob in with media, alice calls bob (video),
// bob accepts.
func startMediaCall(t *testing.T, srv *server.Server, mod func(a, b *call.MediaConfig)) *mediaCall {
	t.Helper()
	toks := users(t, srv, "alice", "bob")
	dir := t.TempDir()
	mc := &mediaCall{sentA: testSignal(4, 0), sentB: testSignal(4, 1.7), recA: filepath.Join(dir, "recA"), recB: filepath.Join(dir, "recB")}
	writeWAV(t, filepath.Join(dir, "a.wav"), mc.sentA)
	writeWAV(t, filepath.Join(dir, "b.wav"), mc.sentB)
	mc.aliceCfg = mediaConfig(filepath.Join(dir, "a.wav"), mc.recA)
	mc.bobCfg = mediaConfig(filepath.Join(dir, "b.wav"), mc.recB)
	if mod != nil {
		mod(mc.aliceCfg, mc.bobCfg)
	}
	mc.alice = newDevice(t, srv, "alice", toks["alice"], devOpts{media: mc.aliceCfg})
	mc.bob = newDevice(t, srv, "bob", toks["bob"], devOpts{media: mc.bobCfg})
	ctx := ctxT(t)
	cr, err := mc.alice.Call(ctx, "bob", protocol.CallVideo, nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	mc.channel = cr.ChannelID
	inv := mc.bob.waitFor(protocol.EvInvited, waitTimeout).Data.(protocol.Invite)
	if err := mc.bob.Accept(ctx, &inv); err != nil {
		t.Fatalf("accept: %v", err)
	}
	mc.alice.waitFor(protocol.EvUserAccept, waitTimeout)
	return mc
}

// watchVideo polls d's remote picture for dur and returns the frame
// counters read back from distinct decoded frames.
func watchVideo(d *device, dur time.Duration) (counters []uint32, unreadable int) {
	deadline := time.After(dur)
	_, last := d.RemoteVideoFrame() // only frames decoded from now on
	for {
		select {
		case <-deadline:
			return counters, unreadable
		case <-d.RemoteVideoNotify():
		}
		img, seq := d.RemoteVideoFrame()
		if img == nil || seq == last {
			continue
		}
		last = seq
		if c, ok := videosrc.ReadCounter(img); ok {
			counters = append(counters, c)
		} else {
			unreadable++
		}
	}
}

// finish hangs up, closes both engines (which completes the recordings) and
// checks the audio in both directions.
func (mc *mediaCall) finish(t *testing.T, minCorr float64) {
	t.Helper()
	if err := mc.alice.Hangup(ctxT(t)); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	_ = mc.alice.Close()
	_ = mc.bob.Close()
	for _, dir := range []struct {
		name string
		got  string
		sent []int16
	}{
		{"alice→bob", filepath.Join(mc.recB, record.RemoteFile), mc.sentA},
		{"bob→alice", filepath.Join(mc.recA, record.RemoteFile), mc.sentB},
	} {
		c, n := audioMatch(t, loadWAV(t, dir.got), dir.sent)
		t.Logf("%s: median correlation %.3f over %d windows", dir.name, c, n)
		if c < minCorr {
			t.Errorf("%s: received audio correlates %.3f with what was sent, want ≥ %.2f", dir.name, c, minCorr)
		}
	}
	for _, rec := range []string{mc.recA, mc.recB} {
		for _, f := range []string{record.LocalFile, record.MixFile, record.VideoFile} {
			if st, err := statFile(filepath.Join(rec, f)); err != nil || st == 0 {
				t.Errorf("recording %s/%s: size %d, err %v", rec, f, st, err)
			}
		}
	}
}

func checkCounters(t *testing.T, who string, counters []uint32, unreadable int, minFrames int) {
	t.Helper()
	t.Logf("%s: %d frames with a readable counter (%d unreadable), counters %v…", who, len(counters), unreadable, counters[:min(len(counters), 8)])
	if len(counters) < minFrames {
		t.Fatalf("%s: only %d decoded frames with a readable counter, want ≥ %d", who, len(counters), minFrames)
	}
	for i := 1; i < len(counters); i++ {
		if counters[i] <= counters[i-1] {
			t.Fatalf("%s: frame counter went %d → %d", who, counters[i-1], counters[i])
		}
	}
}

func TestMediaCallWAVToWAVAndVideo(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startServer(t, nil)
	mc := startMediaCall(t, srv, nil)
	counters, bad := watchVideo(mc.bob, 4*time.Second)
	checkCounters(t, "bob sees alice", counters, bad, 20)
	st := mc.alice.waitFor(call.EvStats, waitTimeout)
	t.Logf("alice STATS %s", mustJSON(st))
	mc.finish(t, 0.9)
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func statFile(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func TestMediaSwitchVideoToAudioAndBack(t *testing.T) {
	checkNoEngineGoroutines(t)
	srv := startServer(t, nil)
	mc := startMediaCall(t, srv, nil)
	ctx := ctxT(t)
	if c, _ := watchVideo(mc.bob, 2*time.Second); len(c) == 0 {
		t.Fatal("no video before the switch")
	}
	if err := mc.alice.SwitchCallType(ctx, protocol.CallAudio, ""); err != nil {
		t.Fatalf("switch to audio: %v", err)
	}
	mc.bob.waitFor(protocol.EvCallTypeChange, waitTimeout)
	time.Sleep(500 * time.Millisecond) // renegotiation
	if c, _ := watchVideo(mc.bob, time.Second); len(c) > 0 {
		t.Fatalf("video still arrives after switching to audio: %v", c)
	}
	// Audio → video needs the peer's agreement.
	if err := mc.alice.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchInvite); err != nil {
		t.Fatalf("invite to video: %v", err)
	}
	mc.bob.waitFor(protocol.EvCallTypeChange, waitTimeout)
	if err := mc.bob.SwitchCallType(ctx, protocol.CallVideo, protocol.SwitchAgree); err != nil {
		t.Fatalf("agree to video: %v", err)
	}
	counters, bad := watchVideo(mc.bob, 3*time.Second)
	checkCounters(t, "bob sees alice again", counters, bad, 5)
	counters, bad = watchVideo(mc.alice, 2*time.Second)
	checkCounters(t, "alice sees bob", counters, bad, 5)
	mc.finish(t, 0.9)
}
