package videosrc

import (
	"fmt"
	"image"
	"sync"
	"time"

	"github.com/softphone/softphone/media/framepool"
)

// PatternOptions configures NewPattern.
type PatternOptions struct {
	Width, Height int     // default 640×360; odd sizes are allowed
	FPS           float64 // default 30
	// OnCapture, when set, is called from Read with each frame's counter and
	// capture time, before the frame is returned; a glass-to-glass latency
	// measurement keeps these to match frames read back with ReadCounter.
	OnCapture func(counter uint32, captured time.Time)
	// Unpaced returns frames as fast as Read is called (tests, benchmarks).
	Unpaced bool
	// ID is the source ID reported to mediadevices; default "testsrc".
	ID string
}

// Pattern is a moving test pattern: diagonal luma ramps and drifting colour
// bars, a bouncing box, the frame counter as a machine-readable band
// (DrawCounter) and in decimal digits for people. Frames are I420.
type Pattern struct {
	opts  PatternOptions
	pace  *pacer
	pool  framepool.Pool
	ramp  [256]uint8
	done  chan struct{}
	close sync.Once

	mu      sync.Mutex // serialises Read (pacer and counter)
	counter uint32
}

// NewPattern creates a test pattern source.
func NewPattern(opts PatternOptions) (*Pattern, error) {
	if opts.Width == 0 && opts.Height == 0 {
		opts.Width, opts.Height = 640, 360
	}
	if opts.Width < 2 || opts.Height < 2 || opts.Width > 8192 || opts.Height > 8192 {
		return nil, fmt.Errorf("videosrc: pattern size %dx%d out of range", opts.Width, opts.Height)
	}
	if opts.FPS == 0 {
		opts.FPS = 30
	}
	if opts.FPS < 0.1 || opts.FPS > 1000 {
		return nil, fmt.Errorf("videosrc: pattern fps %g out of range", opts.FPS)
	}
	if opts.ID == "" {
		opts.ID = "testsrc"
	}
	p := &Pattern{opts: opts, pace: newPacer(opts.FPS), done: make(chan struct{})}
	// A triangle wave ramp: no hard wrap edge, so the encoder spends bits on
	// motion rather than on one sharp diagonal line.
	for i := range p.ramp {
		v := i * 2
		if v > 255 {
			v = 511 - v
		}
		p.ramp[i] = uint8(32 + v*160/255)
	}
	return p, nil
}

// ID implements mediadevices.Source.
func (p *Pattern) ID() string { return p.opts.ID }

// Close makes pending and later Reads return ErrClosed.
func (p *Pattern) Close() error {
	p.close.Do(func() { close(p.done) })
	return nil
}

// Read waits for the next frame time and renders the frame. The frame is
// owned by the caller; calling release lets the source reuse its memory.
func (p *Pattern) Read() (image.Image, func(), error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return nil, nil, ErrClosed
	default:
	}
	captured := time.Now()
	if !p.opts.Unpaced {
		var err error
		if captured, err = p.pace.wait(p.done); err != nil {
			return nil, nil, err
		}
	}
	n := p.counter
	p.counter++
	img := p.pool.Get(image.Rect(0, 0, p.opts.Width, p.opts.Height), image.YCbCrSubsampleRatio420)
	p.render(img, n)
	if p.opts.OnCapture != nil {
		p.opts.OnCapture(n, captured)
	}
	return img, p.pool.Releaser(img), nil
}

// Frame renders frame n without pacing, e.g. for encoder benchmarks.
func (p *Pattern) Frame(n uint32) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, p.opts.Width, p.opts.Height), image.YCbCrSubsampleRatio420)
	p.render(img, n)
	return img
}

func (p *Pattern) render(img *image.YCbCr, n uint32) {
	w, h := p.opts.Width, p.opts.Height
	t := int(n)
	for y := range h {
		row := img.Y[y*img.YStride : y*img.YStride+w]
		off := y
		for x := range row {
			row[x] = p.ramp[uint8(x+off)]
		}
	}
	cw, chh := (w+1)/2, (h+1)/2
	for y := range chh {
		cb := img.Cb[y*img.CStride : y*img.CStride+cw]
		cr := img.Cr[y*img.CStride : y*img.CStride+cw]
		for x := range cb {
			bar := ((x*8/cw + t/30) & 7)
			cb[x] = barCb[bar]
			cr[x] = barCr[bar]
		}
	}
	// Bouncing box: bright, with a dark border, moving 4 px per frame.
	bw, bh := max(w/8, 4), max(h/6, 4)
	bx := bounce(t*4, w-bw)
	by := CodeHeight(w, h) + bounce(t*3, max(h-CodeHeight(w, h)-bh, 0))
	fillY(img, bx, by, bw, bh, 16)
	fillY(img, bx+2, by+2, bw-4, bh-4, 235)
	// Decimal counter under the band, for people looking at the picture.
	scale := max(w/160, 1)
	drawNumber(img, n, w/24, CodeHeight(w, h)+scale*2, scale)
	DrawCounter(img, n)
}

var (
	barCb = [8]uint8{128, 44, 156, 72, 184, 100, 212, 128}
	barCr = [8]uint8{128, 142, 44, 58, 198, 212, 114, 128}
)

func bounce(v, span int) int {
	if span <= 0 {
		return 0
	}
	v %= 2 * span
	if v > span {
		v = 2*span - v
	}
	return v
}

func fillY(img *image.YCbCr, x, y, w, h int, v uint8) {
	r := image.Rect(x, y, x+w, y+h).Intersect(img.Rect)
	for yy := r.Min.Y; yy < r.Max.Y; yy++ {
		o := img.YOffset(r.Min.X, yy)
		row := img.Y[o : o+r.Dx()]
		for i := range row {
			row[i] = v
		}
	}
}

// font3x5 holds the digits 0–9, 5 rows of 3 bits each (MSB left).
var font3x5 = [10][5]uint8{
	{7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
	{7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7},
}

func drawNumber(img *image.YCbCr, n uint32, x, y, scale int) {
	s := fmt.Sprint(n)
	cell := scale * 2
	fillY(img, x-cell, y-cell, (len(s)*4+1)*cell+cell, 7*cell, 16)
	for i, c := range s {
		g := font3x5[c-'0']
		for r := range 5 {
			for b := range 3 {
				if g[r]>>(2-b)&1 == 1 {
					fillY(img, x+(i*4+b)*cell, y+r*cell, cell, cell, 235)
				}
			}
		}
	}
}
