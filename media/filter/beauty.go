// Package filter holds video filters for pion/mediadevices tracks.
package filter

import (
	"image"
	"math"
	"sync"

	"github.com/pion/mediadevices/pkg/io/video"

	"github.com/softphone/softphone/media/framepool"
)

// MaxLevel is the highest whiteness / smoothing level.
const MaxLevel = 9

// Beauty returns a transform that whitens (0–9) and smooths skin (0–9).
//
//   - Whitening is a luma curve, log(1+(β-1)x)/log(β) on the video range
//     16–235: mid-tones lift with the level while black and white points stay.
//   - Smoothing is a guided filter (He et al.) on luma with the picture as its
//     own guide: flat areas (skin texture, noise) are averaged, areas whose
//     local variance is large compared with ε (eyes, contours, hair) pass
//     almost unchanged. The result is blended in through a soft skin-tone mask
//     computed from Cb/Cr, so background texture keeps its detail.
//
// Chroma is copied unchanged. Inputs may have any YCbCr subsampling (4:2:0 and
// 4:2:2 from cameras); other image types are converted to I420 first.
//
// Buffers: the source frame is never written and is released right after
// processing. Every transform instance (one per wrapped reader) keeps its own
// scratch buffers and a small pool of output frames; a frame returns to the
// pool when its release func is called. mediadevices' track discards release
// funcs, so there each output is a fresh frame that stays valid for as long as
// any reader holds it. Levels 0/0 return the source reader itself: no copy.
func Beauty(whiteness, smoothing int) video.TransformFunc {
	whiteness = min(max(whiteness, 0), MaxLevel)
	smoothing = min(max(smoothing, 0), MaxLevel)
	return func(r video.Reader) video.Reader {
		if whiteness == 0 && smoothing == 0 {
			return r
		}
		return newBeauty(r, whiteness, smoothing)
	}
}

type beauty struct {
	src       video.Reader
	smoothing int
	lut       [256]uint8 // whitening curve (identity at level 0)
	skin      []uint8    // 256×256 soft skin mask indexed by Cb<<8|Cr, 0..255

	mu     sync.Mutex // serialises Read: the scratch buffers are shared
	outs   framepool.Pool
	sumA   []float32 // box-filter scratch, w*h each
	sumB   []float32
	meanI  []float32
	meanII []float32
}

func newBeauty(r video.Reader, whiteness, smoothing int) *beauty {
	b := &beauty{src: r, smoothing: smoothing}
	beta := 1 + 0.8*float64(whiteness)
	for v := range b.lut {
		if whiteness == 0 || v <= 16 || v >= 235 {
			b.lut[v] = uint8(v)
			continue
		}
		x := float64(v-16) / 219
		y := math.Log1p(x*(beta-1)) / math.Log(beta)
		b.lut[v] = uint8(math.Round(16 + 219*y))
	}
	if smoothing > 0 {
		b.skin = skinMask()
	}
	return b
}

// skinMask builds a soft ellipse around the skin-tone cluster in the CbCr
// plane (Cb≈77–127, Cr≈133–173 for most skin tones under common lighting):
// 255 inside, fading to 0 over a margin so the blend has no visible seams.
func skinMask() []uint8 {
	m := make([]uint8, 256*256)
	for cb := range 256 {
		for cr := range 256 {
			dx := (float64(cb) - 103) / 26
			dy := (float64(cr) - 152) / 21
			d := math.Sqrt(dx*dx + dy*dy)
			var w float64
			switch {
			case d <= 1:
				w = 1
			case d < 1.6:
				w = (1.6 - d) / 0.6
			}
			m[cb<<8|cr] = uint8(math.Round(w * 255))
		}
	}
	return m
}

