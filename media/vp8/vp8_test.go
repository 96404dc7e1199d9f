package vp8

import (
	"errors"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/webrtc/v4"
	"github.com/softphone/softphone/media/videosrc"
)

// frames renders n test-pattern frames with a little deterministic noise, so
// the encoder sees texture like a camera's rather than flat synthetic areas.
func frames(t testing.TB, w, h, n int) []*image.YCbCr { return noisyFrames(t, w, h, n, 4) }

func noisyFrames(t testing.TB, w, h, n, noise int) []*image.YCbCr {
	t.Helper()
	p, err := videosrc.NewPattern(videosrc.PatternOptions{Width: w, Height: h, Unpaced: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]*image.YCbCr, n)
	for i := range out {
		img := p.Frame(uint32(i))
		for j := range img.Y {
			v := int(img.Y[j]) + rng.IntN(2*noise+1) - noise
			img.Y[j] = uint8(min(max(v, 0), 255))
		}
		out[i] = img
	}
	return out
}

// sliceReader serves frames in a loop.
type sliceReader struct {
	frames []*image.YCbCr
	i      int
}

func (s *sliceReader) Read() (image.Image, func(), error) {
	img := s.frames[s.i%len(s.frames)]
	s.i++
	return img, func() {}, nil
}

// fakeClock advances one frame interval per call, so libvpx's rate control
// sees a steady 30 fps however fast the test runs.
func fakeClock(fps float64) func() time.Time {
	t := time.Unix(1000, 0)
	return func() time.Time {
		t = t.Add(time.Duration(float64(time.Second) / fps))
		return t
	}
}

func newTestEncoder(t testing.TB, r video.Reader, p Params, w, h int) *Encoder {
	t.Helper()
	rc, err := p.BuildVideoEncoder(r, prop.Media{Video: prop.Video{Width: w, Height: h, FrameRate: 30}})
	if err != nil {
		t.Fatal(err)
	}
	e := rc.(*Encoder)
	e.now = fakeClock(30)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// nextFrame reads until the encoder codes a frame: it returns an empty one
// for each captured frame it leaves out.
func nextFrame(t testing.TB, r interface {
	Read() ([]byte, func(), error)
}) ([]byte, error) {
	t.Helper()
	for range 1000 {
		f, _, err := r.Read()
		if err != nil || len(f) > 0 {
			return f, err
		}
	}
	t.Fatal("no coded frame in 1000 reads")
	return nil, nil
}

func isKey(frame []byte) bool { return len(frame) > 0 && frame[0]&1 == 0 }

func psnr(a, b *image.YCbCr) float64 {
	var se float64
	for i := range a.Y {
		d := float64(a.Y[i]) - float64(b.Y[i])
		se += d * d
	}
	mse := se / float64(len(a.Y))
	if mse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/mse)
}

