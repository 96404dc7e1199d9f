// Package video draws decoded video frames as terminal text: one cell holds
// two pixels stacked vertically ("▀" with the foreground for the top pixel
// and the background for the bottom one), in 24-bit colour or the xterm
// 256-colour palette.
//
// The renderer samples straight from the YCbCr planes of the decoder's
// output and writes into one reused buffer, so a 120×40-cell frame costs well
// under a millisecond; terminal throughput, not CPU, is what limits the frame
// rate (see Gate).
package video

import (
	"image"
	"strings"
)

// Mode is the colour capability of the terminal.
type Mode int

const (
	// TrueColor writes 24-bit SGR colours (38;2;r;g;b).
	TrueColor Mode = iota
	// ANSI256 maps every pixel to the xterm 256-colour palette (6×6×6 cube
	// and 24 greys) for terminals without truecolor.
	ANSI256
)

// String names the mode for logs and the doctor.
func (m Mode) String() string {
	if m == ANSI256 {
		return "ansi256"
	}
	return "truecolor"
}

// ModeFromEnv picks TrueColor when $COLORTERM says "truecolor" or "24bit"
// (or $TERM is a "-direct" terminfo entry) and ANSI256 otherwise. getenv is
// os.Getenv in the program and a map lookup in tests.
func ModeFromEnv(getenv func(string) string) Mode {
	switch strings.ToLower(strings.TrimSpace(getenv("COLORTERM"))) {
	case "truecolor", "24bit":
		return TrueColor
	}
	if strings.HasSuffix(getenv("TERM"), "-direct") {
		return TrueColor
	}
	return ANSI256
}

const (
	upperHalf = "▀"
	lowerHalf = "▄"
	sgrReset  = "\x1b[0m"
	// maxTaps bounds the box filter's samples per axis, so a 1080p source
	// costs the same as a 360p one: at most 4×4 luma taps per pixel.
	maxTaps = 4
	// maxChromaTaps is the same for Cb/Cr, which are subsampled and smooth
	// already: 2×2 taps.
	maxChromaTaps = 2
	// noColor marks a pixel outside the picture (letterbox) and a default
	// terminal colour in the SGR state.
	noColor = -1
)

// axisMap is the sampling plan of one axis for one geometry: for every
// output pixel, up to maxTaps luma and chroma offsets.
type axisMap struct {
	n    []uint8 // luma taps per output pixel
	nc   []uint8 // chroma taps per output pixel
	luma []int   // offsets into the Y plane (columns) or row starts (rows), maxTaps per pixel
	chr  []int   // the same for the Cb/Cr planes, maxChromaTaps per pixel
}

