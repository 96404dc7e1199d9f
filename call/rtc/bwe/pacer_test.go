package bwe

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

const twccID = 5

// wire records what the pacer writes, in order.
type wire struct {
	mu   sync.Mutex
	pkts []rtp.Header
	n    chan struct{}
}

func newWire() *wire { return &wire{n: make(chan struct{}, 4096)} }

func (w *wire) Write(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
	w.mu.Lock()
	w.pkts = append(w.pkts, h.Clone())
	w.mu.Unlock()
	w.n <- struct{}{}
	return len(payload), nil
}

func (w *wire) snapshot() []rtp.Header {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]rtp.Header(nil), w.pkts...)
}

// waitFor waits until n packets were written (generously: no timing is
// asserted, a slow machine only waits longer).
func (w *wire) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for len(w.snapshot()) < n {
		select {
		case <-w.n:
		case <-deadline:
			t.Fatalf("%d packets written, want %d", len(w.snapshot()), n)
		}
	}
}

func twccSeq(t *testing.T, h rtp.Header) uint16 {
	t.Helper()
	b := h.GetExtension(twccID)
	if len(b) != 2 {
		t.Fatalf("ssrc %d seq %d: no transport-wide sequence number", h.SSRC, h.SequenceNumber)
	}
	return binary.BigEndian.Uint16(b)
}

// pair returns an estimator at a fixed target with an audio stream (SSRC
// 1) and a video stream (SSRC 2, RTX 3) writing to one wire.
func pair(t *testing.T, bps int) (*Estimator, *wire, func(uint32, rtp.Header, int) error) {
	t.Helper()
	e := New(Config{MinBps: bps, MaxBps: bps})
	t.Cleanup(func() { _ = e.Close() })
	w := newWire()
	exts := []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: twccID}}
	writers := map[uint32]interceptor.RTPWriter{
		1: e.AddStream(&interceptor.StreamInfo{SSRC: 1, MimeType: "audio/opus", RTPHeaderExtensions: exts}, w),
		2: e.AddStream(&interceptor.StreamInfo{SSRC: 2, SSRCRetransmission: 3, PayloadTypeRetransmission: 97, MimeType: "video/VP8", RTPHeaderExtensions: exts}, w),
	}
	write := func(stream uint32, h rtp.Header, size int) error {
		_, err := writers[stream].Write(&h, make([]byte, size), nil)
		return err
	}
	return e, w, write
}

func TestAudioNeverWaitsBehindVideo(t *testing.T) {
	e, w, write := pair(t, 300_000)
	for i := range 50 {
		if err := write(2, rtp.Header{SSRC: 2, SequenceNumber: uint16(i), PayloadType: 96}, 1200); err != nil {
			t.Fatal(err)
		}
	}
	if e.Pacer().Backlog() == 0 {
		t.Fatal("60 KB of video at 300 kbps did not queue")
	}
	before := len(w.snapshot())
	if err := write(1, rtp.Header{SSRC: 1, SequenceNumber: 7, PayloadType: 111}, 100); err != nil {
		t.Fatal(err)
	}
	got := w.snapshot()
	if len(got) != before+1 || got[len(got)-1].SSRC != 1 {
		t.Fatalf("audio was not sent at once: %d packets before, %d after", before, len(got))
	}
	if e.Pacer().Backlog() == 0 {
		t.Fatal("the video queue emptied: the test proves nothing")
	}
	// Everything leaves eventually, and the transport-wide numbers follow
	// the send order without gaps.
	w.waitFor(t, 51)
	got = w.snapshot()
	for i := 1; i < len(got); i++ {
		if twccSeq(t, got[i]) != twccSeq(t, got[i-1])+1 {
			t.Fatalf("packet %d: transport-wide sequence %d after %d", i, twccSeq(t, got[i]), twccSeq(t, got[i-1]))
		}
	}
}

