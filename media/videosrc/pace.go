// Package videosrc provides video sources for pion/mediadevices: a moving test
// pattern carrying a machine-readable frame counter, and a Y4M file reader.
// Both implement mediadevices.VideoSource (video.Reader + ID + Close) and are
// paced in real time.
package videosrc

import (
	"errors"
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
