package vp8

import (
	"testing"
)

// FuzzDecode: decoding arbitrary bytes never crashes, and the decoder keeps
// working for the next input.
func FuzzDecode(f *testing.F) {
	src := frames(f, 64, 48, 3)
	e := newTestEncoder(f, &sliceReader{frames: src}, NewParams(), 64, 48)
	for range 3 {
		fr, err := nextFrame(f, e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fr)
		f.Add(fr[:len(fr)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0xff, 0x3f, 0xff, 0x3f})
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		img, err := d.Decode(data)
		if err == nil && (img == nil || len(img.Y) != img.Rect.Dx()*img.Rect.Dy()) {
			t.Fatalf("bad image %v", img)
		}
		_, _ = d.Decode(data) // a second decode on the same context must not crash either
	})
}
