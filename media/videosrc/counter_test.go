package videosrc_test

import (
	"image"
	"image/draw"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/softphone/softphone/media/videosrc"
	"github.com/softphone/softphone/media/vp8"
)

func TestCounterExact(t *testing.T) {
	for _, size := range []image.Point{{640, 360}, {320, 180}, {160, 90}, {353, 289}, {1280, 720}} {
		img := image.NewYCbCr(image.Rect(0, 0, size.X, size.Y), image.YCbCrSubsampleRatio420)
		for _, n := range []uint32{0, 1, 2, 255, 256, 65535, 1 << 31, 0xffffffff, 123456789} {
			videosrc.DrawCounter(img, n)
			got, ok := videosrc.ReadCounter(img)
			if !ok || got != n {
				t.Errorf("%v: wrote %d, read %d ok=%v", size, n, got, ok)
			}
		}
	}
}

func TestCounterRejectsOtherPictures(t *testing.T) {
	blank := image.NewYCbCr(image.Rect(0, 0, 640, 360), image.YCbCrSubsampleRatio420)
	if _, ok := videosrc.ReadCounter(blank); ok {
		t.Error("read a counter from a blank picture")
	}
	p, _ := videosrc.NewPattern(videosrc.PatternOptions{Unpaced: true})
	img := p.Frame(42)
	// Flip one data cell: the parity check must reject it.
	cw, ch := 640/20, 16
	for y := ch / 4; y < ch*3/4; y++ {
		for x := 5 * cw; x < 6*cw; x++ {
			img.Y[y*img.YStride+x] = 251 - img.Y[y*img.YStride+x]
		}
	}
	if n, ok := videosrc.ReadCounter(img); ok {
		t.Errorf("read %d from a corrupted band", n)
	}
	if _, ok := videosrc.ReadCounter(image.NewRGBA(image.Rect(0, 0, 10, 10))); ok {
		t.Error("read a counter from a tiny picture")
	}
}

// halve downscales by two with a 2×2 box filter, like a receiver's preview.
func halve(src *image.YCbCr) *image.YCbCr {
	w, h := src.Rect.Dx()/2, src.Rect.Dy()/2
	dst := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			s := int(src.Y[2*y*src.YStride+2*x]) + int(src.Y[2*y*src.YStride+2*x+1]) +
				int(src.Y[(2*y+1)*src.YStride+2*x]) + int(src.Y[(2*y+1)*src.YStride+2*x+1])
			dst.Y[y*dst.YStride+x] = uint8((s + 2) / 4)
		}
	}
	for i := range dst.Cb {
		dst.Cb[i], dst.Cr[i] = 128, 128
	}
	return dst
}

