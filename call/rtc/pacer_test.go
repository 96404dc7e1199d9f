package rtc

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtp"
)

// sink records what a pacer writes.
type sink struct {
	mu   sync.Mutex
	seqs []uint16
	data [][]byte
}

func (s *sink) Write(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seqs = append(s.seqs, h.SequenceNumber)
	s.data = append(s.data, append([]byte(nil), payload...))
	return len(payload), nil
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seqs)
}

func waitCount(t *testing.T, s *sink, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d packets written", s.count(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPacerSendsAtOnceWithinBudget: a packet that fits the bucket is
// written before Write returns (no tick to wait for).
func TestPacerSendsAtOnceWithinBudget(t *testing.T) {
	p := newBurstPacer(600_000)
	defer p.Close()
	s := &sink{}
	p.AddStream(1, s)
	for i := range 5 {
		if _, err := p.Write(&rtp.Header{SSRC: 1, SequenceNumber: uint16(i)}, make([]byte, 160), nil); err != nil {
			t.Fatal(err)
		}
		if got := s.count(); got != i+1 {
			t.Fatalf("after Write %d: %d packets written, want %d", i, got, i+1)
		}
	}
}

// TestPacerQueuesBeyondBudget: a burst bigger than the bucket is queued,
// copied (the caller reuses its buffer) and written in order, no faster than
// the pacing rate allows.
func TestPacerQueuesBeyondBudget(t *testing.T) {
	const bps = 200_000 // pacing rate 2.5× → 62.5 KB/s; burst = minimum 12 KB
	p := newBurstPacer(bps)
	defer p.Close()
	s := &sink{}
	p.AddStream(7, s)
	buf := make([]byte, 1000)
	const n = 30 // 30 KB: ≈ 18 KB beyond the burst, ≈ 0.29 s at the rate
	start := time.Now()
	for i := range n {
		for j := range buf {
			buf[j] = byte(i)
		}
		if _, err := p.Write(&rtp.Header{SSRC: 7, SequenceNumber: uint16(i)}, buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	if s.count() == n {
		t.Fatal("a burst over the bucket was written at once")
	}
	waitCount(t, s, n)
	elapsed := time.Since(start)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, seq := range s.seqs {
		if seq != uint16(i) {
			t.Fatalf("packet %d has sequence %d: reordered", i, seq)
		}
		if s.data[i][0] != byte(i) || s.data[i][len(buf)-1] != byte(i) {
			t.Fatalf("packet %d payload changed after Write: the queue did not copy it", i)
		}
	}
	// A lower bound only: a loaded machine can only make it slower.
	minBytes := float64(n*(1000+12)) - pacingMinBurst
	if min := time.Duration(minBytes / (pacingFactor * bps / 8) * 0.9 * float64(time.Second)); elapsed < min {
		t.Errorf("%d KB left in %v, faster than the pacing rate allows (%v)", n, elapsed, min)
	}
}

// TestPacerErrors: unknown streams and writes after Close fail; Close drops
// what waits.
func TestPacerErrors(t *testing.T) {
	p := newBurstPacer(100_000)
	s := &sink{}
	p.AddStream(1, s)
	if _, err := p.Write(&rtp.Header{SSRC: 2}, []byte{1}, nil); !errors.Is(err, gcc.ErrUnknownStream) {
		t.Fatalf("unknown SSRC: %v", err)
	}
	for i := range 40 {
		_, _ = p.Write(&rtp.Header{SSRC: 1, SequenceNumber: uint16(i)}, make([]byte, 1200), nil)
	}
	written := s.count()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write(&rtp.Header{SSRC: 1}, []byte{1}, nil); !errors.Is(err, errPacerClosed) {
		t.Fatalf("write after close: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := s.count(); got != written {
		t.Fatalf("%d packets written after Close (had %d)", got, written)
	}
}

// TestPacerDropsBeyondMaxWait: the queue holds at most pacingMaxWait at the
// rate; the rest is dropped, not buffered without bound.
func TestPacerDropsBeyondMaxWait(t *testing.T) {
	p := newBurstPacer(50_000) // 15.6 KB/s → at most ≈ 7.8 KB queued
	defer p.Close()
	p.AddStream(1, &sink{})
	for i := range 100 {
		_, _ = p.Write(&rtp.Header{SSRC: 1, SequenceNumber: uint16(i)}, make([]byte, 1000), nil)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dropped == 0 || float64(p.queued) > p.rate*pacingMaxWait.Seconds() {
		t.Fatalf("dropped %d, queued %d bytes at %.0f B/s", p.dropped, p.queued, p.rate)
	}
}
