package playout_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/softphone/softphone/media/playout"
)

// The clock pulls on the first packet's arrival, then on a schedule half a
// frame out of phase with the packets, and hands each pull its scheduled
// time (not when it ran), so what it feeds sees an even timeline.
func TestRunClockSchedule(t *testing.T) {
	const frame = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	arrived := make(chan struct{}, 1)
	var mu sync.Mutex
	var dues []time.Time
	done := make(chan struct{})
	go func() {
		defer close(done)
		playout.RunClock(ctx, frame, 480, arrived, func(out []int16, due time.Time) {
			if len(out) != 480 {
				t.Errorf("pull of %d samples", len(out))
			}
			mu.Lock()
			dues = append(dues, due)
			n := len(dues)
			mu.Unlock()
			if n == 3 {
				arrived <- struct{}{}
			}
			if n == 12 {
				cancel()
			}
		})
	}()
	<-done
	mu.Lock()
	defer mu.Unlock()
	// After the arrival pull the next is due 1.5 frames later, then every
	// frame; before it, every frame. (Which pull the arrival lands on
	// depends on the scheduler, so only the spacings are checked.)
	k := -1 // the arrival pull: the one followed by a 1.5-frame gap
	for i := 1; i < len(dues); i++ {
		if dues[i].Sub(dues[i-1]) == frame*3/2 {
			k = i - 1
			break
		}
	}
	if k < 0 {
		t.Fatalf("no pull 1.5 frames after an arrival pull: %v", dues)
	}
	for i := 1; i < len(dues); i++ {
		if i == k || i == k+1 {
			continue
		}
		// (More than ten frames means the clock was descheduled that long
		// and restarted: a busy machine, not a fault.)
		if d := dues[i].Sub(dues[i-1]); d != frame && d <= 10*frame {
			t.Errorf("pull %d due %v after the previous, want %v", i, d, frame)
		}
	}
}
