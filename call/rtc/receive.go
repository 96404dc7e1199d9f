package rtc

import (
	"github.com/pion/webrtc/v4"
)

// onTrack runs for each remote track.
func (s *Session) onTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	s.mu.Lock()
	s.remote[track.Kind()] = uint32(track.SSRC())
	if track.Kind() == webrtc.RTPCodecTypeVideo {
		s.remoteRTX = track
	}
	s.mu.Unlock()
	s.spawn(func() { drainRTCP(receiver.Read) })
	switch track.Kind() {
	case webrtc.RTPCodecTypeAudio:
		s.spawn(func() { s.receiveAudio(track, receiver) })
	case webrtc.RTPCodecTypeVideo:
		s.spawn(func() { s.receiveVideo(track) })
	}
}
