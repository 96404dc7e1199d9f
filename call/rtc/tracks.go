package rtc

import (
	"errors"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/webrtc/v4"
)

// addAudio publishes the microphone, or receives only when there is none.
func (s *Session) addAudio() {
	if s.loop != nil {
		s.addLoopbackSender(webrtc.RTPCodecTypeAudio)
		return
	}
	mic, err := openMicrophone(&s.cfg, s.paSystem)
	if err != nil {
		if !errors.Is(err, errNoSource) {
			s.log.Warn("no microphone; the call continues without sending audio", "err", err)
			s.emit(EvMediaWarning, MediaWarning{Kind: "audio", Error: err.Error()})
		}
		if _, err := s.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			s.log.Warn("audio transceiver", "err", err)
		}
		return
	}
	mic.muted = &s.micMutedF
	mic.taps = s.taps
	s.mu.Lock()
	if rec := s.rec; rec != nil {
		mic.tap = func(pcm []int16, at time.Time) { _ = rec.WriteLocal(pcm, at) }
	}
	s.mu.Unlock()
	track := mediadevices.NewAudioTrack(mic, s.sel)
	bind := newAsyncBindTrack(track, webrtc.MimeTypeOpus, &s.connected, s.log)
	sender, err := s.pc.AddTrack(bind)
	if err != nil {
		s.log.Warn("add audio track", "err", err)
		_ = track.Close()
		return
	}
	s.mu.Lock()
	s.mic, s.aTrack, s.aSender, s.aBind = mic, track, sender, bind
	s.mu.Unlock()
	// Opus has no keyframe controller, so mediadevices never reads this
	// sender's RTCP; unread, it would stall the interceptors' reports.
	s.spawn(func() { drainRTCP(sender.Read) })
}

// addVideo publishes the camera (or receives only) for a video call.
func (s *Session) addVideo() {
	s.mu.Lock()
	have := s.vSender != nil
	s.mu.Unlock()
	if have {
		return
	}
	if s.loop != nil {
		s.addLoopbackSender(webrtc.RTPCodecTypeVideo)
		return
	}
	cfg := s.cfg
	s.mu.Lock()
	if s.camIn != "" {
		cfg.VideoIn = s.camIn
	}
	s.mu.Unlock()
	cam, err := openCamera(&cfg)
	if err != nil {
		if !errors.Is(err, errNoSource) {
			s.log.Warn("no camera; the call continues without sending video", "err", err)
			s.emit(EvMediaWarning, MediaWarning{Kind: "video", Error: err.Error()})
		}
		s.ensureVideoRecv()
		return
	}
	if s.camOffF.Load() {
		cam.enabled.Store(false)
	}
	cam.taps = s.taps
	track := mediadevices.NewVideoTrack(cam, s.sel)
	bind := newAsyncBindTrack(track, s.venc.RTPCodec().MimeType, &s.connected, s.log)
	sender, err := s.pc.AddTrack(bind)
	if err != nil {
		s.log.Warn("add video track", "err", err)
		_ = track.Close()
		return
	}
	s.mu.Lock()
	s.cam, s.vTrack, s.vSender, s.vBind = cam, track, sender, bind
	s.mu.Unlock()
	// No RTCP drain here: mediadevices reads this sender's RTCP for PLI/FIR.
}

// ensureVideoRecv makes sure an offer carries a video section even when we
// have no camera.
func (s *Session) ensureVideoRecv() {
	for _, t := range s.pc.GetTransceivers() {
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			return
		}
	}
	if _, err := s.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		s.log.Warn("video transceiver", "err", err)
	}
}

// removeVideo stops sending video (video → audio call).
func (s *Session) removeVideo() {
	s.mu.Lock()
	sender, track, cam := s.vSender, s.vTrack, s.cam
	s.vSender, s.vTrack, s.cam, s.vBind = nil, nil, nil, nil
	s.mu.Unlock()
	if sender != nil {
		if err := s.pc.RemoveTrack(sender); err != nil {
			s.log.Warn("remove video track", "err", err)
		}
	}
	if track != nil {
		_ = track.Close()
	}
	_ = cam
}
