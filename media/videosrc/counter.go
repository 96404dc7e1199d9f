package videosrc

import (
	"image"
	"image/color"
	"math"
	"math/bits"
)

// The frame counter is a band of big black/white cells across the top of the
// picture, sized relative to the frame so it survives lossy VP8 and scaling:
// 3 rows × 20 columns, cells frame-width/20 wide and half as high (32×16 px at
// 640 wide: aligned to VP8's 16-px macroblocks at 640/320/1280 wide; still
// 8×4 px after halving 320×180). Rows start with a white/black sync pair
// (inverted on the middle row) and the last row's remaining cells alternate,
// so a reader calibrates its threshold and rejects pictures without the band.
// Rows 0 and 1 carry the counter in Gray code (MSB first) and one even-parity
// bit per byte: consecutive frames differ in exactly two cells, which keeps the
// band cheap to encode, and a cell read near the threshold rejects the frame.
const (
	codeCols  = 20
	codeRows  = 3
	codeBitsN = 36
	cellWhite = -1
	cellBlack = -2
	lumaWhite = 235
	lumaBlack = 16
)

// codeLayout maps each cell to a sync colour or a bit index (0..31 Gray-coded
// counter, 32..35 parity of its bytes).
var codeLayout = func() [codeCols * codeRows]int {
	var l [codeCols * codeRows]int
	bit := 0
	for i := range l {
		col, row := i%codeCols, i/codeCols
		switch {
		case col < 2 || row == 2:
			if (col+row)%2 == 0 {
				l[i] = cellWhite
			} else {
				l[i] = cellBlack
			}
		default:
			l[i] = bit
			bit++
		}
	}
	return l
}()

// codeGeometry returns the cell size for a picture of w×h.
func codeGeometry(w, h int) (cw, ch float64) {
	cw = float64(w) / codeCols
	ch = math.Min(cw/2, float64(h)/(4*codeRows))
	return cw, ch
}

// CodeHeight is the number of rows at the top of a w×h picture covered by the
// counter band.
func CodeHeight(w, h int) int {
	_, ch := codeGeometry(w, h)
	return int(math.Ceil(ch * codeRows))
}

func codeBits(counter uint32) uint64 {
	g := counter ^ counter>>1
	var par uint64
	for i := range 4 {
		par = par<<1 | uint64(bits.OnesCount8(uint8(g>>(24-8*i)))&1)
	}
	return uint64(g)<<4 | par
}

func decodeBits(v uint64) (uint32, bool) {
	g := uint32(v >> 4)
	if v != codeBits(fromGray(g)) {
		return 0, false
	}
	return fromGray(g), true
}

func fromGray(g uint32) uint32 {
	g ^= g >> 16
	g ^= g >> 8
	g ^= g >> 4
	g ^= g >> 2
	g ^= g >> 1
	return g
}

// cellValue reports whether cell i is white for the given 36-bit code.
func cellValue(i int, code uint64) bool {
	switch k := codeLayout[i]; k {
	case cellWhite:
		return true
	case cellBlack:
		return false
	default:
		return code>>(codeBitsN-1-k)&1 == 1
	}
}

// DrawCounter writes counter into the top band of img (any subsampling),
// overwriting what is there. Chroma of the band is set to neutral grey.
func DrawCounter(img *image.YCbCr, counter uint32) {
	b := img.Rect
	w, h := b.Dx(), b.Dy()
	cw, ch := codeGeometry(w, h)
	if cw < 1 || ch < 1 {
		return
	}
	code := codeBits(counter)
	for i := range codeLayout {
		col, row := i%codeCols, i/codeCols
		x0, x1 := int(math.Round(float64(col)*cw)), int(math.Round(float64(col+1)*cw))
		y0, y1 := int(math.Round(float64(row)*ch)), int(math.Round(float64(row+1)*ch))
		v := uint8(lumaBlack)
		if cellValue(i, code) {
			v = lumaWhite
		}
		for y := y0; y < y1; y++ {
			off := img.YOffset(b.Min.X+x0, b.Min.Y+y)
			row := img.Y[off : off+x1-x0]
			for j := range row {
				row[j] = v
			}
		}
	}
	bandH := int(math.Round(codeRows * ch))
	for y := 0; y < bandH; y++ {
		for x := 0; x < w; x++ {
			o := img.COffset(b.Min.X+x, b.Min.Y+y)
			img.Cb[o], img.Cr[o] = 128, 128
		}
	}
}

// ReadCounter reads back the counter DrawCounter wrote, from a decoded (lossy,
// possibly rescaled) picture. ok is false when the band is not found or its
// checksum does not match.
func ReadCounter(img image.Image) (uint32, bool) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	cw, ch := codeGeometry(w, h)
	if cw < 2 || ch < 2 {
		return 0, false
	}
	luma := lumaSampler(img)
	var levels [codeCols * codeRows]float64
	for i := range levels {
		col, row := i%codeCols, i/codeCols
		// Average the inner half of the cell: its borders ring after VP8 and blur
		// after scaling.
		x0, x1 := int(float64(col)*cw+cw/4), int(math.Ceil(float64(col+1)*cw-cw/4))
		y0, y1 := int(float64(row)*ch+ch/4), int(math.Ceil(float64(row+1)*ch-ch/4))
		var sum, n float64
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				sum += float64(luma(b.Min.X+x, b.Min.Y+y))
				n++
			}
		}
		if n == 0 {
			return 0, false
		}
		levels[i] = sum / n
	}
	var white, black, nw, nb float64
	for i, k := range codeLayout {
		switch k {
		case cellWhite:
			white += levels[i]
			nw++
		case cellBlack:
			black += levels[i]
			nb++
		}
	}
	white /= nw
	black /= nb
	if white-black < 64 {
		return 0, false
	}
	thr := (white + black) / 2
	margin := (white - black) / 5
	var code uint64
	for i, k := range codeLayout {
		if math.Abs(levels[i]-thr) < margin {
			return 0, false // ambiguous cell: better no reading than a wrong one
		}
		on := levels[i] > thr
		switch k {
		case cellWhite:
			if !on {
				return 0, false
			}
		case cellBlack:
			if on {
				return 0, false
			}
		default:
			if on {
				code |= 1 << (codeBitsN - 1 - k)
			}
		}
	}
	return decodeBits(code)
}

// lumaSampler returns a fast luma accessor for YCbCr and Gray pictures and a
// generic one for everything else.
func lumaSampler(img image.Image) func(x, y int) uint8 {
	switch m := img.(type) {
	case *image.YCbCr:
		return func(x, y int) uint8 { return m.Y[m.YOffset(x, y)] }
	case *image.Gray:
		return func(x, y int) uint8 { return m.Pix[m.PixOffset(x, y)] }
	default:
		return func(x, y int) uint8 {
			return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
		}
	}
}
