package vp8

import "image"

// weightBits is the fixed-point precision of the scaler's filter weights.
const weightBits = 14

// axis holds, for each output sample along one axis, the source samples it
// averages and their weights (summing to 1<<weightBits).
type axis struct {
	first []int    // first source sample of each output sample
	n     int      // taps per output sample (the widest footprint)
	w     []uint32 // n weights per output sample; unused taps weigh 0
}

// newAxis maps src samples onto dst with an area-average (box) filter: each
// output sample averages the source interval it covers, the samples at its
// edges weighted by how much of them it covers. That is the filter a
// downscale by a non-integer factor (640 → 480) needs to keep fine
// patterns from aliasing; upscaling degrades to nearest/linear blends.
func newAxis(src, dst int) axis {
	scale := float64(src) / float64(dst)
	n := int(scale) + 2
	a := axis{first: make([]int, dst), n: n, w: make([]uint32, dst*n)}
	for i := range dst {
		x0, x1 := float64(i)*scale, float64(i+1)*scale
		j0 := int(x0)
		a.first[i] = min(j0, src-1)
		ws := a.w[i*n : i*n+n]
		var total uint32
		last := -1
		for k := range n {
			j := j0 + k
			if float64(j) >= x1 || j >= src {
				break
			}
			cover := min(x1, float64(j+1)) - max(x0, float64(j))
			ws[k] = uint32(cover / scale * (1 << weightBits))
			total += ws[k]
			last = k
		}
		// Rounding leaves the weights a little short of one: give the
		// remainder to the largest tap so flat areas keep their value.
		if last >= 0 {
			big := 0
			for k := 1; k <= last; k++ {
				if ws[k] > ws[big] {
					big = k
				}
			}
			ws[big] += 1<<weightBits - total
		} else {
			ws[0] = 1 << weightBits
		}
	}
	return a
}

// scaler resizes I420 pictures of one size to another, reusing its output
// picture and scratch rows: the encoder copies each picture into libvpx
// before the next one is scaled.
type scaler struct {
	sw, sh, dw, dh int
	yx, yy, cx, cy axis
	tmp            []uint8 // horizontally scaled rows of one plane: dw × sh
	acc            []uint32
	out            *image.YCbCr
}

func newScaler(sw, sh, dw, dh int) *scaler {
	cw, ch := (dw+1)/2, (dh+1)/2
	return &scaler{
		sw: sw, sh: sh, dw: dw, dh: dh,
		yx: newAxis(sw, dw), yy: newAxis(sh, dh),
		cx: newAxis((sw+1)/2, cw), cy: newAxis((sh+1)/2, ch),
		tmp: make([]uint8, dw*sh),
		acc: make([]uint32, dw),
		out: image.NewYCbCr(image.Rect(0, 0, dw, dh), image.YCbCrSubsampleRatio420),
	}
}

// fits reports whether s scales sw×sh pictures to dw×dh.
func (s *scaler) fits(sw, sh, dw, dh int) bool {
	return s != nil && s.sw == sw && s.sh == sh && s.dw == dw && s.dh == dh
}

// scale resizes src (I420, s.sw×s.sh) into s's output picture and returns it.
func (s *scaler) scale(src *image.YCbCr) *image.YCbCr {
	b := src.Rect
	co := src.COffset(b.Min.X, b.Min.Y)
	s.plane(src.Y[src.YOffset(b.Min.X, b.Min.Y):], src.YStride, s.sw, s.sh, s.out.Y, s.out.YStride, s.dw, s.dh, &s.yx, &s.yy)
	cw, ch := (s.dw+1)/2, (s.dh+1)/2
	scw, sch := (s.sw+1)/2, (s.sh+1)/2
	s.plane(src.Cb[co:], src.CStride, scw, sch, s.out.Cb, s.out.CStride, cw, ch, &s.cx, &s.cy)
	s.plane(src.Cr[co:], src.CStride, scw, sch, s.out.Cr, s.out.CStride, cw, ch, &s.cx, &s.cy)
	return s.out
}

// plane scales one plane: horizontally into tmp, then vertically into dst.
func (s *scaler) plane(src []uint8, sstride, sw, sh int, dst []uint8, dstride, dw, dh int, ax, ay *axis) {
	const half = 1 << (weightBits - 1)
	tmp := s.tmp[:dw*sh]
	for y := range sh {
		row := src[y*sstride : y*sstride+sw]
		out := tmp[y*dw : y*dw+dw]
		for x := range dw {
			f := ax.first[x]
			ws := ax.w[x*ax.n : x*ax.n+ax.n]
			var sum uint32
			for k, w := range ws {
				if w != 0 {
					sum += w * uint32(row[f+k])
				}
			}
			out[x] = uint8(min((sum+half)>>weightBits, 255))
		}
	}
	acc := s.acc[:dw]
	for y := range dh {
		clear(acc)
		f := ay.first[y]
		for k, w := range ay.w[y*ay.n : y*ay.n+ay.n] {
			if w == 0 {
				continue
			}
			row := tmp[(f+k)*dw : (f+k)*dw+dw]
			for x, v := range row {
				acc[x] += w * uint32(v)
			}
		}
		out := dst[y*dstride : y*dstride+dw]
		for x, v := range acc {
			out[x] = uint8(min((v+half)>>weightBits, 255))
		}
	}
}
