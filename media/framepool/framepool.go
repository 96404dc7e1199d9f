// Package framepool recycles YCbCr frames between a video source or
// transform and its readers. A frame goes back to the pool only when its
// release func is called: mediadevices' track discards release funcs, so
// inside a track every frame is freshly allocated and a slow reader never
// sees its frame overwritten, while callers that do release (tests,
// recorders) reach an allocation-free steady state.
package framepool

import (
	"image"
	"sync"
)

// maxFree bounds how many released frames a pool keeps.
const maxFree = 4

// Pool hands out frames of one geometry; a change of size or subsampling
// drops the frames kept for the old one. The zero value is ready to use.
type Pool struct {
	mu    sync.Mutex
	free  []*image.YCbCr
	rect  image.Rectangle
	ratio image.YCbCrSubsampleRatio
}

// Get returns a frame of the given geometry, recycled when possible. Its
// pixels are whatever the previous user left.
func (p *Pool) Get(r image.Rectangle, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rect != r || p.ratio != ratio {
		p.free, p.rect, p.ratio = nil, r, ratio
	}
	if n := len(p.free); n > 0 {
		img := p.free[n-1]
		p.free = p.free[:n-1]
		return img
	}
	return image.NewYCbCr(r, ratio)
}

// Releaser returns the release func for img: calling it (any number of
// times) gives img back to the pool if it still has the pool's geometry.
func (p *Pool) Releaser(img *image.YCbCr) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if img.Rect == p.rect && img.SubsampleRatio == p.ratio && len(p.free) < maxFree {
				p.free = append(p.free, img)
			}
		})
	}
}
