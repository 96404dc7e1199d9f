package framepool

import (
	"image"
	"testing"
)

func TestPoolRecyclesOnlyReleasedFramesOfItsGeometry(t *testing.T) {
	var p Pool
	r := image.Rect(0, 0, 64, 32)
	a := p.Get(r, image.YCbCrSubsampleRatio420)
	if b := p.Get(r, image.YCbCrSubsampleRatio420); b == a {
		t.Fatal("an unreleased frame was handed out twice")
	}
	rel := p.Releaser(a)
	rel()
	rel() // idempotent: must not put a twice
	if got := p.Get(r, image.YCbCrSubsampleRatio420); got != a {
		t.Fatal("released frame not recycled")
	}
	if got := p.Get(r, image.YCbCrSubsampleRatio420); got == a {
		t.Fatal("double release put the frame back twice")
	}
	// A geometry change drops kept frames, and old frames are not taken back.
	p.Releaser(a)()
	c := p.Get(image.Rect(0, 0, 32, 32), image.YCbCrSubsampleRatio422)
	if c == a {
		t.Fatal("frame of another geometry recycled")
	}
	p.Releaser(a)()
	if got := p.Get(image.Rect(0, 0, 32, 32), image.YCbCrSubsampleRatio422); got == a {
		t.Fatal("old-geometry frame accepted back")
	}
}
