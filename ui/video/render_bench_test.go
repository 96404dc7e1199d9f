package video

import (
	"fmt"
	"image"
	"math/rand/v2"
	"testing"
)

// noiseFrame is the worst case for the renderer: every cell changes colour.
func noiseFrame(w, h int) *image.YCbCr {
	rng := rand.New(rand.NewPCG(3, 4))
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = uint8(rng.IntN(256))
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
	}
	return img
}

// BenchmarkRender draws a 640×360 frame (the SD call size) at the in-call
// pane sizes; bytes/frame is what the terminal has to swallow.
func BenchmarkRender(b *testing.B) {
	frames := map[string]*image.YCbCr{"pattern": patternFrame(b, 640, 360), "noise": noiseFrame(640, 360)}
	for _, size := range [][2]int{{120, 40}, {80, 24}} {
		for _, mode := range []Mode{TrueColor, ANSI256} {
			for _, src := range []string{"pattern", "noise"} {
				img := frames[src]
				b.Run(fmt.Sprintf("%dx%d/%v/%s", size[0], size[1], mode, src), func(b *testing.B) {
					r := NewRenderer(mode)
					var n int
					for b.Loop() {
						n = len(r.Render(img, size[0], size[1]))
					}
					b.ReportMetric(float64(n), "bytes/frame")
				})
			}
		}
	}
}
