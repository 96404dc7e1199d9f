package video

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/softphone/softphone/media/videosrc"
)

// cell is one parsed terminal cell: its text and colours (noColor for the
// terminal default; packed RGB or a palette index otherwise).
type cell struct {
	ch     string
	fg, bg int32
}

// parseLine replays the SGR sequences of one rendered line.
func parseLine(t *testing.T, line string) []cell {
	t.Helper()
	var cells []cell
	fg, bg := int32(noColor), int32(noColor)
	for len(line) > 0 {
		if strings.HasPrefix(line, "\x1b[") {
			end := strings.IndexByte(line, 'm')
			if end < 0 {
				t.Fatalf("unterminated escape in %q", line)
			}
			params := strings.Split(line[2:end], ";")
			line = line[end+1:]
			for i := 0; i < len(params); i++ {
				p := params[i]
				switch p {
				case "0":
					fg, bg = noColor, noColor
				case "39":
					fg = noColor
				case "49":
					bg = noColor
				case "38", "48":
					var v int32
					switch params[i+1] {
					case "2":
						r, _ := strconv.Atoi(params[i+2])
						g, _ := strconv.Atoi(params[i+3])
						b, _ := strconv.Atoi(params[i+4])
						v = int32(r<<16 | g<<8 | b)
						i += 4
					case "5":
						n, _ := strconv.Atoi(params[i+2])
						v = int32(n)
						i += 2
					default:
						t.Fatalf("bad colour parameters %v", params)
					}
					if p == "38" {
						fg = v
					} else {
						bg = v
					}
				default:
					t.Fatalf("unexpected SGR parameter %q", p)
				}
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(line)
		cells = append(cells, cell{ch: string(r), fg: fg, bg: bg})
		line = line[n:]
	}
	return cells
}

// parse splits a rendered block and checks the layout contract: rows lines,
// each cols cells wide (as lipgloss measures) and ending with a reset.
func parse(t *testing.T, out string, cols, rows int) [][]cell {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) != rows {
		t.Fatalf("got %d lines, want %d", len(lines), rows)
	}
	grid := make([][]cell, rows)
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != cols {
			t.Fatalf("line %d is %d cells wide, want %d: %q", i, w, cols, l)
		}
		if !strings.HasSuffix(l, sgrReset) {
			t.Fatalf("line %d does not end with a reset: %q", i, l)
		}
		grid[i] = parseLine(t, l)
		if len(grid[i]) != cols {
			t.Fatalf("line %d parsed into %d cells, want %d", i, len(grid[i]), cols)
		}
	}
	return grid
}

// frame returns a w×h I420 picture of one colour.
func frame(w, h int, y, cb, cr uint8) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = y
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = cb, cr
	}
	return img
}

func rgb(r, g, b int) int32 { return int32(r<<16 | g<<8 | b) }

