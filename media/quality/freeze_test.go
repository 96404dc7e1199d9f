package quality

import (
	"testing"
	"time"
)

func TestFreezeMeter(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var m FreezeMeter
	ms := 0
	frames := func(n, gap int) {
		for range n {
			ms += gap
			m.Frame(at(ms))
		}
	}
	frames(30, 33) // 30 fps
	if f, n := m.Take(at(ms)); f != 0 || n != 0 {
		t.Fatalf("smooth video: frozen %v in %d freezes", f, n)
	}
	ms += 150 // a 150 ms gap at 33 ms average: under max(99, 183) ms
	m.Frame(at(ms))
	if f, _ := m.Take(at(ms)); f != 0 {
		t.Fatalf("150 ms gap counted as %v of freeze", f)
	}
	// A 500 ms gap, sampled in the middle: the part so far, then the rest.
	if m.Frozen(at(ms + 100)) {
		t.Fatal("frozen 100 ms after a frame")
	}
	if !m.Frozen(at(ms + 300)) {
		t.Fatal("not frozen 300 ms after a frame at 30 fps")
	}
	f1, n1 := m.Take(at(ms + 300))
	ms += 500
	m.Frame(at(ms))
	f2, n2 := m.Take(at(ms))
	if f1 != 300*time.Millisecond || f2 != 200*time.Millisecond || n1+n2 != 1 {
		t.Fatalf("500 ms freeze taken as %v + %v in %d+%d freezes", f1, f2, n1, n2)
	}
	if m.Total() != 500*time.Millisecond {
		t.Fatalf("total %v", m.Total())
	}
	// A paused sender is no freeze.
	frames(10, 33)
	m.Pause(at(ms + 10))
	if m.Frozen(at(ms + 2000)) {
		t.Fatal("paused video reads as frozen")
	}
	ms += 2000
	m.Frame(at(ms))
	if f, n := m.Take(at(ms)); f != 0 || n != 0 {
		t.Fatalf("pause counted as %v in %d freezes", f, n)
	}
	// Too few frames to judge: no freeze.
	var fresh FreezeMeter
	fresh.Frame(at(0))
	fresh.Frame(at(33))
	if fresh.Frozen(at(5000)) {
		t.Fatal("two frames are not enough to call a freeze")
	}
}
