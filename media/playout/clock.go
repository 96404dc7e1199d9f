package playout

import (
	"context"
	"time"
)

// RunClock stands in for an audio device when there is none: it calls pull
// with frame's worth of samples every frame of wall-clock time until ctx
// ends. Its phase follows the remote audio: a signal on arrived (a track's
// first packet) pulls at once, so the first audio plays on arrival rather
// than on a timer that started earlier, and later pulls fall half a frame
// after the packets' expected arrivals, so a packet may be up to half a
// frame late without the playout buffer holding a whole extra frame.
func RunClock(ctx context.Context, frame time.Duration, samples int, arrived <-chan struct{}, pull func([]int16)) {
	buf := make([]int16, samples)
	next := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-arrived:
			t.Stop()
			next = time.Now().Add(frame / 2)
		}
		pull(buf)
		next = next.Add(frame)
		now := time.Now()
		if now.Sub(next) > 10*frame {
			next = now // descheduled for long: restart instead of bursting
		}
		t.Reset(max(next.Sub(now), 0))
	}
}
