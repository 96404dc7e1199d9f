package rtc

import (
	"sync"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/softphone/softphone/media/vp8"
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

func (h *encoderHook) forceKeyFrame() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if k, ok := h.ctl.(codec.KeyFrameController); ok && !h.closed {
		_ = k.ForceKeyFrame()
	}
}

func (h *encoderHook) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
}

// applyTarget hands the congestion controller's current target to the video
// encoder and the resolution/frame-rate ladder. gcc calls back on unordered
// goroutines, so the current value is read rather than the one passed.
func (s *Session) applyTarget() {
	s.mu.Lock()
	est, venc, cam, closing := s.est, s.venc, s.cam, s.closing
	s.mu.Unlock()
	if closing || est == nil || venc == nil {
		return
	}
	v := int(float64(est.GetTargetBitrate())*transportOverheadF) - s.cfg.audioBitrate()
	v = min(max(v, s.cfg.MinBitrate*1000), s.cfg.MaxBitrate*1000)
	venc.setBitRate(v)
	if cam != nil {
		cam.adapt(v, s.cfg.VideoWidth, s.cfg.VideoHeight)
	}
}
