package filter

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pion/mediadevices/pkg/io/video"
)

// skinFace builds a test picture: skin-toned chroma everywhere, a vertical
// luma step at x = w/2 (an edge: 90 → 170) and noise of ±noise on top.
func skinFace(w, h int, ratio image.YCbCrSubsampleRatio, noise int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), ratio)
	rng := rand.New(rand.NewPCG(3, 4))
	for y := range h {
		for x := range w {
			v := 90
			if x >= w/2 {
				v = 170
			}
			v += rng.IntN(2*noise+1) - noise
			img.Y[y*img.YStride+x] = uint8(v)
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 108, 150 // a typical skin tone
	}
	return img
}

func one(img image.Image) video.Reader {
	return video.ReaderFunc(func() (image.Image, func(), error) { return img, func() {}, nil })
}

func apply(t testing.TB, img image.Image, white, smooth int) *image.YCbCr {
	t.Helper()
	out, release, err := Beauty(white, smooth)(one(img)).Read()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	y := out.(*image.YCbCr)
	return &image.YCbCr{Y: bytes.Clone(y.Y), Cb: bytes.Clone(y.Cb), Cr: bytes.Clone(y.Cr),
		YStride: y.YStride, CStride: y.CStride, SubsampleRatio: y.SubsampleRatio, Rect: y.Rect}
}

func meanY(img *image.YCbCr) float64 {
	var s float64
	for _, v := range img.Y {
		s += float64(v)
	}
	return s / float64(len(img.Y))
}

func TestPassthrough(t *testing.T) {
	src := skinFace(64, 32, image.YCbCrSubsampleRatio420, 3)
	r := one(src)
	if got := Beauty(0, 0)(r); got == nil {
		t.Fatal("nil reader")
	}
	out, _, _ := Beauty(0, 0)(r).Read()
	if out != image.Image(src) {
		t.Error("level 0/0 copied the frame")
	}
	// Out-of-range levels clamp rather than misbehave.
	if m := meanY(apply(t, src, -5, -1)); m != meanY(src) {
		t.Error("negative levels changed the picture")
	}
}

func TestWhitening(t *testing.T) {
	src := image.NewYCbCr(image.Rect(0, 0, 256, 4), image.YCbCrSubsampleRatio420)
	for y := range 4 {
		for x := range 256 {
			src.Y[y*src.YStride+x] = uint8(x)
		}
	}
	for i := range src.Cb {
		src.Cb[i], src.Cr[i] = 128, 128
	}
	orig := bytes.Clone(src.Y)
	prev := meanY(src)
	for level := 1; level <= MaxLevel; level++ {
		out := apply(t, src, level, 0)
		m := meanY(out)
		if m <= prev {
			t.Errorf("level %d: mean %.1f not above %.1f", level, m, prev)
		}
		prev = m
		for _, v := range []int{0, 16, 235, 255} {
			if out.Y[v] != uint8(v) {
				t.Errorf("level %d: %d → %d, black/white points must stay", level, v, out.Y[v])
			}
		}
		for x := 17; x < 235; x++ {
			if out.Y[x] < out.Y[x-1] {
				t.Fatalf("level %d: curve not monotonic at %d", level, x)
			}
		}
	}
	if !bytes.Equal(src.Y, orig) {
		t.Error("source mutated")
	}
}

// edgeWidth measures the 10–90 % rise of the mean luma profile across the
// step; flatness is the standard deviation on the flat left half.
func edgeStats(img *image.YCbCr) (rise int, flatSD float64) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	prof := make([]float64, w)
	for y := range h {
		for x := range w {
			prof[x] += float64(img.Y[y*img.YStride+x]) / float64(h)
		}
	}
	lo, hi := prof[w/4], prof[3*w/4]
	a, b := w, 0
	for x := w/2 - 20; x < w/2+20; x++ {
		f := (prof[x] - lo) / (hi - lo)
		if f > 0.1 && x < a {
			a = x
		}
		if f < 0.9 {
			b = x
		}
	}
	var s, s2, n float64
	for y := 8; y < h-8; y++ {
		for x := 8; x < w/2-16; x++ {
			v := float64(img.Y[y*img.YStride+x])
			s += v
			s2 += v * v
			n++
		}
	}
	return b - a + 1, math.Sqrt(s2/n - (s/n)*(s/n))
}