func (b *beauty) Read() (image.Image, func(), error) {
	img, release, err := b.src.Read()
	if err != nil {
		return nil, func() {}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	src, ok := img.(*image.YCbCr)
	if !ok {
		conv := video.ToI420(video.ReaderFunc(func() (image.Image, func(), error) { return img, func() {}, nil }))
		ci, crel, cerr := conv.Read()
		if cerr != nil {
			release()
			return nil, func() {}, cerr
		}
		defer crel()
		src = ci.(*image.YCbCr)
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	out := b.outs.Get(image.Rect(0, 0, w, h), src.SubsampleRatio)
	b.process(out, src)
	release()
	return out, b.outs.Releaser(out), nil
}

// process writes the filtered src into out (same size and subsampling).
func (b *beauty) process(out, src *image.YCbCr) {
	w, h := out.Rect.Dx(), out.Rect.Dy()
	// Chroma first: the skin mask reads it from out.
	cw, ch := chromaSize(out)
	xs, ys := chromaShift(out.SubsampleRatio)
	for j := range ch {
		so := src.COffset(src.Rect.Min.X, src.Rect.Min.Y+j<<ys)
		copy(out.Cb[j*out.CStride:j*out.CStride+cw], src.Cb[so:])
		copy(out.Cr[j*out.CStride:j*out.CStride+cw], src.Cr[so:])
	}
	if b.smoothing == 0 {
		for y := range h {
			so := src.YOffset(src.Rect.Min.X, src.Rect.Min.Y+y)
			srow := src.Y[so : so+w]
			orow := out.Y[y*out.YStride : y*out.YStride+w]
			for x, v := range srow {
				orow[x] = b.lut[v]
			}
		}
		return
	}
	b.guided(src, w, h)
	// b.sumA / b.sumB now hold the box-averaged guided-filter coefficients.
	for y := range h {
		so := src.YOffset(src.Rect.Min.X, src.Rect.Min.Y+y)
		srow := src.Y[so : so+w]
		orow := out.Y[y*out.YStride : y*out.YStride+w]
		arow := b.sumA[y*w : y*w+w]
		brow := b.sumB[y*w : y*w+w]
		crow := (y >> ys) * out.CStride
		for x, v := range srow {
			c := crow + x>>xs
			m := int32(b.skin[int(out.Cb[c])<<8|int(out.Cr[c])])
			if m == 0 {
				orow[x] = b.lut[v]
				continue
			}
			q := int32(arow[x]*float32(v) + brow[x] + 0.5)
			q = min(max(q, 0), 255)
			vi := int32(v)
			orow[x] = b.lut[vi+((q-vi)*m+127)/255]
		}
	}
}

// guided runs the guided filter's box stages on src's luma and leaves the
// averaged coefficients mean(a) in sumA and mean(b) in sumB, so the filtered
// value of pixel i is sumA[i]*I[i] + sumB[i].
func (b *beauty) guided(src *image.YCbCr, w, h int) {
	n := w * h
	if cap(b.sumA) < n {
		b.sumA = make([]float32, n)
		b.sumB = make([]float32, n)
		b.meanI = make([]float32, n)
		b.meanII = make([]float32, n)
	}
	b.sumA, b.sumB, b.meanI, b.meanII = b.sumA[:n], b.sumB[:n], b.meanI[:n], b.meanII[:n]
	s := float64(b.smoothing)
	// Radius grows with the level and the picture width (a face spans a similar
	// share of the frame at any resolution); ε is the variance below which
	// detail counts as texture to remove.
	r := max(1, int(math.Round((2+s/3)*float64(w)/640)))
	eps := float32((2 + 2.5*s) * (2 + 2.5*s))

	for y := range h {
		so := src.YOffset(src.Rect.Min.X, src.Rect.Min.Y+y)
		row := src.Y[so : so+w]
		mi := b.meanI[y*w : y*w+w]
		mii := b.meanII[y*w : y*w+w]
		for x, v := range row {
			f := float32(v)
			mi[x] = f
			mii[x] = f * f
		}
	}
	boxMean(b.meanI, b.sumA, w, h, r)
	boxMean(b.meanII, b.sumA, w, h, r)
	for i := range n {
		m := b.meanI[i]
		v := max(b.meanII[i]-m*m, 0)
		a := v / (v + eps)
		b.sumA[i] = a
		b.sumB[i] = (1 - a) * m
	}
	boxMean(b.sumA, b.meanI, w, h, r)
	boxMean(b.sumB, b.meanI, w, h, r)
}

// boxMean replaces p (w×h) with its mean over a (2r+1)² window clipped to the
// picture, using tmp (same size) as scratch. Running sums make the cost
// independent of r.
func boxMean(p, tmp []float32, w, h, r int) {
	// Horizontal pass: p → tmp.
	for y := range h {
		row := p[y*w : y*w+w]
		out := tmp[y*w : y*w+w]
		var acc float32
		for x := 0; x < min(r, w); x++ {
			acc += row[x]
		}
		for x := range w {
			if x+r < w {
				acc += row[x+r]
			}
			if x-r-1 >= 0 {
				acc -= row[x-r-1]
			}
			cnt := min(x+r, w-1) - max(x-r, 0) + 1
			out[x] = acc / float32(cnt)
		}
	}
	// Vertical pass: tmp → p, column accumulators kept in p's last use order.
	// Running a row-vector accumulator keeps memory access sequential.
	acc := make([]float32, w) // small (one row); allocation is negligible next to the frame
	for y := 0; y < min(r, h); y++ {
		addRow(acc, tmp[y*w:y*w+w], 1)
	}
	for y := range h {
		if y+r < h {
			addRow(acc, tmp[(y+r)*w:(y+r)*w+w], 1)
		}
		if y-r-1 >= 0 {
			addRow(acc, tmp[(y-r-1)*w:(y-r-1)*w+w], -1)
		}
		inv := 1 / float32(min(y+r, h-1)-max(y-r, 0)+1)
		out := p[y*w : y*w+w]
		for x, v := range acc {
			out[x] = v * inv
		}
	}
}

func addRow(acc, row []float32, sign float32) {
	row = row[:len(acc)]
	if sign > 0 {
		for i, v := range row {
			acc[i] += v
		}
		return
	}
	for i, v := range row {
		acc[i] -= v
	}
}

func chromaShift(r image.YCbCrSubsampleRatio) (xs, ys int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 1, 0
	case image.YCbCrSubsampleRatio420:
		return 1, 1
	case image.YCbCrSubsampleRatio440:
		return 0, 1
	case image.YCbCrSubsampleRatio411:
		return 2, 0
	case image.YCbCrSubsampleRatio410:
		return 2, 1
	default:
		return 0, 0
	}
}

func chromaSize(m *image.YCbCr) (cw, ch int) {
	xs, ys := chromaShift(m.SubsampleRatio)
	w, h := m.Rect.Dx(), m.Rect.Dy()
	return (w + 1<<xs - 1) >> xs, (h + 1<<ys - 1) >> ys
}
