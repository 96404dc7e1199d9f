package rtc

import (
	"strings"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/media/pa"
	"github.com/softphone/softphone/media/playout"
	"github.com/softphone/softphone/media/red"
)

// Receive side of the audio: RED or plain Opus into the playout buffer,
// the buffer pulled by the device (or the clock without one), and a report
// of what was played back to the sender every second.
const (
	// clockPull is what the device-less clock pulls at a time: the playout
	// buffer can only decode at a pull, so a finer pull lets it hold the
	// delay closer to its target (half the pull is lost on average).
	clockPull = 10 * time.Millisecond
	// xrInterval is the period of our RTCP XR VoIP metrics reports.
	xrInterval = time.Second
	// codecDelayMs is Opus' part of the mouth-to-ear delay: a 20 ms frame
	// and 6.5 ms of look-ahead.
	codecDelayMs = 26.5
	audioFrameMs = 20.0
)

// speak is the audio output's pull: mix, apply the per-user playback mute,
// record what is played (due is when the output plays it).
func (s *Session) speak(out []int16, due time.Time) {
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
		_ = rec.WriteRemote(out, due)
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
			pb, err := sys.OpenPlayback(dev, pa.PlaybackConfig{Pull: func(out []int16) { s.speak(out, time.Now()) }})
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
// clockPull at a time, phased on the remote audio's arrival.
func (s *Session) pacedSpeaker() {
	n := pa.FrameSamples * int(clockPull) / int(20*time.Millisecond)
	playout.RunClock(s.ctx, clockPull, n, s.audioArrived, s.speak)
}

// receiveAudio feeds a remote audio track into a playout buffer until the
// track ends: RED packets split into their copies and primary, plain Opus
// as it comes.
func (s *Session) receiveAudio(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	buf, err := playout.New(playout.Config{FastStart: true})
	if err != nil {
		s.log.Warn("audio playout buffer", "err", err)
		return
	}
	var redPT webrtc.PayloadType
	isRED := false
	for _, c := range receiver.GetParameters().Codecs {
		if strings.EqualFold(c.MimeType, mimeRED) {
			redPT, isRED = c.PayloadType, true
		}
	}
	s.player.Add(buf)
	s.emit(EvAudioAvailable, Availability{UserID: s.peer, Available: true})
	done := make(chan struct{})
	s.spawn(func() { s.reportAudio(uint32(track.SSRC()), buf, done) })
	first := true
	var blocks []red.Block
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			break
		}
		now := time.Now()
		if isRED && webrtc.PayloadType(pkt.PayloadType) == redPT {
			var err error
			if blocks, err = red.Split(blocks[:0], pkt.Payload); err != nil {
				continue // a malformed packet is a lost one
			}
			buf.PushRED(pkt.SequenceNumber, pkt.Timestamp, now, blocks)
		} else {
			buf.Push(pkt.SequenceNumber, pkt.Timestamp, now, pkt.Payload)
		}
		if first {
			first = false
			select {
			case s.audioArrived <- struct{}{}:
			default:
			}
		}
	}
	close(done)
	s.player.Remove(buf)
	_ = buf.Close()
	if s.ctx.Err() == nil {
		s.emit(EvAudioAvailable, Availability{UserID: s.peer, Available: false})
	}
}

// reportAudio sends the peer an RTCP XR VoIP metrics block (RFC 3611 §4.7)
// for its audio every xrInterval: the loss it sees before repair and the
// mean length of loss runs (Gmin 1: a burst is a run of consecutive lost
// packets), which set its redundancy (audio_send.go), plus our playout
// delay and MOS for its logs.
func (s *Session) reportAudio(remote uint32, buf *playout.Buffer, done <-chan struct{}) {
	t := time.NewTicker(xrInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-done:
			return
		case <-t.C:
		}
		st := buf.Stats()
		if !st.Playing {
			continue
		}
		s.mu.Lock()
		pc, sender, last := s.pc, s.aSender, s.stats.last
		s.mu.Unlock()
		self := remote
		if sender != nil {
			if p := sender.GetParameters(); len(p.Encodings) > 0 {
				self = uint32(p.Encodings[0].SSRC)
			}
		}
		b := &rtcp.VoIPMetricsReportBlock{
			SSRC:           remote,
			LossRate:       uint8(min(st.MissingRate*256, 255)),
			BurstDuration:  uint16(min(st.MeanBurst*audioFrameMs, 65535)),
			Gmin:           1,
			EndSystemDelay: uint16(min(st.DelayMs+codecDelayMs, 65535)),
			SignalLevel:    127, // unavailable
			NoiseLevel:     127,
			RERL:           127,
			RXConfig:       0xf0, // enhanced PLC, adaptive jitter buffer
			JBNominal:      uint16(st.TargetDelayMs),
			JBMaximum:      uint16(st.DelayMs),
			JBAbsMax:       500,
		}
		if st.MissingRate > 0 {
			b.BurstDensity = 255
		}
		b.RFactor, b.ExtRFactor, b.MOSLQ, b.MOSCQ = 127, 127, 127, 127 // unavailable
		if last.Mos > 0 {
			b.MOSLQ = uint8(min(last.Mos*10, 50))
		}
		if pc == nil {
			continue
		}
		if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.ExtendedReport{SenderSSRC: self, Reports: []rtcp.ReportBlock{b}}}); err != nil {
			s.log.Debug("send XR", "err", err)
		}
	}
}