// boxBlur is the plain blur the smoothing must beat on edges.
func boxBlur(src *image.YCbCr, r int) *image.YCbCr {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewYCbCr(src.Rect, src.SubsampleRatio)
	for y := range h {
		for x := range w {
			var s, n int
			for dy := -r; dy <= r; dy++ {
				for dx := -r; dx <= r; dx++ {
					xx, yy := x+dx, y+dy
					if xx >= 0 && xx < w && yy >= 0 && yy < h {
						s += int(src.Y[yy*src.YStride+xx])
						n++
					}
				}
			}
			dst.Y[y*dst.YStride+x] = uint8((s + n/2) / n)
		}
	}
	return dst
}

func TestSmoothingPreservesEdges(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422} {
		src := skinFace(640, 120, ratio, 6)
		orig := bytes.Clone(src.Y)
		_, noiseSrc := edgeStats(src)
		riseSrc, _ := edgeStats(src)
		prevSD := noiseSrc
		for _, level := range []int{3, 6, 9} {
			out := apply(t, src, 0, level)
			if out.SubsampleRatio != ratio || !bytes.Equal(out.Cb, src.Cb) {
				t.Fatalf("%v: chroma or subsampling changed", ratio)
			}
			rise, sd := edgeStats(out)
			r := max(1, int(math.Round(2+float64(level)/3)))
			blurRise, blurSD := edgeStats(boxBlur(src, r))
			t.Logf("%v level %d: edge rise %d px (source %d, box r=%d %d), noise σ %.2f (source %.2f, box %.2f)",
				ratio, level, rise, riseSrc, r, blurRise, sd, noiseSrc, blurSD)
			if sd >= prevSD {
				t.Errorf("%v level %d: noise σ %.2f not below %.2f", ratio, level, sd, prevSD)
			}
			prevSD = sd
			if rise >= blurRise {
				t.Errorf("%v level %d: edge rise %d px, plain blur %d px", ratio, level, rise, blurRise)
			}
		}
		if !bytes.Equal(src.Y, orig) {
			t.Errorf("%v: source mutated", ratio)
		}
	}
}

func TestSmoothingSkipsNonSkin(t *testing.T) {
	src := skinFace(160, 64, image.YCbCrSubsampleRatio420, 6)
	for i := range src.Cb {
		src.Cb[i], src.Cr[i] = 200, 60 // blue-ish: not skin
	}
	out := apply(t, src, 0, 9)
	if !bytes.Equal(out.Y, src.Y) {
		t.Error("smoothing changed a non-skin picture")
	}
}

func TestOtherImageTypesAndReuse(t *testing.T) {
	rgba := image.NewRGBA(image.Rect(0, 0, 32, 16))
	for i := range rgba.Pix {
		rgba.Pix[i] = 128
	}
	rgba.Set(0, 0, color.RGBA{200, 150, 120, 255})
	out := apply(t, rgba, 5, 5)
	if out.Rect.Dx() != 32 || out.Rect.Dy() != 16 {
		t.Fatalf("rect %v", out.Rect)
	}
	// Released frames are reused; unreleased ones never are.
	src := skinFace(64, 32, image.YCbCrSubsampleRatio420, 3)
	r := Beauty(4, 4)(one(src))
	a, relA, _ := r.Read()
	b, _, _ := r.Read()
	if a == b {
		t.Fatal("unreleased frame reused")
	}
	relA()
	c, _, _ := r.Read()
	if c != a {
		t.Error("released frame not reused")
	}
}

func BenchmarkBeauty640x360(b *testing.B) {
	for _, tc := range []struct {
		name          string
		white, smooth int
	}{{"white5", 5, 0}, {"smooth5", 0, 5}, {"both9", 9, 9}} {
		b.Run(tc.name, func(b *testing.B) {
			src := skinFace(640, 360, image.YCbCrSubsampleRatio420, 6)
			r := Beauty(tc.white, tc.smooth)(one(src))
			for b.Loop() {
				_, release, err := r.Read()
				if err != nil {
					b.Fatal(err)
				}
				release()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
		})
	}
}
