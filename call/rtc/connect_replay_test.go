package rtc

import (
	"bytes"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// recordWriter is the end of the writer chain: it records what reached it.
type recordWriter struct {
	webrtc.TrackLocalWriter
	got []uint16 // sequence numbers
}

func (r *recordWriter) WriteRTP(h *rtp.Header, _ []byte) (int, error) {
	r.got = append(r.got, h.SequenceNumber)
	return 0, nil
}

// VP8 payloads: descriptor (S bit, PID 0) then the frame header's first byte.
var (
	vp8KeyStart   = []byte{0x10, 0x00, 0x01, 0x02}
	vp8DeltaStart = []byte{0x10, 0x01, 0x01, 0x02}
	vp8Cont       = []byte{0x00, 0x55, 0x66}
)

func TestReplayWriter(t *testing.T) {
	type pkt struct {
		seq     uint16
		ts      uint32
		payload []byte
	}
	audio := []byte{0xfc, 0xff}
	tests := []struct {
		name       string
		video      bool
		before     []pkt         // written before the transport is up
		after      []pkt         // written once it is
		age        time.Duration // of the kept packets when the transport comes up
		wantReplay []uint16
	}{
		{"audio keeps the newest packet", false,
			[]pkt{{1, 960, audio}, {2, 1920, audio}, {3, 2880, audio}}, nil, 3 * time.Millisecond, []uint16{3}},
		{"audio half a frame old is replayed", false,
			[]pkt{{1, 960, audio}}, nil, maxAudioReplayAge, []uint16{1}},
		{"audio older than half a frame is not", false,
			[]pkt{{1, 960, audio}}, nil, maxAudioReplayAge + time.Millisecond, nil},
		{"audio with nothing before", false, nil, []pkt{{1, 960, audio}}, 0, nil},
		{"video keeps the newest keyframe's packets", true,
			[]pkt{{1, 1000, vp8KeyStart}, {2, 1000, vp8Cont}, {3, 4000, vp8DeltaStart}, {4, 4000, vp8Cont},
				{5, 7000, vp8KeyStart}, {6, 7000, vp8Cont}, {7, 7000, vp8Cont}, {8, 10000, vp8DeltaStart}},
			nil, 50 * time.Millisecond, []uint16{5, 6, 7}},
		{"video without a keyframe keeps nothing", true,
			[]pkt{{1, 1000, vp8DeltaStart}, {2, 1000, vp8Cont}}, nil, 0, nil},
		{"packets after connecting are not kept", true,
			nil, []pkt{{1, 1000, vp8KeyStart}, {2, 1000, vp8Cont}}, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			end := &recordWriter{}
			var connected atomic.Bool
			w := newReplayWriter(end, tc.video, &connected)
			clock := time.Unix(1000, 0)
			w.now = func() time.Time { return clock }
			write := func(ps []pkt) {
				for _, p := range ps {
					if _, err := w.WriteRTP(&rtp.Header{SequenceNumber: p.seq, Timestamp: p.ts}, p.payload); err != nil {
						t.Fatal(err)
					}
				}
			}
			write(tc.before)
			clock = clock.Add(tc.age)
			connected.Store(true)
			write(tc.after)
			n := len(end.got)
			if n != len(tc.before)+len(tc.after) {
				t.Fatalf("passed on %d packets, want every one of %d", n, len(tc.before)+len(tc.after))
			}
			w.replay()
			w.replay() // once only
			if got := end.got[n:]; !slices.Equal(got, tc.wantReplay) {
				t.Fatalf("replayed %v, want %v", got, tc.wantReplay)
			}
		})
	}
}

func TestReplayWriterBound(t *testing.T) {
	end := &recordWriter{}
	w := newReplayWriter(end, true, new(atomic.Bool))
	big := append(append([]byte(nil), vp8Cont...), bytes.Repeat([]byte{1}, 64<<10)...)
	_, _ = w.WriteRTP(&rtp.Header{SequenceNumber: 1, Timestamp: 9}, vp8KeyStart)
	for i := range maxHeldBytes/len(big) + 2 {
		_, _ = w.WriteRTP(&rtp.Header{SequenceNumber: uint16(i + 2), Timestamp: 9}, big)
	}
	if w.bytes > maxHeldBytes {
		t.Fatalf("kept %d bytes, bound %d", w.bytes, maxHeldBytes)
	}
}

func TestVP8KeyframeStart(t *testing.T) {
	for _, tc := range []struct {
		payload []byte
		want    bool
	}{
		{vp8KeyStart, true},
		{vp8DeltaStart, false},
		{vp8Cont, false},
		{[]byte{0x90, 0x80, 0x81, 0x23, 0x00}, true}, // X, I, 15-bit picture ID
		{nil, false},
		{[]byte{0x10}, false},
	} {
		if got := vp8KeyframeStart(tc.payload); got != tc.want {
			t.Errorf("vp8KeyframeStart(% x) = %v, want %v", tc.payload, got, tc.want)
		}
	}
}
