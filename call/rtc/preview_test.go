package rtc

import (
	"image"
	"testing"
	"time"
)

func TestLevelMeter(t *testing.T) {
	tests := []struct {
		name string
		pcm  []int16
		want float64
	}{
		{"silence", make([]int16, 960), 0},
		{"quarter scale", []int16{0, 8192, -4096, 100}, 0.25},
		{"negative full scale", []int16{-32768, 0}, 1},
		{"positive full scale", []int16{32767}, 32767.0 / 32768},
		{"empty chunk", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := levelMeter{start: time.Now()}
			m.observe(tt.pcm)
			if got := m.level(); got != tt.want {
				t.Fatalf("level %v, want %v", got, tt.want)
			}
		})
	}

	// The peak of the window wins; older buckets age out.
	m := levelMeter{start: time.Now()}
	m.observe([]int16{16384})
	m.observe([]int16{100})
	if got := m.level(); got != 0.5 {
		t.Fatalf("level %v, want the window's peak 0.5", got)
	}
	m.start = m.start.Add(-levelWindow * levelBucket) // that chunk is now 100 ms old
	m.observe([]int16{3277})
	if got := m.level(); got != 3277.0/32768 {
		t.Fatalf("level %v after the loud chunk aged out, want 0.1", got)
	}
	m.start = m.start.Add(-time.Second)
	if got := m.level(); got != 0 {
		t.Fatalf("level %v with nothing for a second, want 0", got)
	}

	pcm := make([]int16, 960)
	if n := testing.AllocsPerRun(100, func() { m.observe(pcm); _ = m.level() }); n != 0 {
		t.Fatalf("%v allocations per audio frame", n)
	}
}

func TestPreviewCopies(t *testing.T) {
	tests := []struct {
		name  string
		w, h  int
		ratio image.YCbCrSubsampleRatio
		wantW int
	}{
		{"SD is halved", 640, 360, image.YCbCrSubsampleRatio420, 320},
		{"HD is quartered", 1280, 720, image.YCbCrSubsampleRatio420, 320},
		{"LD is copied", 320, 180, image.YCbCrSubsampleRatio420, 320},
		{"camera 4:2:2 copied", 160, 120, image.YCbCrSubsampleRatio422, 160},
		{"odd size", 99, 51, image.YCbCrSubsampleRatio420, 99},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := image.NewYCbCr(image.Rect(0, 0, tt.w, tt.h), tt.ratio)
			for i := range src.Y {
				src.Y[i] = uint8(i)
			}
			for i := range src.Cb {
				src.Cb[i], src.Cr[i] = uint8(3*i), uint8(5*i)
			}
			taps := newMediaTaps()
			taps.preview(src)
			// A second frame right after the copy (which may take longer
			// than previewInterval under -race) is dropped.
			taps.lastPreview.Store(int64(time.Since(taps.start)))
			taps.preview(src)
			got, seq := taps.local.Get()
			if seq != 1 || got == nil {
				t.Fatalf("seq %d, image %v; want one preview frame", seq, got)
			}
			if got.Rect.Dx() != tt.wantW {
				t.Fatalf("preview %v, want %d wide", got.Rect, tt.wantW)
			}
			if tt.wantW == tt.w {
				for y := range tt.h {
					for x := range tt.w {
						if got.YCbCrAt(x, y) != src.YCbCrAt(x, y) {
							t.Fatalf("pixel %d,%d = %v, want %v", x, y, got.YCbCrAt(x, y), src.YCbCrAt(x, y))
						}
					}
				}
			}
			src.Y[0]++ // the source frame goes back to its pool: the copy must not change
			if got.Y[0] == src.Y[0] && tt.wantW == tt.w {
				t.Fatal("preview shares the source's memory")
			}
		})
	}
	var nilTaps *mediaTaps
	nilTaps.preview(image.NewYCbCr(image.Rect(0, 0, 4, 4), image.YCbCrSubsampleRatio420))
	nilTaps.observeMic([]int16{1})
	nilTaps.observeSpeaker([]int16{1})
}
