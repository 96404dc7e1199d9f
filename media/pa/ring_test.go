package pa

import (
	"sync"
	"testing"
)

func TestRingWrapAndLimits(t *testing.T) {
	q := newCRing(5) // rounds up to 8
	defer q.free()
	if q.cap() != 8 {
		t.Fatalf("capacity %d, want 8", q.cap())
	}
	out := make([]int16, 8)
	next := int16(0)
	want := int16(0)
	for round := 0; round < 50; round++ {
		in := make([]int16, 1+round%7)
		for i := range in {
			in[i] = next
			next++
		}
		if n := q.write(in); n != len(in) {
			t.Fatalf("round %d: wrote %d of %d into an empty ring", round, n, len(in))
		}
		n := q.read(out)
		if n != len(in) {
			t.Fatalf("round %d: read %d, want %d", round, n, len(in))
		}
		for _, v := range out[:n] {
			if v != want {
				t.Fatalf("round %d: got %d, want %d", round, v, want)
			}
			want++
		}
	}
	// Full ring: a write stores only what fits; discard drops the oldest.
	if n := q.write(make([]int16, 20)); n != 8 {
		t.Fatalf("write into empty ring of 8 stored %d", n)
	}
	if n := q.write([]int16{1}); n != 0 {
		t.Fatalf("write into full ring stored %d", n)
	}
	if n := q.discard(3); n != 3 || q.len() != 5 {
		t.Fatalf("discard 3: got %d, len %d", n, q.len())
	}
	if n := q.discard(100); n != 5 || q.len() != 0 {
		t.Fatalf("discard all: got %d, len %d", n, q.len())
	}
}

// TestRingConcurrent runs a producer and a consumer at full speed; with
// wrong memory ordering in the C ring would show up as corrupted samples.
func TestRingConcurrent(t *testing.T) {
	const total = 200_000
	q := newCRing(1024)
	defer q.free()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]int16, 333)
		v := 0
		for v < total {
			n := min(len(buf), total-v)
			for i := range n {
				buf[i] = int16(v + i)
			}
			w := q.write(buf[:n])
			v += w
		}
	}()
	buf := make([]int16, 257)
	got := 0
	for got < total {
		n := q.read(buf)
		for i := range n {
			if buf[i] != int16(got+i) {
				t.Fatalf("sample %d: got %d", got+i, buf[i])
			}
		}
		got += n
	}
	wg.Wait()
}

func BenchmarkRing960(b *testing.B) {
	q := newCRing(4096)
	defer q.free()
	frame := make([]int16, FrameSamples)
	b.SetBytes(FrameSamples * 2)
	for b.Loop() {
		q.write(frame)
		q.read(frame)
	}
}