// TestCounterThroughVP8 sends the pattern through the VP8 encoder at 300 kbps
// and reads every counter back from the decoded picture, at full size, halved,
// and as RGBA.
func TestCounterThroughVP8(t *testing.T) {
	for _, size := range []image.Point{{640, 360}, {320, 180}} {
		pat, err := videosrc.NewPattern(videosrc.PatternOptions{Width: size.X, Height: size.Y, Unpaced: true})
		if err != nil {
			t.Fatal(err)
		}
		params := vp8.NewParams()
		params.BitRate = 300_000
		enc, err := params.BuildVideoEncoder(pat, prop.Media{Video: prop.Video{Width: size.X, Height: size.Y, FrameRate: 30}})
		if err != nil {
			t.Fatal(err)
		}
		dec, err := vp8.NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		misses, dropped := 0, 0
		for i := range 150 {
			f, _, err := enc.Read()
			if err != nil {
				t.Fatal(err)
			}
			if len(f) == 0 {
				// libvpx's rate control skipped this frame: nothing to read.
				dropped++
				continue
			}
			img, err := dec.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := videosrc.ReadCounter(img)
			if ok && got != uint32(i) {
				t.Fatalf("%v frame %d: read wrong counter %d", size, i, got)
			}
			if !ok {
				misses++
			}
			if got, ok := videosrc.ReadCounter(halve(img)); !ok || got != uint32(i) {
				t.Errorf("%v frame %d halved: read %d ok=%v", size, i, got, ok)
			}
			if i%50 == 0 {
				rgba := image.NewRGBA(img.Rect)
				draw.Draw(rgba, rgba.Rect, img, image.Point{}, draw.Src)
				if got, ok := videosrc.ReadCounter(rgba); !ok || got != uint32(i) {
					t.Errorf("%v frame %d RGBA: read %d ok=%v", size, i, got, ok)
				}
			}
		}
		// Unpaced frames reach the encoder as if at a very high frame rate, the
		// hardest case for the rate control; every frame must still read back.
		if misses > 0 {
			t.Errorf("%v: %d of 150 frames unreadable", size, misses)
		}
		// A skipped frame is the rate control's right, but a test pattern
		// that mostly does not get coded would say nothing.
		if dropped > 150/3 {
			t.Errorf("%v: %d of 150 frames skipped by the rate control", size, dropped)
		}
		t.Logf("%v: %d of 150 frames skipped", size, dropped)
		_ = enc.Close()
		_ = dec.Close()
	}
}

func TestPatternSourceAndPacing(t *testing.T) {
	var captured []uint32
	p, err := videosrc.NewPattern(videosrc.PatternOptions{Width: 320, Height: 180, FPS: 50,
		OnCapture: func(n uint32, at time.Time) { captured = append(captured, n) }})
	if err != nil {
		t.Fatal(err)
	}
	var _ video.Reader = p
	for i := range 3 {
		img, release, err := p.Read()
		if err != nil {
			t.Fatal(err)
		}
		y := img.(*image.YCbCr)
		if y.SubsampleRatio != image.YCbCrSubsampleRatio420 || y.Rect.Dx() != 320 || y.Rect.Dy() != 180 {
			t.Fatalf("frame %v %v", y.Rect, y.SubsampleRatio)
		}
		if n, ok := videosrc.ReadCounter(img); !ok || n != uint32(i) {
			t.Fatalf("counter %d ok=%v, want %d", n, ok, i)
		}
		release()
	}
	// After a stall the source must not burst out the frames it missed: five
	// more frames take at least four intervals (a lower bound, never flaky).
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	for range 5 {
		_, release, err := p.Read()
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	if d := time.Since(start); d < 4*20*time.Millisecond-time.Millisecond {
		t.Errorf("5 frames after a stall took %v: burst", d)
	}
	if len(captured) != 8 || captured[7] != 7 {
		t.Errorf("OnCapture saw %v", captured)
	}
	// Close unblocks a pending Read.
	done := make(chan error, 1)
	slow, _ := videosrc.NewPattern(videosrc.PatternOptions{FPS: 0.1})
	_, _, _ = slow.Read()
	go func() { _, _, err := slow.Read(); done <- err }()
	time.Sleep(10 * time.Millisecond)
	_ = slow.Close()
	if err := <-done; err != videosrc.ErrClosed {
		t.Errorf("read after close: %v", err)
	}
	if _, err := videosrc.NewPattern(videosrc.PatternOptions{Width: 1, Height: 1}); err == nil {
		t.Error("1x1 pattern accepted")
	}
}

func BenchmarkPattern(b *testing.B) {
	p, _ := videosrc.NewPattern(videosrc.PatternOptions{Width: 640, Height: 360, Unpaced: true})
	for b.Loop() {
		_, release, _ := p.Read()
		release()
	}
}

func BenchmarkReadCounter(b *testing.B) {
	p, _ := videosrc.NewPattern(videosrc.PatternOptions{Width: 640, Height: 360, Unpaced: true})
	img := p.Frame(7)
	for b.Loop() {
		videosrc.ReadCounter(img)
	}
}
