package rtc

import "testing"

// Video leaves room for the audio a call may send at any moment: its full
// bitrate, times the copies RED carries, or with FEC's extra rate.
func TestAudioReserve(t *testing.T) {
	red := func(sending bool, d int32) *redControl {
		c := &redControl{}
		c.sending.Store(sending)
		c.distance.Store(d)
		return c
	}
	tests := []struct {
		name string
		red  *redControl
		want int
	}{
		{"no audio control", nil, 32_000 + audioHeaderBps},
		{"RED distance 1", red(true, 1), 64_000 + audioHeaderBps},
		{"RED distance 3", red(true, 3), 128_000 + audioHeaderBps},
		{"FEC, no RED", red(false, 2), 40_000 + audioHeaderBps},
	}
	for _, tt := range tests {
		if got := audioReserve(32_000, tt.red); got != tt.want {
			t.Errorf("%s: reserve %d, want %d", tt.name, got, tt.want)
		}
	}
	// On a 150 kbit/s path with RED the picture gets what is left, if any.
	if v := videoShare(140_000, audioReserve(32_000, red(true, 1)), 0, 900_000, mediaShare); v > 40_000 {
		t.Errorf("video share %d of a 140 kbit/s target beside RED audio", v)
	}
	// Lean audio leaves the smallest picture (160x90@10: 16 kbps) its
	// room on a 150 kbit/s path and the path a fifth of the target free.
	lean := red(true, 1)
	lean.lean.Store(true)
	if v := videoShare(137_000, audioReserve(32_000, lean), 0, 900_000, leanMediaShare); v < 25_000 || v > 40_000 {
		t.Errorf("video share %d of a 137 kbit/s target beside lean audio", v)
	}
}