func TestRTPCodec(t *testing.T) {
	p := NewParams()
	c := p.RTPCodec()
	if c.MimeType != webrtc.MimeTypeVP8 || c.PayloadType != 96 || c.ClockRate != 90000 {
		t.Fatalf("codec = %s pt %d clock %d", c.MimeType, c.PayloadType, c.ClockRate)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct{ w, h, kbps int }{{640, 360, 300}, {320, 180, 300}, {352, 288, 500}, {321, 181, 200}} {
		src := frames(t, tc.w, tc.h, 30)
		p := NewParams()
		p.BitRate = tc.kbps * 1000
		e := newTestEncoder(t, &sliceReader{frames: src}, p, tc.w, tc.h)
		d, err := NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		var bytes int
		var minPSNR = 99.0
		for i := range 90 {
			f, err := nextFrame(t, e)
			if err != nil {
				t.Fatal(err)
			}
			bytes += len(f)
			if (i == 0) != isKey(f) {
				t.Fatalf("%dx%d frame %d: key=%v", tc.w, tc.h, i, isKey(f))
			}
			img, err := d.Decode(f)
			if err != nil {
				t.Fatalf("decode %d: %v", i, err)
			}
			if img.Rect.Dx() != tc.w || img.Rect.Dy() != tc.h {
				t.Fatalf("decoded %v", img.Rect)
			}
			if i >= 30 {
				minPSNR = min(minPSNR, psnr(src[i%len(src)], img))
			}
		}
		kbps := float64(bytes*8) / 3 / 1000
		t.Logf("%dx%d @ %d kbps: got %.0f kbps, min PSNR %.1f dB", tc.w, tc.h, tc.kbps, kbps, minPSNR)
		if minPSNR < 20 {
			t.Errorf("PSNR %.1f dB too low", minPSNR)
		}
		if kbps > 2*float64(tc.kbps) {
			t.Errorf("bitrate %.0f kbps far above target %d", kbps, tc.kbps)
		}
		_ = d.Close()
	}
}

func TestBitRateAndKeyFrame(t *testing.T) {
	src := noisyFrames(t, 640, 360, 30, 1)
	e := newTestEncoder(t, &sliceReader{frames: src}, NewParams(), 640, 360)
	sum := func(n int) (total int) {
		for range n {
			f, err := nextFrame(t, e)
			if err != nil {
				t.Fatal(err)
			}
			total += len(f)
		}
		return total
	}
	sum(60)
	high := sum(60)
	if err := e.SetBitRate(80_000); err != nil {
		t.Fatal(err)
	}
	if err := e.SetBitRate(0); err == nil {
		t.Error("SetBitRate(0) accepted")
	}
	sum(60)
	low := sum(60)
	t.Logf("bytes per 2 s: 300 kbps %d, 80 kbps %d", high, low)
	if low >= high {
		t.Errorf("lowering the bitrate did not lower the output: %d >= %d", low, high)
	}
	_ = e.ForceKeyFrame()
	f, _ := nextFrame(t, e)
	if !isKey(f) {
		t.Error("ForceKeyFrame: next frame is not a keyframe")
	}
	f, _ = nextFrame(t, e)
	if isKey(f) {
		t.Error("frame after the forced keyframe is a keyframe too")
	}
}

func TestResolutionChange(t *testing.T) {
	big := frames(t, 640, 360, 2)
	small := frames(t, 320, 180, 2)
	var mu sync.Mutex
	cur := big
	i := 0
	r := video.ReaderFunc(func() (image.Image, func(), error) {
		mu.Lock()
		defer mu.Unlock()
		i++
		return cur[i%2], func() {}, nil
	})
	e := newTestEncoder(t, r, NewParams(), 0, 0) // size from the first frame
	d, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for round := range 20 {
		want := big
		if round%2 == 1 {
			want = small
		}
		mu.Lock()
		cur = want
		mu.Unlock()
		for k := range 3 {
			f, err := nextFrame(t, e)
			if err != nil {
				t.Fatal(err)
			}
			if k == 0 && !isKey(f) {
				t.Fatalf("round %d: first frame after a size change is not a keyframe", round)
			}
			img, err := d.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if img.Rect != want[0].Rect {
				t.Fatalf("round %d: decoded %v, want %v", round, img.Rect, want[0].Rect)
			}
		}
	}
}

// blockingReader hands out a frame only when one is sent on ch.
type blockingReader struct {
	ch chan *image.YCbCr
}

func (b *blockingReader) Read() (image.Image, func(), error) {
	img, ok := <-b.ch
	if !ok {
		return nil, nil, io.EOF
	}
	return img, func() {}, nil
}

func TestControllersDoNotWaitForFrames(t *testing.T) {
	src := frames(t, 320, 180, 1)
	br := &blockingReader{ch: make(chan *image.YCbCr)}
	e := newTestEncoder(t, br, NewParams(), 320, 180)

	type result struct {
		f   []byte
		err error
	}
	res := make(chan result, 1)
	go func() {
		f, err := nextFrame(t, e)
		res <- result{f, err}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			_ = e.SetBitRate(200_000)
			_ = e.ForceKeyFrame()
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("controllers blocked while Read waits for the source")
	}
	br.ch <- src[0]
	if r := <-res; r.err != nil || !isKey(r.f) {
		t.Fatalf("read: key=%v err=%v", isKey(r.f), r.err)
	}
	// Close while Read is blocked: Read returns io.EOF once the source yields.
	go func() {
		f, err := nextFrame(t, e)
		res <- result{f, err}
	}()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	var r result
	select { // Read may have seen the close before reaching the source
	case br.ch <- src[0]:
		r = <-res
	case r = <-res:
	}
	if !errors.Is(r.err, io.EOF) {
		t.Fatalf("read after close: %v", r.err)
	}
}

func TestDecoderErrors(t *testing.T) {
	src := frames(t, 320, 180, 3)
	e := newTestEncoder(t, &sliceReader{frames: src}, NewParams(), 320, 180)
	key, _ := nextFrame(t, e)
	delta, _ := nextFrame(t, e)

	d, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decode(delta); err == nil {
		t.Error("delta frame before any keyframe decoded without error")
	}
	if _, err := d.Decode(nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("empty frame: %v", err)
	}
	if _, err := d.Decode([]byte{0x00, 0x01, 0x02}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("garbage: %v", err)
	}
	huge := []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0xff, 0x3f, 0xff, 0x3f, 0, 0, 0, 0}
	if _, err := d.Decode(huge); !errors.Is(err, ErrCorrupt) {
		t.Errorf("16383x16383 keyframe: %v", err)
	}
	if _, err := d.Decode(key[:len(key)/3]); err == nil {
		t.Log("truncated keyframe decoded (libvpx conceals); fine")
	}
	// The decoder recovers on the next keyframe.
	img, err := d.Decode(key)
	if err != nil {
		t.Fatal("keyframe after errors:", err)
	}
	// DecodeInto reuses the planes.
	img2, err := d.DecodeInto(delta, img)
	if err != nil || img2 != img {
		t.Fatalf("DecodeInto: %v reused=%v", err, img2 == img)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := d.Decode(key); !errors.Is(err, ErrClosed) {
		t.Errorf("decode after close: %v", err)
	}
}

func TestParamsValidation(t *testing.T) {
	p := NewParams()
	p.CPUUsed = 17
	if _, err := p.BuildVideoEncoder(&sliceReader{}, prop.Media{}); err == nil {
		t.Error("CPUUsed 17 accepted")
	}
	var zero Params // zero value falls back to defaults (CPUUsed 0 is valid)
	rc, err := zero.BuildVideoEncoder(&sliceReader{frames: frames(t, 64, 64, 1)}, prop.Media{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if f, err := nextFrame(t, rc); err != nil || !isKey(f) {
		t.Fatalf("zero params: %v", err)
	}
	if _, ok := rc.Controller().(codec.KeyFrameController); !ok {
		t.Error("controller is not a KeyFrameController")
	}
}
