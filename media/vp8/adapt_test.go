package vp8

import (
	"image"
	"math"
	"testing"
	"time"
)

func TestScaler(t *testing.T) {
	flat := image.NewYCbCr(image.Rect(0, 0, 640, 360), image.YCbCrSubsampleRatio420)
	for i := range flat.Y {
		flat.Y[i] = 77
	}
	for i := range flat.Cb {
		flat.Cb[i], flat.Cr[i] = 100, 200
	}
	src := frames(t, 640, 360, 1)[0]
	for _, sz := range [][2]int{{480, 270}, {320, 180}, {160, 90}, {638, 358}, {123, 77}, {16, 16}} {
		sc := newScaler(640, 360, sz[0], sz[1])
		// A flat picture stays exactly flat: the weights sum to one.
		out := sc.scale(flat)
		if out.Rect.Dx() != sz[0] || out.Rect.Dy() != sz[1] {
			t.Fatalf("%v: output %v", sz, out.Rect)
		}
		for i, v := range out.Y[:sz[1]*out.YStride] {
			if i%out.YStride < sz[0] && v != 77 {
				t.Fatalf("%v: flat luma became %d at %d", sz, v, i)
			}
		}
		if out.Cb[0] != 100 || out.Cr[len(out.Cr)-1] != 200 {
			t.Fatalf("%v: flat chroma became %d/%d", sz, out.Cb[0], out.Cr[len(out.Cr)-1])
		}
		// An area average keeps the picture's mean brightness.
		out = sc.scale(src)
		if d := meanY(out) - meanY(src); math.Abs(d) > 1 {
			t.Errorf("%v: mean luma moved by %.2f", sz, d)
		}
	}
	// Halving is the plain 2×2 average.
	out := newScaler(640, 360, 320, 180).scale(src)
	for _, p := range [][2]int{{0, 0}, {17, 33}, {319, 179}} {
		x, y := p[0], p[1]
		sum := int(src.Y[2*y*src.YStride+2*x]) + int(src.Y[2*y*src.YStride+2*x+1]) +
			int(src.Y[(2*y+1)*src.YStride+2*x]) + int(src.Y[(2*y+1)*src.YStride+2*x+1])
		if got, want := int(out.Y[y*out.YStride+x]), (sum+2)/4; got < want-1 || got > want+1 { // two roundings
			t.Errorf("(%d,%d): %d, want the 2×2 average %d", x, y, got, want)
		}
	}
}

func meanY(img *image.YCbCr) float64 {
	var s float64
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := range h {
		for x := range w {
			s += float64(img.Y[y*img.YStride+x])
		}
	}
	return s / float64(w*h)
}

func TestNewLadder(t *testing.T) {
	got := NewLadder(640, 360, 30)
	want := []struct {
		w, h int
		fps  float64
	}{{640, 360, 30}, {480, 270, 30}, {320, 180, 24}, {320, 180, 15}, {160, 90, 10}}
	if len(got) != len(want) {
		t.Fatalf("%d rungs: %+v", len(got), got)
	}
	for i, r := range got {
		if r.Width != want[i].w || r.Height != want[i].h || math.Abs(r.FPS-want[i].fps) > 1e-9 {
			t.Errorf("rung %d = %dx%d@%g, want %dx%d@%g", i, r.Width, r.Height, r.FPS, want[i].w, want[i].h, want[i].fps)
		}
		if r.UpKbps <= r.MinKbps || i > 0 && r.MinKbps >= got[i-1].MinKbps {
			t.Errorf("rung %d thresholds %d/%d not below the previous rung's", i, r.MinKbps, r.UpKbps)
		}
	}
	if got[0].MinKbps != 300 {
		t.Errorf("640×360@30 needs %d kbps, calibrated to 300", got[0].MinKbps)
	}
	// Odd and portrait captures give even sizes.
	for _, r := range NewLadder(361, 641, 25) {
		if r.Width%2 != 0 && r.Width != 361 || r.Height%2 != 0 && r.Height != 641 {
			t.Errorf("odd rung %dx%d", r.Width, r.Height)
		}
	}
}

