package videosrc_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/softphone/softphone/media/videosrc"
)

// y4mData builds a stream whose frame i has luma i+1, Cb 100+i, Cr 200-i.
func y4mData(w, h int, cs string, frames int) []byte {
	var b bytes.Buffer
	hdr := fmt.Sprintf("YUV4MPEG2 W%d H%d F25:1 Ip A1:1", w, h)
	if cs != "" {
		hdr += " C" + cs
	}
	b.WriteString(hdr + " XYSCSS=420JPEG\n")
	cw, ch := (w+1)/2, (h+1)/2
	switch cs {
	case "422":
		ch = h
	case "444":
		cw, ch = w, h
	case "mono":
		cw, ch = 0, 0
	}
	for i := range frames {
		b.WriteString("FRAME Ixyz\n")
		b.Write(bytes.Repeat([]byte{byte(i + 1)}, w*h))
		b.Write(bytes.Repeat([]byte{byte(100 + i)}, cw*ch))
		b.Write(bytes.Repeat([]byte{byte(200 - i)}, cw*ch))
	}
	return b.Bytes()
}

func TestY4M(t *testing.T) {
	for _, tc := range []struct {
		cs    string
		ratio image.YCbCrSubsampleRatio
	}{
		{"", image.YCbCrSubsampleRatio420}, {"420jpeg", image.YCbCrSubsampleRatio420},
		{"420mpeg2", image.YCbCrSubsampleRatio420}, {"420paldv", image.YCbCrSubsampleRatio420},
		{"422", image.YCbCrSubsampleRatio422}, {"444", image.YCbCrSubsampleRatio444},
		{"mono", image.YCbCrSubsampleRatio420},
	} {
		y, err := videosrc.NewY4M(bytes.NewReader(y4mData(33, 17, tc.cs, 3)), videosrc.Y4MOptions{Unpaced: true})
		if err != nil {
			t.Fatalf("%q: %v", tc.cs, err)
		}
		if y.Width() != 33 || y.Height() != 17 || y.FPS() != 25 {
			t.Fatalf("%q: %dx%d@%g", tc.cs, y.Width(), y.Height(), y.FPS())
		}
		for i := range 3 {
			img, release, err := y.Read()
			if err != nil {
				t.Fatalf("%q frame %d: %v", tc.cs, i, err)
			}
			f := img.(*image.YCbCr)
			wantCb, wantCr := byte(100+i), byte(200-i)
			if tc.cs == "mono" {
				wantCb, wantCr = 128, 128
			}
			if f.SubsampleRatio != tc.ratio || f.Y[len(f.Y)-1] != byte(i+1) || f.Cb[len(f.Cb)-1] != wantCb || f.Cr[0] != wantCr {
				t.Fatalf("%q frame %d: ratio %v Y %d Cb %d Cr %d", tc.cs, i, f.SubsampleRatio, f.Y[0], f.Cb[0], f.Cr[0])
			}
			release()
		}
		if _, _, err := y.Read(); err != io.EOF {
			t.Fatalf("%q: after last frame: %v", tc.cs, err)
		}
	}
}

func TestY4MLoopFileAndErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.y4m")
	if err := os.WriteFile(path, y4mData(16, 16, "420", 2), 0o600); err != nil {
		t.Fatal(err)
	}
	y, err := videosrc.OpenY4M(path, videosrc.Y4MOptions{Loop: true, FPS: 200})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		img, _, err := y.Read()
		if err != nil {
			t.Fatal(err)
		}
		if got := img.(*image.YCbCr).Y[0]; got != byte(i%2+1) {
			t.Fatalf("frame %d: luma %d", i, got)
		}
	}
	if err := y.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := y.Read(); err != videosrc.ErrClosed {
		t.Fatalf("after close: %v", err)
	}
	if _, err := videosrc.NewY4M(io.MultiReader(bytes.NewReader(nil)), videosrc.Y4MOptions{Loop: true}); err == nil {
		t.Error("loop on a non-seekable reader accepted")
	}

	for name, data := range map[string]string{
		"empty":     "",
		"signature": "YUV4MPEG W16 H16\n",
		"no size":   "YUV4MPEG2 F30:1\n",
		"huge":      "YUV4MPEG2 W100000 H100000\n",
		"colour":    "YUV4MPEG2 W16 H16 C420p10\n",
		"long line": "YUV4MPEG2 W16 H16 " + string(bytes.Repeat([]byte("X"), 5000)) + "\n",
	} {
		if _, err := videosrc.NewY4M(bytes.NewReader([]byte(data)), videosrc.Y4MOptions{Unpaced: true}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	trunc := y4mData(16, 16, "420", 1)
	y, err = videosrc.NewY4M(bytes.NewReader(trunc[:len(trunc)-10]), videosrc.Y4MOptions{Unpaced: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := y.Read(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated frame: %v", err)
	}
	y, _ = videosrc.NewY4M(bytes.NewReader([]byte("YUV4MPEG2 W2 H2\nFRAMX\n")), videosrc.Y4MOptions{Unpaced: true})
	if _, _, err := y.Read(); !errors.Is(err, videosrc.ErrY4M) {
		t.Errorf("bad frame marker: %v", err)
	}
}

// FuzzY4M: arbitrary input never panics, and frames read match the header.
func FuzzY4M(f *testing.F) {
	f.Add(y4mData(4, 4, "420", 2))
	f.Add(y4mData(3, 5, "422", 1))
	f.Add(y4mData(2, 2, "mono", 1))
	f.Add(y4mData(1, 1, "444", 1))
	f.Add([]byte("YUV4MPEG2 W1 H1\nFRAME\n\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, loop := range []bool{false, true} {
			y, err := videosrc.NewY4M(bytes.NewReader(data), videosrc.Y4MOptions{Unpaced: true, Loop: loop})
			if err != nil {
				return
			}
			for range 4 {
				img, _, err := y.Read()
				if err != nil {
					break
				}
				if r := img.Bounds(); r.Dx() != y.Width() || r.Dy() != y.Height() {
					t.Fatalf("frame %v, header %dx%d", r, y.Width(), y.Height())
				}
			}
			_ = y.Close()
		}
	})
}