// box returns the bounding box of the cells that show picture.
func box(grid [][]cell) image.Rectangle {
	var r image.Rectangle
	for y, row := range grid {
		for x, c := range row {
			if c.ch != " " {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

func TestRenderGeometry(t *testing.T) {
	tests := []struct {
		name       string
		w, h       int
		cols, rows int
		want       image.Rectangle // cells showing picture
		halfBottom bool            // the last picture row holds only its top pixel
	}{
		{"16:9 in 120x40 letterboxed top and bottom", 640, 360, 120, 40, image.Rect(0, 3, 120, 37), false},
		{"16:9 in 80x24", 640, 360, 80, 24, image.Rect(0, 0, 80, 23), true},
		{"portrait pillarboxed", 360, 640, 120, 40, image.Rect(37, 0, 82, 40), false},
		{"exact fit", 8, 8, 8, 4, image.Rect(0, 0, 8, 4), false},
		{"upscaled tiny picture", 2, 2, 10, 5, image.Rect(0, 0, 10, 5), false},
		{"odd sizes", 3, 5, 7, 3, image.Rect(1, 0, 5, 3), false},
		{"one cell", 640, 360, 1, 1, image.Rect(0, 0, 1, 1), true},
		{"one pixel source", 1, 1, 3, 2, image.Rect(0, 0, 3, 2), true},
		{"very wide", 1000, 10, 20, 10, image.Rect(0, 4, 20, 5), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := frame(tt.w, tt.h, 235, 128, 128)
			for _, mode := range []Mode{TrueColor, ANSI256} {
				grid := parse(t, NewRenderer(mode).Render(img, tt.cols, tt.rows), tt.cols, tt.rows)
				if got := box(grid); got != tt.want {
					t.Fatalf("%v: picture in cells %v, want %v", mode, got, tt.want)
				}
				last := grid[tt.want.Max.Y-1][tt.want.Min.X]
				if half := last.bg == noColor; half != tt.halfBottom {
					t.Fatalf("%v: last picture row half filled = %v, want %v (%+v)", mode, half, tt.halfBottom, last)
				}
			}
		})
	}
}

func TestRenderBlank(t *testing.T) {
	empty := image.NewYCbCr(image.Rect(0, 0, 0, 0), image.YCbCrSubsampleRatio420)
	for _, img := range []*image.YCbCr{nil, empty} {
		for _, size := range [][2]int{{1, 1}, {5, 3}, {120, 40}} {
			out := NewRenderer(TrueColor).Render(img, size[0], size[1])
			for _, row := range parse(t, out, size[0], size[1]) {
				for _, c := range row {
					if c != (cell{" ", noColor, noColor}) {
						t.Fatalf("blank block has %+v", c)
					}
				}
			}
		}
	}
	if out := NewRenderer(TrueColor).Render(frame(4, 4, 16, 128, 128), 0, 3); out != "" {
		t.Fatalf("zero columns gave %q", out)
	}
}

func TestRenderColours(t *testing.T) {
	// Four pixel rows of different luma, one chroma: each cell shows row
	// 2k as its foreground and row 2k+1 as its background.
	img := image.NewYCbCr(image.Rect(0, 0, 4, 4), image.YCbCrSubsampleRatio420)
	for y, v := range []uint8{16, 235, 126, 81} {
		for x := range 4 {
			img.Y[y*img.YStride+x] = v
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, 128
	}
	red := frame(4, 4, 81, 90, 240)
	blue := frame(4, 4, 41, 240, 110)

	tests := []struct {
		name   string
		img    *image.YCbCr
		mode   Mode
		fg, bg [2]int32 // cell row 0 and 1
	}{
		{"greys truecolor", img, TrueColor, [2]int32{rgb(0, 0, 0), rgb(128, 128, 128)}, [2]int32{rgb(255, 255, 255), rgb(76, 76, 76)}},
		{"greys 256", img, ANSI256, [2]int32{16, 244}, [2]int32{231, 239}},
		{"red truecolor", red, TrueColor, [2]int32{rgb(254, 0, 0), rgb(254, 0, 0)}, [2]int32{rgb(254, 0, 0), rgb(254, 0, 0)}},
		{"red 256", red, ANSI256, [2]int32{196, 196}, [2]int32{196, 196}},
		{"blue 256", blue, ANSI256, [2]int32{21, 21}, [2]int32{21, 21}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grid := parse(t, NewRenderer(tt.mode).Render(tt.img, 4, 2), 4, 2)
			for row := range 2 {
				for x, c := range grid[row] {
					if c.ch != upperHalf || c.fg != tt.fg[row] || c.bg != tt.bg[row] {
						t.Fatalf("cell %d,%d = %q fg %06x bg %06x, want ▀ fg %06x bg %06x", x, row, c.ch, c.fg, c.bg, tt.fg[row], tt.bg[row])
					}
				}
			}
		})
	}
}

func TestPalette256(t *testing.T) {
	tests := []struct {
		r, g, b uint8
		want    uint8
	}{
		{0, 0, 0, 16}, {255, 255, 255, 231}, {255, 0, 0, 196}, {0, 255, 0, 46}, {0, 0, 255, 21},
		{128, 128, 128, 244}, {8, 8, 8, 232}, {238, 238, 238, 255}, {95, 135, 175, 67}, {250, 250, 245, 231},
	}
	for _, tt := range tests {
		if got := palette256(tt.r, tt.g, tt.b); got != tt.want {
			t.Errorf("palette256(%d,%d,%d) = %d, want %d", tt.r, tt.g, tt.b, got, tt.want)
		}
	}
}

func TestRenderSkipsRepeatedColours(t *testing.T) {
	out := NewRenderer(TrueColor).Render(frame(64, 32, 126, 128, 128), 32, 8)
	for i, l := range strings.Split(out, "\n") {
		// One SGR setting both colours, one reset.
		if n := strings.Count(l, "\x1b["); n != 2 {
			t.Fatalf("line %d has %d escapes, want 2: %q", i, n, l)
		}
	}
}

func TestRenderBoxFilter(t *testing.T) {
	// A 1-pixel checkerboard shrunk 4× averages to mid grey; nearest
	// sampling would give black or white.
	img := image.NewYCbCr(image.Rect(0, 0, 32, 32), image.YCbCrSubsampleRatio444)
	for y := range 32 {
		for x := range 32 {
			v := uint8(16)
			if (x+y)%2 == 1 {
				v = 236
			}
			img.Y[y*img.YStride+x] = v
			img.Cb[y*img.CStride+x], img.Cr[y*img.CStride+x] = 128, 128
		}
	}
	grid := parse(t, NewRenderer(TrueColor).Render(img, 8, 4), 8, 4)
	for _, row := range grid {
		for _, c := range row {
			if c.fg != rgb(128, 128, 128) || c.bg != rgb(128, 128, 128) {
				t.Fatalf("cell %+v, want mid grey", c)
			}
		}
	}
}

func TestRenderSubImageAndRatios(t *testing.T) {
	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	for _, ratio := range ratios {
		// Left half black, right half red; draw only the right half.
		img := image.NewYCbCr(image.Rect(0, 0, 64, 32), ratio)
		for y := range 32 {
			for x := range 64 {
				yy, cb, cr := uint8(16), uint8(128), uint8(128)
				if x >= 32 {
					yy, cb, cr = 81, 90, 240
				}
				img.Y[img.YOffset(x, y)] = yy
				img.Cb[img.COffset(x, y)], img.Cr[img.COffset(x, y)] = cb, cr
			}
		}
		sub := img.SubImage(image.Rect(32, 0, 64, 32)).(*image.YCbCr)
		grid := parse(t, NewRenderer(ANSI256).Render(sub, 16, 8), 16, 8)
		for _, row := range grid {
			for _, c := range row {
				if c.fg != 196 || c.bg != 196 {
					t.Fatalf("%v: cell %+v, want red (196)", ratio, c)
				}
			}
		}
	}
}

// TestRenderProperties draws random pictures at random sizes and checks
// the layout contract and that the picture keeps its aspect ratio.
func TestRenderProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rs := []*Renderer{NewRenderer(TrueColor), NewRenderer(ANSI256)}
	for i := range 200 {
		w, h := 1+rng.IntN(400), 1+rng.IntN(300)
		cols, rows := 1+rng.IntN(160), 1+rng.IntN(50)
		img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		for j := range img.Y {
			img.Y[j] = uint8(rng.IntN(256))
		}
		for j := range img.Cb {
			img.Cb[j], img.Cr[j] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
		}
		r := rs[i%2] // reused: geometry changes between calls
		t.Run(fmt.Sprintf("%dx%d_in_%dx%d", w, h, cols, rows), func(t *testing.T) {
			grid := parse(t, r.Render(img, cols, rows), cols, rows)
			b := box(grid)
			if b.Empty() {
				t.Fatal("nothing drawn")
			}
			// The picture is scaled by the largest factor that fits the
			// 2-pixels-per-cell grid, to within a pixel of rounding (and
			// never below one pixel).
			pw, ph := b.Dx(), 2*b.Dy()
			if last := grid[b.Max.Y-1][b.Min.X]; last.bg == noColor {
				ph--
			}
			s := min(float64(cols)/float64(w), float64(2*rows)/float64(h))
			ew, eh := max(float64(w)*s, 1), max(float64(h)*s, 1)
			if math.Abs(float64(pw)-ew) > 1 || math.Abs(float64(ph)-eh) > 1 {
				t.Fatalf("drawn %dx%d px, want %.1fx%.1f", pw, ph, ew, eh)
			}
			// Centred: left and right margins differ by at most a cell.
			if l, rt := b.Min.X, cols-b.Max.X; l-rt > 1 || rt-l > 1 {
				t.Fatalf("margins %d and %d", l, rt)
			}
		})
	}
}

func TestRenderReusesItsBuffer(t *testing.T) {
	img := patternFrame(t, 640, 360)
	r := NewRenderer(TrueColor)
	r.Render(img, 120, 40)
	if n := testing.AllocsPerRun(20, func() { r.Render(img, 120, 40) }); n > 1 {
		t.Fatalf("%v allocations per frame, want only the returned string", n)
	}
}

func TestModeFromEnv(t *testing.T) {
	tests := []struct {
		colorterm, term string
		want            Mode
	}{
		{"truecolor", "xterm-256color", TrueColor},
		{"24bit", "", TrueColor},
		{"TrueColor", "", TrueColor},
		{"", "xterm-direct", TrueColor},
		{"", "xterm-256color", ANSI256},
		{"", "screen", ANSI256},
		{"yes", "tmux-256color", ANSI256},
	}
	for _, tt := range tests {
		env := map[string]string{"COLORTERM": tt.colorterm, "TERM": tt.term}
		if got := ModeFromEnv(func(k string) string { return env[k] }); got != tt.want {
			t.Errorf("COLORTERM=%q TERM=%q: %v, want %v", tt.colorterm, tt.term, got, tt.want)
		}
	}
}

// patternFrame is a frame of the moving test pattern the calls send.
func patternFrame(tb testing.TB, w, h int) *image.YCbCr {
	tb.Helper()
	p, err := videosrc.NewPattern(videosrc.PatternOptions{Width: w, Height: h, FPS: 30})
	if err != nil {
		tb.Fatal(err)
	}
	defer p.Close()
	return p.Frame(42)
}

func TestGate(t *testing.T) {
	ctx := context.Background()
	img := frame(2, 2, 16, 128, 128)
	var seqV atomic.Uint64
	get := func() (*image.YCbCr, uint64) {
		if s := seqV.Load(); s != 0 {
			return img, s
		}
		return nil, 0
	}
	notify := make(chan struct{}, 1)
	g := NewGate(1000)

	seqV.Store(5) // several frames arrived: the newest is drawn
	if _, got, err := g.Wait(ctx, notify, get); err != nil || got != 5 {
		t.Fatalf("Wait = %d, %v; want 5", got, err)
	}
	// Nothing new: Wait blocks until ctx ends.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, _, err := g.Wait(short, notify, get); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait without a new frame: %v", err)
	}
	// A new frame and a signal.
	seqV.Store(6)
	notify <- struct{}{}
	if _, got, err := g.Wait(ctx, notify, get); err != nil || got != 6 {
		t.Fatalf("Wait = %d, %v; want 6", got, err)
	}
	// No notify channel: get is polled until a new frame shows up.
	time.AfterFunc(30*time.Millisecond, func() { seqV.Store(7) })
	if _, got, err := g.Wait(ctx, nil, get); err != nil || got != 7 {
		t.Fatalf("polling Wait = %d, %v; want 7", got, err)
	}
}
