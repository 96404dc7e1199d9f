package vp8

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// apkt builds an RTP packet of a VP8 stream: a one-byte payload descriptor
// (S set on a frame's first packet) and the body; a first packet's body
// starts with the frame header byte (bit 0 clear on keyframes).
func apkt(seq uint16, ts uint32, start, marker, key bool, body ...byte) *rtp.Packet {
	desc := byte(0)
	if len(body) == 0 {
		body = []byte{0xee}
	}
	if start {
		desc = 0x10
		hdr := byte(1)
		if key {
			hdr = 0
		}
		body = append([]byte{hdr}, body...)
	}
	return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts, Marker: marker},
		Payload: append([]byte{desc}, body...)}
}

type step struct {
	p    *rtp.Packet
	at   time.Duration // arrival, from the test's start
	want []uint32      // timestamps of the frames Pop returns after this push
	loss []bool        // their AfterLoss, if checked
}

func TestAssembler(t *testing.T) {
	const maxDelay = 100 * time.Millisecond
	tests := []struct {
		name  string
		steps []step
	}{
		{"one-packet frames leave at once", []step{
			{p: apkt(10, 0, true, true, true, 1), want: []uint32{0}},
			{p: apkt(11, 3000, true, true, false, 2), want: []uint32{3000}},
		}},
		{"a frame leaves with its marker packet", []step{
			{p: apkt(10, 0, true, false, true, 1)},
			{p: apkt(11, 0, false, false, false, 2)},
			{p: apkt(12, 0, false, true, false, 3), want: []uint32{0}},
		}},
		{"reordered packets", []step{
			{p: apkt(12, 0, false, true, false, 3)},
			{p: apkt(10, 0, true, false, true, 1)},
			{p: apkt(11, 0, false, false, false, 2), want: []uint32{0}},
		}},
		{"a retransmission fills the gap in time", []step{
			{p: apkt(10, 0, true, true, true), want: []uint32{0}},
			{p: apkt(12, 3000, false, true, false)},
			{p: apkt(13, 6000, true, true, false)},
			{p: apkt(11, 3000, true, false, false), at: 50 * time.Millisecond, want: []uint32{3000, 6000}, loss: []bool{false, false}},
		}},
		{"a lost packet is given up after maxDelay", []step{
			{p: apkt(10, 0, true, true, true), want: []uint32{0}},
			{p: apkt(12, 3000, false, true, false)},
			{p: apkt(13, 6000, true, true, true), at: 20 * time.Millisecond},
			{p: apkt(14, 9000, true, true, false), at: 150 * time.Millisecond, want: []uint32{6000, 9000}, loss: []bool{true, false}},
			{p: apkt(11, 3000, true, false, false), at: 160 * time.Millisecond}, // too late
		}},
		{"duplicates are ignored", []step{
			{p: apkt(10, 0, true, false, true, 1)},
			{p: apkt(10, 0, true, false, true, 1)},
			{p: apkt(11, 0, false, true, false, 2), want: []uint32{0}},
			{p: apkt(11, 0, false, true, false, 2)},
		}},
		{"the stream is joined at a frame start", []step{
			{p: apkt(9, 0, false, true, false)},
			{p: apkt(10, 3000, true, true, true), want: []uint32{3000}},
		}},
		{"sequence numbers wrap", []step{
			{p: apkt(65535, 0, true, false, true, 1)},
			{p: apkt(0, 0, false, true, false, 2), want: []uint32{0}},
			{p: apkt(1, 3000, true, true, false), want: []uint32{3000}},
		}},
		{"a jump beyond the window drops what it cannot hold", []step{
			{p: apkt(10, 0, true, true, true), want: []uint32{0}},
			{p: apkt(12, 3000, true, true, false)},
			{p: apkt(2000, 9000, true, true, true), want: []uint32{9000}, loss: []bool{true}},
		}},
		{"a restarted sequence is followed", []step{
			{p: apkt(40000, 0, true, true, true), want: []uint32{0}},
			{p: apkt(100, 3000, true, true, true), want: []uint32{3000}, loss: []bool{true}},
		}},
	}
	t0 := time.Unix(1000, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAssembler(maxDelay)
			for i, st := range tc.steps {
				now := t0.Add(st.at)
				a.Push(st.p, now)
				var got []uint32
				var loss []bool
				for {
					f, ok := a.Pop(now)
					if !ok {
						break
					}
					got, loss = append(got, f.Timestamp), append(loss, f.AfterLoss)
				}
				if len(got) != len(st.want) {
					t.Fatalf("step %d: frames %v, want %v", i, got, st.want)
				}
				for j := range got {
					if got[j] != st.want[j] {
						t.Fatalf("step %d: frames %v, want %v", i, got, st.want)
					}
					if st.loss != nil && loss[j] != st.loss[j] {
						t.Fatalf("step %d: AfterLoss %v, want %v", i, loss, st.loss)
					}
				}
			}
		})
	}
}

func TestAssemblerFrameData(t *testing.T) {
	a := NewAssembler(time.Second)
	now := time.Now()
	a.Push(apkt(5, 90, true, false, true, 0xaa, 0xbb), now)
	a.Push(apkt(6, 90, false, true, false, 0xcc), now)
	f, ok := a.Pop(now)
	if !ok {
		t.Fatal("no frame")
	}
	if want := []byte{0x00, 0xaa, 0xbb, 0xcc}; !bytes.Equal(f.Data, want) || !f.Keyframe {
		t.Fatalf("frame % x key %v, want % x key true", f.Data, f.Keyframe, want)
	}
}

// FuzzAssembler feeds arbitrary packets (the network's input) and checks
// that every frame returned is non-empty and in timestamp order of arrival.
func FuzzAssembler(f *testing.F) {
	f.Add([]byte{0, 10, 0x10, 0x00, 1, 0, 11, 0x00, 2, 0x80})
	f.Add([]byte{255, 255, 0x10, 0x01, 0, 0, 0, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		a := NewAssembler(50 * time.Millisecond)
		now := time.Unix(0, 0)
		// Each record: seq (2 bytes), flags, then payload up to the next
		// 0x80 byte.
		for len(data) >= 3 {
			seq := uint16(data[0])<<8 | uint16(data[1])
			flags := data[2]
			data = data[3:]
			end := bytes.IndexByte(data, 0x80)
			if end < 0 {
				end = len(data)
			}
			payload := data[:end]
			data = data[min(end+1, len(data)):]
			p := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: uint32(flags >> 2), Marker: flags&1 == 1}, Payload: payload}
			now = now.Add(time.Duration(flags&2) * 20 * time.Millisecond)
			a.Push(p, now)
			for {
				fr, ok := a.Pop(now)
				if !ok {
					break
				}
				if len(fr.Data) == 0 {
					t.Fatal("empty frame")
				}
			}
		}
	})
}
