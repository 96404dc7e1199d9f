package rtc

import (
	"image"

	"github.com/softphone/softphone/call/protocol"
)

// Peer is the remote account of the call.
func (s *Session) Peer() string { return s.peer }

// SetMicMuted mutes the outgoing audio and tells the peer.
func (s *Session) SetMicMuted(m bool) {
	s.micMutedF.Store(m)
	s.send(protocol.RelayControl, protocol.MediaControl{AudioMuted: &m})
}

// SetCameraOff sends black frames instead of the picture and tells the peer.
func (s *Session) SetCameraOff(off bool) {
	s.camOffF.Store(off)
	s.mu.Lock()
	cam := s.cam
	s.mu.Unlock()
	if cam != nil {
		cam.enabled.Store(!off)
	}
	s.send(protocol.RelayControl, protocol.MediaControl{VideoMuted: &off})
}

// SetRemoteMuted mutes or unmutes the playback of the peer.
func (s *Session) SetRemoteMuted(mute bool) { s.remoteMutedF.Store(mute) }

// CameraCycle is the list SwitchCamera goes round for base (the engine's
// media configuration, before defaults). A bad Cameras list is an error
// naming the field.
func CameraCycle(base Config) ([]string, error) {
	cfg := base.withDefaults()
	if err := CheckCameras(cfg.Cameras); err != nil {
		return nil, err
	}
	return cameraCycle(&cfg, videoInputLabels()), nil
}

// WarnSwitch reports a camera switch that could not start, as a
// MEDIA_WARNING of kind video.
func (s *Session) WarnSwitch(err error) {
	s.emit(EvMediaWarning, MediaWarning{Kind: "video", Error: err.Error(), Switching: true})
}

// SwitchCamera opens the camera after the current one in cycle and puts it
// in the current one's place; chosen is called with its entry.
func (s *Session) SwitchCamera(cycle []string, chosen func(entry string)) bool {
	s.mu.Lock()
	cam, venc, closing := s.cam, s.venc, s.closing
	s.mu.Unlock()
	if cam == nil || closing || s.camOffF.Load() {
		return false
	}
	cam.switching.Lock()
	defer cam.switching.Unlock()
	keyFrame := func() {}
	if venc != nil {
		keyFrame = venc.forceKeyFrame
	}
	for _, entry := range nextCameras(cycle, cam.current()) {
		cfg := s.cfg // same size, frame rate and beauty filter
		cfg.VideoIn = entry
		next, err := openCamera(&cfg)
		if err != nil {
			s.log.Warn("switch camera: keeping the current one", "camera", entry, "err", err)
			s.emit(EvMediaWarning, MediaWarning{Kind: "video", Error: err.Error(), Switching: true})
			continue
		}
		if !cam.replace(next, keyFrame) {
			_ = next.Close() // the call ended meanwhile
			return false
		}
		s.log.Info("switched camera", "camera", entry)
		s.mu.Lock()
		s.camIn = entry // a later addVideo (audio → video) reopens this one
		s.mu.Unlock()
		chosen(entry)
		return true
	}
	return false
}

// LocalVideoFrame returns the latest outgoing preview picture and its
// sequence number; nil, 0 when the session sends no video.
func (s *Session) LocalVideoFrame() (*image.YCbCr, uint64) {
	s.mu.Lock()
	cam := s.cam
	s.mu.Unlock()
	if cam == nil {
		return nil, 0
	}
	img, seq := s.taps.local.Get()
	if img == nil {
		return nil, 0
	}
	return img, seq
}

// AudioLevels returns the peak level (0..1) of the last ≈ 100 ms of the
// audio we send and of the audio we play.
func (s *Session) AudioLevels() (mic, speaker float64) {
	return s.taps.mic.level(), s.taps.spk.level()
}
