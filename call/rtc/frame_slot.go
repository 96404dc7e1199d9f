package rtc

import (
	"image"
	"sync"
)

// FrameSlot holds the latest decoded remote picture: latest frame wins.
type FrameSlot struct {
	mu     sync.Mutex
	img    *image.YCbCr
	taken  bool // get returned img: the UI may still be drawing it
	seq    uint64
	notify chan struct{} // capacity 1
}

func NewFrameSlot() *FrameSlot { return &FrameSlot{notify: make(chan struct{}, 1)} }

// Put publishes img and returns the picture it replaces if nobody fetched
// it, for the decoder to decode the next frame into.
func (f *FrameSlot) Put(img *image.YCbCr) (spare *image.YCbCr) {
	f.mu.Lock()
	if !f.taken {
		spare = f.img
	}
	f.img, f.taken = img, false
	f.seq++
	f.mu.Unlock()
	select {
	case f.notify <- struct{}{}:
	default:
	}
	return spare
}

// Get returns the latest picture (nil before the first) and a sequence
// number that grows with every Put. The picture is shared: read it only.
func (f *FrameSlot) Get() (*image.YCbCr, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.taken = true
	return f.img, f.seq
}

// Notify is signalled (capacity 1) on every Put.
func (f *FrameSlot) Notify() <-chan struct{} { return f.notify }
