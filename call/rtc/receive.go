package rtc

import (
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/media/pa"
	"github.com/softphone/softphone/media/playout"
)

// speak is the audio output's pull: mix, apply the per-user playback mute,
// record what is played.
func (s *Session) speak(out []int16) {
	s.player.Pull(out)
	if !s.audioPlaying.Load() {
		if st, ok := s.player.Stats(); ok && st.Playing && s.audioPlaying.CompareAndSwap(false, true) {
			s.emit(EvAudioPlaying, Availability{UserID: s.peer, Available: true})
		}
	}
	if s.remoteMutedF.Load() {
		clear(out)
	}
	s.taps.observeSpeaker(out)
	s.mu.Lock()
	rec := s.rec
	s.mu.Unlock()
	if rec != nil {
		_ = rec.WriteRemote(out, time.Now())
	}
}

// openPlayback starts the audio output: a PortAudio callback stream pulling
// from the playout buffers, or with "none" (or no device) a goroutine paced
// by the clock, so recording and stats work the same.
func (s *Session) openPlayback() {
	if s.cfg.AudioOut != SourceNone {
		err := func() error {
			sys, err := s.paSystem()
			if err != nil {
				return err
			}
			dev, err := sys.FindOutput(s.cfg.AudioOut)
			if err != nil {
				return err
			}
			pb, err := sys.OpenPlayback(dev, pa.PlaybackConfig{Pull: s.speak})
			if err != nil {
				return err
			}
			s.mu.Lock()
			s.playback = pb
			s.mu.Unlock()
			return nil
		}()
		if err == nil {
			return
		}
		s.log.Warn("no audio output; the call continues without playback", "device", s.cfg.AudioOut, "err", err)
		s.emit(EvMediaWarning, MediaWarning{Kind: "audioOut", Error: err.Error()})
	}
	s.spawn(s.pacedSpeaker)
}

// pacedSpeaker is the output without a device: the playout clock pulls
// 20 ms every 20 ms, phased on the remote audio's arrival.
func (s *Session) pacedSpeaker() {
	playout.RunClock(s.ctx, 20*time.Millisecond, pa.FrameSamples, s.audioArrived, s.speak)
}

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
		s.spawn(func() { s.receiveAudio(track) })
	case webrtc.RTPCodecTypeVideo:
		s.spawn(func() { s.receiveVideo(track) })
	}
}

func (s *Session) receiveAudio(track *webrtc.TrackRemote) {
	buf, err := playout.New(playout.Config{FastStart: true})
	if err != nil {
		s.log.Warn("audio playout buffer", "err", err)
		return
	}
	s.player.Add(buf)
	s.emit(EvAudioAvailable, Availability{UserID: s.peer, Available: true})
	first := true
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			break
		}
		buf.Push(pkt.SequenceNumber, pkt.Timestamp, time.Now(), pkt.Payload)
		if first {
			first = false
			select {
			case s.audioArrived <- struct{}{}:
			default:
			}
		}
	}
	s.player.Remove(buf)
	_ = buf.Close()
	if s.ctx.Err() == nil {
		s.emit(EvAudioAvailable, Availability{UserID: s.peer, Available: false})
	}
}