func TestLadderWalk(t *testing.T) {
	rungs := NewLadder(640, 360, 30)
	l := ladder{rungs: rungs}
	t0 := time.Unix(0, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	steps := []struct {
		ms, kbps  int
		sent      float64
		rung      int
		suspended bool
	}{
		{0, 900, 0, 0, false},
		{100, 299, 0, 1, false},  // below 640×360's minimum: down at once
		{200, 150, 0, 1, false},  // below the next one too, but within the dwell: a keyframe per second at most
		{300, 30, 0, 4, false},   // far below: several rungs in one step at once
		{400, 10, 0, 4, true},    // below SuspendKbps
		{500, 25, 0, 4, true},    // not yet back: resume needs resumeKbps
		{600, 200, 0, 4, true},   // back above: wait upHold
		{2200, 200, 0, 2, false}, // resumes on the highest rung 200 kbps carries
		{2300, 300, 0, 2, false}, // 300 > 480×270's minimum but below its UpKbps
		{2400, 800, 0, 2, false}, // up needs upHold
		{3000, 100, 0, 2, false}, // a dip below the up threshold restarts the hold
		{3100, 800, 0, 2, false},
		{4500, 800, 0, 2, false},
		{4600, 800, 0, 0, false}, // held 1.5 s: straight to the top
		// The encoder overshoots by >30 % for 2 s: one rung down, then no climbing for a while.
		{5000, 400, 600, 0, false},
		{7100, 400, 600, 1, false},
		{9000, 800, 0, 1, false},
		{12000, 800, 0, 1, false},
		{15200, 800, 0, 1, false},
		{16800, 800, 0, 0, false},
	}
	for _, s := range steps {
		rung, susp := l.update(at(s.ms), s.kbps, s.sent)
		if rung != s.rung || susp != s.suspended {
			t.Fatalf("at %d ms, %d kbps: rung %d suspended %v, want %d %v", s.ms, s.kbps, rung, susp, s.rung, s.suspended)
		}
	}
}

// encodeAt feeds one captured frame at the given time and returns the
// encoded frame (nil when the encoder left it out).
func encodeAt(t *testing.T, e *Encoder, clock *time.Time, at time.Time) []byte {
	t.Helper()
	*clock = at
	img, _, err := e.src.Read()
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.encode(img.(*image.YCbCr))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRateFollowsTarget drives the adaptive encoder through a schedule of
// targets (as a congestion controller would) on a camera-like picture and
// checks every 2 s window of output against the target: never more than
// 25 % above it (a rung change costs a keyframe), and within 15 % when the target and the picture size have held
// for the window and the two seconds before (below it only where the
// picture needs less). Every frame must decode, across all the size changes.
func TestRateFollowsTarget(t *testing.T) {
	// A 320×180 capture keeps the test quick under -race (the scaler is Go).
	src := noisyFrames(t, 320, 180, 30, 4)
	p := NewParams()
	p.BitRate = 400_000
	e := newTestEncoder(t, &sliceReader{frames: src}, p, 320, 180)
	var clock time.Time
	e.now = func() time.Time { return clock }
	d, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	schedule := []int{400, 200, 100, 50, 25, 100, 250, 400, 60, 350}
	const secsPer = 4
	type second struct {
		bytes, target int
		w             int
	}
	var secs []second
	start := time.Unix(1000, 0)
	frame := 0
	for _, kbps := range schedule {
		if err := e.SetBitRate(kbps * 1000); err != nil {
			t.Fatal(err)
		}
		for s := range secsPer {
			_ = s
			cur := second{target: kbps}
			for range 30 {
				frame++
				out := encodeAt(t, e, &clock, start.Add(time.Duration(frame)*time.Second/30))
				if len(out) == 0 {
					continue
				}
				if _, err := d.Decode(out); err != nil {
					t.Fatalf("second %d: decode: %v", len(secs), err)
				}
				cur.bytes += len(out)
			}
			cur.w = e.Stats().Width
			secs = append(secs, cur)
		}
	}
	same := func(a, b second) bool { return a.target == b.target && a.w == b.w }
	for i := 1; i < len(secs); i++ {
		sent := float64(secs[i].bytes+secs[i-1].bytes) * 8 / 2000
		target := float64(secs[i].target+secs[i-1].target) / 2
		ratio := sent / target
		t.Logf("seconds %2d–%2d: target %4.0f kbps, sent %6.1f (%.2f)", i-1, i+1, target, sent, ratio)
		if ratio > 1.25 {
			t.Errorf("seconds %d–%d: sent %.0f kbps against a %.0f kbps target", i-1, i+1, sent, target)
		}
		settled := i >= 3 && same(secs[i], secs[i-1]) && same(secs[i-1], secs[i-2]) && same(secs[i-2], secs[i-3])
		if settled && (ratio > 1.15 || secs[i].target >= 200 && ratio < 0.85) {
			t.Errorf("seconds %d–%d, settled: sent %.0f kbps against %.0f kbps", i-1, i+1, sent, target)
		}
	}
	st := e.Stats()
	if st.Width != 320 || st.Height != 180 || st.FPS != 30 || st.TargetBps != 350_000 || st.Suspended {
		t.Errorf("final stats %+v, want 320×180@30 at 350 kbps", st)
	}
	if st.Skipped == 0 || st.KeyFrames < 5 {
		t.Errorf("stats %+v: the low rungs should have skipped frames and each size change cost a keyframe", st)
	}
}

func TestSuspendAndResume(t *testing.T) {
	p := NewParams()
	p.BitRate = 100_000
	e := newTestEncoder(t, &sliceReader{frames: frames(t, 320, 180, 4)}, p, 320, 180)
	var clock time.Time
	e.now = func() time.Time { return clock }
	start := time.Unix(1000, 0)
	frame := 0
	run := func(n int) (got int, keys int) {
		for range n {
			frame++
			if out := encodeAt(t, e, &clock, start.Add(time.Duration(frame)*time.Second/30)); len(out) > 0 {
				got++
				if isKey(out) {
					keys++
				}
			}
		}
		return got, keys
	}
	run(60)
	_ = e.SetBitRate(10_000)
	if got, _ := run(60); got != 0 {
		t.Fatalf("suspended encoder produced %d frames", got)
	}
	if !e.Stats().Suspended {
		t.Fatal("Stats does not say suspended")
	}
	// Read still comes back once per captured frame, empty: mediadevices
	// checks for its track's unbinding between reads, and a Read that
	// waited for a coded frame hung a suspended call's hang-up.
	if f, _, err := e.Read(); err != nil || len(f) != 0 {
		t.Fatalf("suspended Read: %d bytes, %v", len(f), err)
	}
	_ = e.SetBitRate(100_000)
	got, keys := run(90)
	if got == 0 || keys == 0 {
		t.Fatalf("after resuming: %d frames, %d keyframes", got, keys)
	}
	if e.Stats().Suspended {
		t.Fatal("still suspended")
	}
}

func TestKeyFrameThrottleAndCap(t *testing.T) {
	p := NewParams()
	p.BitRate = 300_000
	p.Adapt = false
	e := newTestEncoder(t, &sliceReader{frames: frames(t, 640, 360, 30)}, p, 640, 360)
	var clock time.Time
	e.now = func() time.Time { return clock }
	start := time.Unix(1000, 0)
	var sizes []int
	var keyAt []int
	for i := range 90 {
		if i >= 30 && i%2 == 0 {
			_ = e.ForceKeyFrame() // a PLI every 67 ms
		}
		out := encodeAt(t, e, &clock, start.Add(time.Duration(i)*time.Second/30))
		sizes = append(sizes, len(out))
		if isKey(out) {
			keyAt = append(keyAt, i)
		}
	}
	// 60 frames of requests at 30 fps with a 300 ms throttle: one keyframe
	// every 9–10 frames, not 30.
	if n := len(keyAt) - 1; n < 5 || n > 7 {
		t.Fatalf("keyframes at %v: %d forced ones, want one per 300 ms", keyAt, n)
	}
	for i := 1; i < len(keyAt); i++ {
		if keyAt[i]-keyAt[i-1] < 9 {
			t.Errorf("keyframes %d and %d only %d frames apart", keyAt[i-1], keyAt[i], keyAt[i]-keyAt[i-1])
		}
	}
	// The sender's own request passes the throttle.
	_ = e.ForceKeyFrame()
	encodeAt(t, e, &clock, start.Add(90*time.Second/30))
	e.KeyFrameNow()
	if out := encodeAt(t, e, &clock, start.Add(91*time.Second/30)); !isKey(out) {
		t.Error("KeyFrameNow right after a keyframe did not make one")
	}
	// A keyframe stays within the intra cap (900 % of an average frame at
	// 30 fps), with libvpx's slack.
	avg := 300_000 / 8 / 30
	for _, k := range keyAt[1:] {
		if sizes[k] > 12*avg {
			t.Errorf("keyframe %d is %d bytes, %.1f average frames", k, sizes[k], float64(sizes[k])/float64(avg))
		}
	}
}

func TestBacklogSkipsFrames(t *testing.T) {
	calls := 0
	p := NewParams()
	p.Backlog = func() time.Duration {
		// The pacer is behind for two frames out of three.
		calls++
		if calls%3 != 0 {
			return time.Second
		}
		return 0
	}
	e := newTestEncoder(t, &sliceReader{frames: frames(t, 320, 180, 4)}, p, 320, 180)
	d, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i := range 60 {
		f, err := nextFrame(t, e) // empty frames for the skipped ones
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Decode(f); err != nil {
			t.Fatalf("frame %d after skipped ones: %v", i, err)
		}
	}
	if st := e.Stats(); st.Dropped != 120 || st.Frames != 60 {
		t.Fatalf("stats %+v: want 120 dropped, 60 encoded", st)
	}
}
