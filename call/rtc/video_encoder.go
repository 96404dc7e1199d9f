package rtc

import (
	"sync"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/softphone/softphone/call/rtc/bwe"
	"github.com/softphone/softphone/media/vp8"
)

const (
	// mediaShare is the share of the congestion target the media may use:
	// the rest leaves room for RTCP and the pacer's probes.
	mediaShare = 0.95
	// leanMediaShare is that share on a path narrow enough for lean audio
	// (leanAudio): a probe's 5000 bytes (bwe.probeMinBytes) on top of media
	// at 80 % of it queued speech late, and the smallest pictures need far
	// less than the rest. The estimator holds the target while the media
	// leave this much of it unused (its application-limited rule).
	leanMediaShare = 0.7
	// audioHeaderBps is Opus's RTP overhead at 50 packets/s: a 12-byte
	// header and the 8-byte transport-wide sequence extension.
	audioHeaderBps = 50 * (12 + 8) * 8
	// videoWire is video's wire rate per RTP rate: about 1100-byte packets
	// carrying bwe.WireOverhead (58 bytes) each.
	videoWire = 1.053
	// rtcpBps is the RTCP we send in the same direction (mostly the
	// transport-wide feedback for the peer's media, ten times a second):
	// measured over the bridge, the wire carried 20 % more than our RTP.
	rtcpBps = 12_000
)

// encoderHook wraps media/vp8's encoder builder to keep a handle on the
// encoder mediadevices builds at Bind, for bitrate and keyframe control
// without racing mediadevices' own (unsynchronised) controller field.
type encoderHook struct {
	params vp8.Params
	mu     sync.Mutex
	ctl    codec.EncoderController
	closed bool
}

func (h *encoderHook) RTPCodec() *codec.RTPCodec { return h.params.RTPCodec() }

func (h *encoderHook) BuildVideoEncoder(r video.Reader, p prop.Media) (codec.ReadCloser, error) {
	rc, err := h.params.BuildVideoEncoder(r, p)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.ctl = rc.Controller()
	h.mu.Unlock()
	return rc, nil
}

func (h *encoderHook) setBitRate(bps int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if b, ok := h.ctl.(codec.BitRateController); ok && !h.closed {
		_ = b.SetBitRate(bps)
	}
}

// forceKeyFrame asks for a keyframe for the session's own reasons (the
// transport came up, the camera changed): past the encoder's throttle,
// which is for a receiver's bursts of requests.
func (h *encoderHook) forceKeyFrame() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if e, ok := h.ctl.(*vp8.Encoder); ok {
		e.KeyFrameNow()
	} else if k, ok := h.ctl.(codec.KeyFrameController); ok {
		_ = k.ForceKeyFrame()
	}
}

// stats returns the encoder's figures once it exists.
func (h *encoderHook) stats() (vp8.Stats, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e, ok := h.ctl.(*vp8.Encoder); ok && !h.closed {
		return e.Stats(), true
	}
	return vp8.Stats{}, false
}

func (h *encoderHook) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
}

// videoShare is what the video encoder may use of a congestion target (on
// the wire): audio goes first, then retransmissions (both at their recent
// RTP rates, audio with its packets' wire overhead), and video's own
// packets carry about 3.5 % of overhead; the configured maximum caps it.
// The configured minimum is no floor here: the estimate wins (the
// estimator itself keeps the minimum while the network carries it).
// Below vp8.SuspendKbps the encoder pauses.
func videoShare(targetBps, audioBps, rtxBps, maxBps int, share float64) int {
	const audioWire = 50 * bwe.WireOverhead * 8 // 50 packets/s
	v := int((float64(targetBps)*share - float64(audioBps+audioWire+rtxBps+rtcpBps)) / videoWire)
	return min(max(v, 1000), maxBps)
}

// applyTarget hands the congestion controller's current target, less what
// audio and retransmissions take, to the video encoder, whose ladder picks
// the picture size and frame rate for it. The estimator calls back on the
// goroutine that read the feedback; statsLoop re-applies it every interval
// as the audio and retransmission rates move. It also picks RED or lean
// audio for the target (leanAudio).
func (s *Session) applyTarget() {
	s.mu.Lock()
	est, venc, closing, red, video := s.est, s.venc, s.closing, s.red, s.vSender != nil
	audio, rtx := s.sendRates.audio, s.sendRates.rtx
	s.mu.Unlock()
	if closing || est == nil || venc == nil {
		return
	}
	target := est.GetTargetBitrate()
	if red != nil {
		red.setLean(leanAudio(video, target, red.lean.Load()))
	}
	audio = max(audio, audioReserve(s.cfg.audioBitrate(), red))
	share := mediaShare
	if red != nil && red.lean.Load() {
		share = leanMediaShare
	}
	venc.setBitRate(videoShare(target, audio, rtx, s.cfg.MaxBitrate*1000, share))
}

// audioReserve is the audio rate video leaves room for even while audio
// sends less: speech after a pause comes back at the full bitrate, and with
// RED every packet also carries the previous distance frames. Without it a
// call's first words after silence landed on a link video had filled, and
// queued behind it.
func audioReserve(bitrate int, red *redControl) int {
	switch {
	case red == nil:
		return bitrate + audioHeaderBps
	case red.redOn():
		return bitrate*(1+int(red.distance.Load())) + audioHeaderBps
	default: // in-band FEC instead, with its extra bitrate
		return int(float64(bitrate)*fecBitrateFactor) + audioHeaderBps
	}
}
