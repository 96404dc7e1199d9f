// Package videosrc provides video sources for pion/mediadevices: a moving test
// pattern carrying a machine-readable frame counter, and a Y4M file reader.
// Both implement mediadevices.VideoSource (video.Reader + ID + Close) and are
// paced in real time.
package videosrc

import (
	"errors"
	"image"
	"sync"
	"time"
)

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("videosrc: source closed")

// pacer releases one frame per interval on a fixed schedule. When the consumer
// stalls for longer than one interval the schedule restarts from now: the
// frames that were due are skipped, never delivered in a burst.
type pacer struct {
	interval time.Duration
	next     time.Time
	timer    *time.Timer
}

func newPacer(fps float64) *pacer {
	return &pacer{interval: time.Duration(float64(time.Second) / fps)}
}

// wait blocks until the next frame is due or done is closed; it returns the
// capture time of the frame.
func (p *pacer) wait(done <-chan struct{}) (time.Time, error) {
	now := time.Now()
	if p.next.IsZero() || now.Sub(p.next) > p.interval {
		p.next = now
	}
	if d := p.next.Sub(now); d > 0 {
		if p.timer == nil {
			p.timer = time.NewTimer(d)
		} else {
			p.timer.Reset(d)
		}
		select {
		case <-done:
			p.timer.Stop()
			return time.Time{}, ErrClosed
		case <-p.timer.C:
		}
		now = time.Now()
	}
	p.next = p.next.Add(p.interval)
	return now, nil
}

// framePool recycles frames whose release func was called. mediadevices'
// track discards release funcs, so in a track every frame is freshly
// allocated and a slow reader never sees its frame overwritten; callers that
// do release (tests, recorders) get allocation-free steady state.
type framePool struct {
	mu    sync.Mutex
	free  []*image.YCbCr
	rect  image.Rectangle
	ratio image.YCbCrSubsampleRatio
}

const maxPooled = 4

func (fp *framePool) get(r image.Rectangle, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if fp.rect != r || fp.ratio != ratio {
		fp.free, fp.rect, fp.ratio = nil, r, ratio
	}
	if n := len(fp.free); n > 0 {
		img := fp.free[n-1]
		fp.free = fp.free[:n-1]
		return img
	}
	return image.NewYCbCr(r, ratio)
}

func (fp *framePool) releaser(img *image.YCbCr) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			fp.mu.Lock()
			defer fp.mu.Unlock()
			if img.Rect == fp.rect && img.SubsampleRatio == fp.ratio && len(fp.free) < maxPooled {
				fp.free = append(fp.free, img)
			}
		})
	}
}
