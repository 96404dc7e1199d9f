package rtc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/pion/transport/v5/packetio"
)

func TestNackList(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	rtt := 50 * time.Millisecond
	l := newNackList(400 * time.Millisecond)
	l.received(65534, at(0), false)
	l.received(65535, at(1), false)
	l.received(2, at(2), false) // 0 and 1 lost across the wrap
	if got := l.due(at(2), rtt); len(got) != 0 {
		t.Fatalf("NACKed %v before the reorder wait", got)
	}
	if got := l.due(at(10), rtt); !slices.Equal(got, []uint16{0, 1}) {
		t.Fatalf("first NACK %v, want [0 1]", got)
	}
	if got := l.due(at(30), rtt); len(got) != 0 {
		t.Fatalf("asked again %v within the round trip", got)
	}
	l.received(0, at(40), true) // the retransmission of 0
	if got := l.due(at(90), rtt); !slices.Equal(got, []uint16{1}) {
		t.Fatalf("second NACK %v, want [1]: 0 came", got)
	}
	if next := l.next(rtt); !next.Equal(at(90).Add(rtt + nackRetryExtra)) {
		t.Fatalf("next due %v", next.Sub(t0))
	}
	// Too old: given up with the frame.
	if got := l.due(at(500), rtt); len(got) != 0 || len(l.missing) != 0 {
		t.Fatalf("expired packet asked for (%v) or kept (%d)", got, len(l.missing))
	}
	// Packets that were only reordered teach the wait: 3 and 4 are
	// missing when 5 comes, and arrive 30 and 40 ms later.
	l.received(5, at(600), false)
	l.received(4, at(630), false)
	l.received(3, at(640), false)
	if l.reorder < 30*time.Millisecond {
		t.Fatalf("reorder wait %v after a packet 40 ms late", l.reorder)
	}
	// Retries are bounded.
	l.received(10, at(700), false) // 6..9 missing
	n := 0
	for ms := 700; ms < 1100; ms += 10 {
		n += len(l.due(at(ms), 0))
	}
	if n > 4*nackMaxTries {
		t.Fatalf("%d NACKs for 4 packets", n)
	}
	// A huge gap asks for a keyframe instead.
	if !l.received(10+nackMaxMissing+5, at(1200), false) || len(l.missing) != 0 {
		t.Fatal("a gap of more than nackMaxMissing packets did not turn into a keyframe request")
	}
}

func TestIsTimeout(t *testing.T) {
	if !isTimeout(os.ErrDeadlineExceeded) || !isTimeout(fmt.Errorf("read: %w", os.ErrDeadlineExceeded)) {
		t.Error("os.ErrDeadlineExceeded not a timeout")
	}
	// What a pion read stream's buffer returns at its deadline.
	b := packetio.NewBuffer()
	_ = b.SetReadDeadline(time.Now().Add(-time.Second))
	if _, _, err := b.Read(make([]byte, 10), nil); !isTimeout(err) {
		t.Errorf("packetio's deadline error %v not a timeout", err)
	}
	if isTimeout(io.EOF) || isTimeout(errors.New("bad packet")) {
		t.Error("EOF or a parse error taken for a timeout")
	}
}
