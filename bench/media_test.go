package bench

import (
	"math"
	"testing"
	"time"

	"github.com/softphone/softphone/media/audiocmp"
)

// The mouth-to-ear figure rests on trackOffset finding where a recorded
// track carries the sent signal: check it on a signal delayed by a known
// number of samples, slightly distorted.
func TestTrackOffsetFindsDelay(t *testing.T) {
	sig := audiocmp.Signal(4, 0.4)
	al := audiocmp.NewAligner(sig, 48000/4)
	for _, delay := range []int{0, 960, 2401, 24000} {
		got := make([]int16, delay, delay+len(sig))
		for i, v := range sig {
			// A little noise and gain, as after a codec.
			got = append(got, int16(0.8*float64(v)+40*math.Sin(float64(i)*0.7)))
		}
		off, corr, n, err := trackOffset(al, got)
		if err != nil {
			t.Fatalf("delay %d: %v", delay, err)
		}
		if off != float64(delay) || corr < 0.95 || n < 8 {
			t.Errorf("delay %d: offset %.0f, corr %.3f over %d windows", delay, off, corr, n)
		}
	}
}

func TestTrackOffsetSilent(t *testing.T) {
	al := audiocmp.NewAligner(audiocmp.Signal(2, 0), 48000/4)
	if _, _, _, err := trackOffset(al, make([]int16, 48000)); err == nil {
		t.Fatal("silent track: want an error")
	}
}

func TestCaptureLog(t *testing.T) {
	var c captureLog
	if _, ok := c.get(3); ok {
		t.Fatal("empty log has frame 3")
	}
	now := testNow()
	c.put(5, now)
	if got, ok := c.get(5); !ok || !got.Equal(now) {
		t.Fatalf("frame 5: %v %v", got, ok)
	}
	if _, ok := c.get(4); ok {
		t.Fatal("frame 4 was never captured")
	}
}

func testNow() time.Time { return time.Unix(1700000000, 123) }
