package rtc

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// maxHeldBytes bounds what a sender keeps for its replay: a 720p keyframe
// fits, a runaway source does not grow memory.
const maxHeldBytes = 512 << 10

// maxAudioReplayAge is the oldest audio packet worth replaying: half a
// 20 ms frame. An older one saves the peer less than 10 ms of waiting for
// the next capture, and its lateness against the packets that follow
// would stand in the peer's playout buffer as excess delay, to be
// accelerated away in the call's first words.
const maxAudioReplayAge = 10 * time.Millisecond

// replayWriter sits between a bound track and pion's writer. Until the
// session's transport is up (connected false), pion drops what a sender
// writes, so the first audio would wait for the next 20 ms capture and the
// first picture for the next camera frame plus a keyframe. replayWriter
// keeps copies of the newest audio packet, or of the newest keyframe's
// packets for video, and the session writes them once DTLS is connected:
// the peer hears and sees the call a capture interval earlier.
type replayWriter struct {
	webrtc.TrackLocalWriter
	video     bool
	connected *atomic.Bool
	now       func() time.Time

	mu      sync.Mutex
	held    []heldPacket
	bytes   int
	flushed bool
}

type heldPacket struct {
	at      time.Time // when it was written
	header  rtp.Header
	payload []byte
}

func newReplayWriter(w webrtc.TrackLocalWriter, video bool, connected *atomic.Bool) *replayWriter {
	return &replayWriter{TrackLocalWriter: w, video: video, connected: connected, now: time.Now}
}

// WriteRTP passes the packet on and, before the transport is up, keeps it.
//
// It never returns an error: mediadevices ends a track's send loop on a
// write error, and pion stops a sender (its writes then fail) right before
// it unbinds the track; an Unbind racing with the loop's own end waits
// forever for it (mediadevices v0.9.4 baseTrack.unbind), which hung
// Engine.Close. The loop ends through Unbind instead; the transport's
// failures show in the connection state.
func (w *replayWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.flushed && !w.connected.Load() {
		w.hold(h, payload)
	}
	n, _ := w.TrackLocalWriter.WriteRTP(h, payload)
	return n, nil
}

// hold keeps the packet if it belongs to what would be replayed. w.mu held.
func (w *replayWriter) hold(h *rtp.Header, payload []byte) {
	switch {
	case !w.video:
		w.held = w.held[:0]
	case vp8KeyframeStart(payload):
		w.held, w.bytes = w.held[:0], 0
	case len(w.held) == 0 || w.held[0].header.Timestamp != h.Timestamp:
		return // a delta frame, or no keyframe started yet
	}
	if w.bytes+len(payload) > maxHeldBytes {
		w.held, w.bytes = w.held[:0], 0
		return
	}
	w.held = append(w.held, heldPacket{at: w.now(), header: h.Clone(), payload: append([]byte(nil), payload...)})
	w.bytes += len(payload)
}

// replay writes the kept packets once, after the transport came up, and
// returns how many it wrote. An audio packet older than maxAudioReplayAge
// is dropped instead.
func (w *replayWriter) replay() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.flushed {
		return 0
	}
	w.flushed = true
	if !w.video && len(w.held) > 0 && w.now().Sub(w.held[0].at) > maxAudioReplayAge {
		w.held, w.bytes = nil, 0
		return 0
	}
	n := 0
	for i := range w.held {
		if _, err := w.TrackLocalWriter.WriteRTP(&w.held[i].header, w.held[i].payload); err != nil {
			break
		}
		n++
	}
	w.held, w.bytes = nil, 0
	return n
}

// vp8KeyframeStart reports whether an RTP payload begins a VP8 keyframe
// (RFC 7741: start of partition 0, and the frame header's P bit clear).
func vp8KeyframeStart(payload []byte) bool {
	var p codecs.VP8Packet
	if _, err := p.Unmarshal(payload); err != nil {
		return false
	}
	return p.S == 1 && p.PID == 0 && len(p.Payload) > 0 && p.Payload[0]&1 == 0
}
