package video

import (
	"context"
	"image"
	"time"
)

// DefaultFPS is the redraw ceiling for terminal video: at 120×40 cells a
// truecolor frame is ≈ 150–250 KB of escapes, so 20 fps is already several
// MB/s through the terminal.
const DefaultFPS = 20

// Gate throttles redraws of a video source: at most one frame per interval,
// and the frame drawn is always the newest one (frames that arrive while
// waiting replace each other). One Gate serves one pane; Wait must not be
// called concurrently with itself.
type Gate struct {
	interval time.Duration
	last     time.Time
	lastSeq  uint64
}

// NewGate returns a gate for at most fps frames per second (DefaultFPS when
// fps <= 0).
func NewGate(fps float64) *Gate {
	if fps <= 0 {
		fps = DefaultFPS
	}
	return &Gate{interval: time.Duration(float64(time.Second) / fps)}
}

// Wait blocks until get has a frame newer than the last one Wait returned and
// the interval since then has passed, and returns that frame and its
// sequence number. notify is signalled when a new frame is available (the
// call engine's RemoteVideoNotify; nil polls get once per interval); get returns the latest frame (its
// RemoteVideoFrame or LocalVideoFrame). It returns ctx's error when ctx ends.
//
// In Bubble Tea, run it inside a tea.Cmd and issue the next Cmd when the
// frame message has been handled.
func (g *Gate) Wait(ctx context.Context, notify <-chan struct{}, get func() (*image.YCbCr, uint64)) (*image.YCbCr, uint64, error) {
	for {
		if img, seq := get(); img != nil && seq != g.lastSeq {
			if wait := g.interval - time.Since(g.last); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil, 0, ctx.Err()
				case <-t.C:
				}
				img, seq = get() // the newest one after the pause
			}
			g.last, g.lastSeq = time.Now(), seq
			return img, seq, nil
		}
		if err := g.next(ctx, notify); err != nil {
			return nil, 0, err
		}
	}
}

// next waits for notify (or one interval when notify is nil) or ctx.
func (g *Gate) next(ctx context.Context, notify <-chan struct{}) error {
	var poll <-chan time.Time
	if notify == nil {
		t := time.NewTimer(g.interval)
		defer t.Stop()
		poll = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-notify:
	case <-poll:
	}
	return nil
}