func (a *axisMap) reset(size int) {
	a.n = resize(a.n, size)
	a.nc = resize(a.nc, size)
	a.luma = resize(a.luma, size*maxTaps)
	a.chr = resize(a.chr, size*maxChromaTaps)
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// geometry identifies what the cached sampling plan was computed for.
type geometry struct {
	rect                   image.Rectangle
	yStride, cStride       int
	ratio                  image.YCbCrSubsampleRatio
	cols, rows             int
	offX, offY, dstW, dstH int
}

// Renderer turns frames into lines of half-block cells. It keeps its buffers
// between calls, so it is not safe for concurrent use; use one per pane.
type Renderer struct {
	mode Mode
	buf  []byte
	geo  geometry
	xs   axisMap
	ys   axisMap
	// Colours of the current pair of pixel rows (noColor outside the
	// picture): packed 0xRRGGBB in TrueColor, a palette index in ANSI256.
	top, bot []int32
}

// NewRenderer returns a renderer for the terminal's colour mode.
func NewRenderer(mode Mode) *Renderer {
	return &Renderer{mode: mode}
}

// Mode returns the colour mode the renderer writes.
func (r *Renderer) Mode() Mode { return r.mode }

// Render draws img scaled to fit cols×rows cells (two pixels per cell
// vertically), keeping its aspect ratio and centring it between blank cells.
// It returns rows lines joined by "\n"; each is exactly cols cells wide and
// ends with an SGR reset, so lipgloss can place it like any other text. A nil
// or empty image gives a blank block.
func (r *Renderer) Render(img *image.YCbCr, cols, rows int) string {
	if cols <= 0 || rows <= 0 {
		return ""
	}
	r.buf = r.buf[:0]
	if img == nil || img.Rect.Empty() || len(img.Y) == 0 {
		r.blank(cols, rows)
		return string(r.buf)
	}
	r.plan(img, cols, rows)
	r.top = resize(r.top, cols)
	r.bot = resize(r.bot, cols)
	g := &r.geo
	for row := range rows {
		if row > 0 {
			r.buf = append(r.buf, '\n')
		}
		r.sampleRow(img, 2*row-g.offY, r.top)
		r.sampleRow(img, 2*row+1-g.offY, r.bot)
		r.line()
	}
	return string(r.buf)
}

// blank writes a block of spaces.
func (r *Renderer) blank(cols, rows int) {
	for row := range rows {
		if row > 0 {
			r.buf = append(r.buf, '\n')
		}
		for range cols {
			r.buf = append(r.buf, ' ')
		}
		r.buf = append(r.buf, sgrReset...)
	}
}

// plan fits the picture into the cell grid (aspect ratio kept, centred, the
// top edge on a cell boundary) and computes the sampling offsets, unless the
// geometry is the one of the previous frame.
func (r *Renderer) plan(img *image.YCbCr, cols, rows int) {
	geo := geometry{rect: img.Rect, yStride: img.YStride, cStride: img.CStride, ratio: img.SubsampleRatio, cols: cols, rows: rows}
	if geo.rect == r.geo.rect && geo.yStride == r.geo.yStride && geo.cStride == r.geo.cStride &&
		geo.ratio == r.geo.ratio && geo.cols == r.geo.cols && geo.rows == r.geo.rows && r.xs.n != nil {
		return
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	pw, ph := cols, 2*rows // the pixel grid
	// Half-block pixels are about square on common fonts (cells ≈ 1:2).
	dw, dh := pw, ph
	if w*ph > pw*h { // wider than the grid: full width
		dh = max(1, (h*pw+w/2)/w)
	} else {
		dw = max(1, (w*ph+h/2)/h)
	}
	dw, dh = min(dw, pw), min(dh, ph)
	geo.dstW, geo.dstH = dw, dh
	geo.offX = (pw - dw) / 2
	geo.offY = ((ph - dh) / 2) &^ 1
	r.geo = geo

	o := img.Rect.Min
	c0 := img.COffset(o.X, o.Y)
	r.xs.reset(dw)
	fillAxis(&r.xs, w, dw, o.X, func(x int) int { return x - o.X }, func(x int) int { return img.COffset(x, o.Y) - c0 })
	r.ys.reset(dh)
	fillAxis(&r.ys, h, dh, o.Y, func(y int) int { return (y - o.Y) * img.YStride }, func(y int) int { return img.COffset(o.X, y) })
}

// fillAxis spreads up to maxTaps luma and maxChromaTaps chroma samples
// evenly over each output pixel's footprint in the source (a box filter when
// shrinking, nearest neighbour when growing). luma and chroma map a source
// coordinate to its plane offset.
func fillAxis(a *axisMap, src, dst, origin int, luma, chroma func(int) int) {
	for i := range dst {
		lo := i * src / dst
		hi := max((i+1)*src/dst, lo+1)
		n := min(hi-lo, maxTaps)
		a.n[i] = uint8(n)
		for k := range n {
			a.luma[i*maxTaps+k] = luma(origin + lo + (2*k+1)*(hi-lo)/(2*n))
		}
		n = min(hi-lo, maxChromaTaps)
		a.nc[i] = uint8(n)
		for k := range n {
			a.chr[i*maxChromaTaps+k] = chroma(origin + lo + (2*k+1)*(hi-lo)/(2*n))
		}
	}
}

// sampleRow fills out with the colours of pixel row py of the placed picture
// (noColor in the letterbox).
func (r *Renderer) sampleRow(img *image.YCbCr, py int, out []int32) {
	g := &r.geo
	if py < 0 || py >= g.dstH {
		for i := range out {
			out[i] = noColor
		}
		return
	}
	for i := range g.offX {
		out[i] = noColor
	}
	for i := g.offX + g.dstW; i < len(out); i++ {
		out[i] = noColor
	}
	ny, ncy := int(r.ys.n[py]), int(r.ys.nc[py])
	yRows := r.ys.luma[py*maxTaps : py*maxTaps+ny]
	cRows := r.ys.chr[py*maxChromaTaps : py*maxChromaTaps+ncy]
	dst := out[g.offX : g.offX+g.dstW]
	for i := range dst {
		nx, ncx := int(r.xs.n[i]), int(r.xs.nc[i])
		yCols := r.xs.luma[i*maxTaps : i*maxTaps+nx]
		cCols := r.xs.chr[i*maxChromaTaps : i*maxChromaTaps+ncx]
		var sy, sb, sr int
		for _, ro := range yRows {
			for _, co := range yCols {
				sy += int(img.Y[ro+co])
			}
		}
		for _, ro := range cRows {
			for _, co := range cCols {
				sb += int(img.Cb[ro+co])
				sr += int(img.Cr[ro+co])
			}
		}
		n, nc := nx*ny, ncx*ncy
		cr, cg, cb := ycbcrToRGB((sy+n/2)/n, (sb+nc/2)/nc, (sr+nc/2)/nc)
		if r.mode == ANSI256 {
			dst[i] = int32(palette256(cr, cg, cb))
		} else {
			dst[i] = int32(cr)<<16 | int32(cg)<<8 | int32(cb)
		}
	}
}

// line writes one row of cells from r.top and r.bot, emitting a colour only
// when it differs from the previous cell's.
func (r *Renderer) line() {
	fg, bg := int32(noColor), int32(noColor) // a line starts in default colours
	b := r.buf
	for i, t := range r.top {
		u := r.bot[i]
		switch {
		case t == noColor && u == noColor:
			if bg != noColor {
				b = append(b, "\x1b[49m"...)
				bg = noColor
			}
			b = append(b, ' ')
			continue
		case t == noColor: // only the bottom pixel: lower half block on the default background
			b = r.sgr(b, u, noColor, fg, bg)
			fg, bg = u, noColor
			b = append(b, lowerHalf...)
			continue
		}
		b = r.sgr(b, t, u, fg, bg)
		fg, bg = t, u
		b = append(b, upperHalf...)
	}
	r.buf = append(b, sgrReset...)
}

// sgr appends the escape that changes the colours from (oldFG, oldBG) to
// (fg, bg), or nothing when they are unchanged.
func (r *Renderer) sgr(b []byte, fg, bg, oldFG, oldBG int32) []byte {
	setFG, setBG := fg != oldFG, bg != oldBG
	if !setFG && !setBG {
		return b
	}
	b = append(b, "\x1b["...)
	if setFG {
		b = r.colour(b, '3', fg)
		if setBG {
			b = append(b, ';')
		}
	}
	if setBG {
		b = r.colour(b, '4', bg)
	}
	return append(b, 'm')
}

// colour appends one SGR colour parameter: layer '3' (foreground) or '4'
// (background).
func (r *Renderer) colour(b []byte, layer byte, c int32) []byte {
	b = append(b, layer)
	switch {
	case c == noColor:
		return append(b, '9')
	case r.mode == ANSI256:
		b = append(b, "8;5;"...)
		return appendByte(b, uint8(c))
	}
	b = append(b, "8;2;"...)
	b = appendByte(b, uint8(c>>16))
	b = append(b, ';')
	b = appendByte(b, uint8(c>>8))
	b = append(b, ';')
	return appendByte(b, uint8(c))
}

// appendByte appends v in decimal; a third of the renderer's time went to
// strconv before this.
func appendByte(b []byte, v uint8) []byte {
	switch {
	case v >= 100:
		return append(b, '0'+v/100, '0'+v/10%10, '0'+v%10)
	case v >= 10:
		return append(b, '0'+v/10, '0'+v%10)
	}
	return append(b, '0'+v)
}
