package audiocmp

import "testing"

func TestAlignerFindsOffset(t *testing.T) {
	ref := Signal(3, 0.7)
	al := NewAligner(ref, 12000)
	for _, off := range []int{0, 480, 12345, len(ref) - 12000} {
		win := make([]int16, 12000)
		for i := range win {
			win[i] = ref[off+i] / 2 // a level change must not matter
		}
		lag, corr := al.Align(win)
		if lag != off || corr < 0.99 {
			t.Errorf("offset %d: lag %d corr %.3f", off, lag, corr)
		}
	}
	// Silence correlates with nothing.
	if _, corr := al.Align(make([]int16, 12000)); corr != 0 {
		t.Errorf("silence: corr %.3f", corr)
	}
	if RMS([]int16{3, -4, 3, -4}) < 3.5 || RMS(nil) != 0 {
		t.Error("RMS")
	}
}