func TestRetransmissionsAreNumberedAndBudgeted(t *testing.T) {
	e, w, write := pair(t, 100_000)
	// The same retransmission twice (pion's responder numbers it once,
	// when it stores the original): distinct, consecutive RTX numbers.
	for range 2 {
		if err := write(2, rtp.Header{SSRC: 3, SequenceNumber: 999, PayloadType: 97}, 500); err != nil {
			t.Fatal(err)
		}
	}
	w.waitFor(t, 2)
	got := w.snapshot()
	if got[0].SSRC != 3 || got[1].SequenceNumber != got[0].SequenceNumber+1 {
		t.Fatalf("RTX sequence numbers %d, %d on SSRC %d", got[0].SequenceNumber, got[1].SequenceNumber, got[0].SSRC)
	}
	// A storm of retransmissions: at 100 kbps the budget is 35 % of a
	// second's worth, about 4.4 KB; the rest is dropped.
	for i := range 40 {
		if err := write(2, rtp.Header{SSRC: 3, SequenceNumber: uint16(i), PayloadType: 97}, 1000); err != nil {
			t.Fatal(err)
		}
	}
	st := e.Pacer().Stats()
	if st.RTXDropped < 30 || st.RTXDropped > 38 {
		t.Fatalf("%d of 40 retransmissions dropped, want all but the budget's 4 or so", st.RTXDropped)
	}
}

func TestProbePadding(t *testing.T) {
	e, w, _ := pair(t, 100_000)
	e.Pacer().probe(plan{id: 7, bps: 400_000, duration: 40 * time.Millisecond})
	w.waitFor(t, probePackets)
	e.Pacer().probes.Wait()
	got := w.snapshot()
	for _, h := range got {
		if h.SSRC != 3 || !h.Padding || h.PaddingSize < minPadding || h.PayloadType != 97 {
			t.Fatalf("probe packet %+v: want RTX padding", h)
		}
	}
	seq := e.hist.unwrap(twccSeq(t, got[0]))
	p, ok := e.hist.get(seq)
	if !ok || p.probe != 7 || !p.padding {
		t.Fatalf("history of the first padding packet: %+v %v", p, ok)
	}
}

// A probe's padding is paid from the pacer's bucket: the video written
// after it waits until the bytes are made up, so the link carries the probe
// in place of the media rather than on top of it.
func TestProbeHoldsVideoBack(t *testing.T) {
	e, w, write := pair(t, 100_000)
	// 100 KB at 2 Mbps: at 1.5 × 100 kbps the bucket takes 4 s to make that
	// up, far longer than a slow machine needs to send the probe.
	e.Pacer().probe(plan{id: 1, bps: 2_000_000, duration: 400 * time.Millisecond})
	e.Pacer().probes.Wait()
	sent := len(w.snapshot())
	if err := write(2, rtp.Header{SSRC: 2, SequenceNumber: 1, PayloadType: 96}, 1000); err != nil {
		t.Fatal(err)
	}
	if e.Pacer().Backlog() == 0 || len(w.snapshot()) != sent {
		t.Fatalf("video after a probe left at once (backlog %v)", e.Pacer().Backlog())
	}
	if err := write(1, rtp.Header{SSRC: 1, SequenceNumber: 1, PayloadType: 111}, 100); err != nil {
		t.Fatal(err)
	}
	if got := w.snapshot(); len(got) != sent+1 || got[len(got)-1].SSRC != 1 {
		t.Fatal("audio waited behind a probe")
	}
}

// FuzzFeedback feeds arbitrary RTCP to an estimator that has sent
// packets: malformed or hostile feedback must not panic or wedge it.
func FuzzFeedback(f *testing.F) {
	good := &rtcp.TransportLayerCC{
		Header:             rtcp.Header{Padding: true, Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback},
		BaseSequenceNumber: 0, PacketStatusCount: 3, ReferenceTime: 5,
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 3}},
		RecvDeltas:   []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 2000}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}},
	}
	if b, err := good.Marshal(); err == nil {
		f.Add(b)
	}
	f.Add([]byte{0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x20, 0x01, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		e := New(Config{MinBps: 300_000, MaxBps: 1_000_000})
		defer e.Close()
		e.startProbe = func(plan) {}
		now := time.Unix(100, 0)
		e.now = func() time.Time { return now }
		for i := range 64 {
			e.sent(now.Add(time.Duration(i)*time.Millisecond), 1000, 0, false)
		}
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			return
		}
		for range 3 {
			now = now.Add(100 * time.Millisecond)
			_ = e.WriteRTCP(pkts, nil)
		}
		if got := e.GetTargetBitrate(); got < defaultFloor || got > 1_000_000 {
			t.Fatalf("target %d out of bounds", got)
		}
	})
}
