package rtc

import (
	"errors"
	"image"
	"os"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/media/pa"
	"github.com/softphone/softphone/media/playout"
	"github.com/softphone/softphone/media/vp8"
)

// Receive tuning.
const (
	// videoStall is how long without a video packet before we ask for a
	// keyframe (the sender may have lost our earlier PLI, or restarted).
	videoStall = time.Second
	// pliInterval rate-limits our keyframe requests.
	pliInterval = 300 * time.Millisecond
	// sampleMaxDelay drops a frame that waited this long for a missing
	// packet (NACK had its chance); the next keyframe repairs the picture.
	sampleMaxDelay = 400 * time.Millisecond
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

// receiveVideo assembles VP8 frames, decodes them and offers them to the UI
// (latest frame wins) and the recorder. A gap, a decode error or a stall asks
// the sender for a keyframe and skips frames until one arrives.
func (s *Session) receiveVideo(track *webrtc.TrackRemote) {
	dec, err := vp8.NewDecoder()
	if err != nil {
		s.log.Warn("VP8 decoder", "err", err)
		return
	}
	defer dec.Close()
	vs := &videoStats{}
	s.mu.Lock()
	s.video = vs
	s.mu.Unlock()
	s.emit(EvVideoAvailable, Availability{UserID: s.peer, Available: true})
	ssrc := uint32(track.SSRC())
	var lastPLI time.Time
	pli := func() {
		if time.Since(lastPLI) < pliInterval {
			return
		}
		lastPLI = time.Now()
		if err := s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
			s.log.Debug("send PLI", "err", err)
		}
	}
	asm := vp8.NewAssembler(sampleMaxDelay)
	needKey := true
	var spare *image.YCbCr // a picture nobody holds any more, decoded into
	for {
		_ = track.SetReadDeadline(time.Now().Add(videoStall))
		pkt, _, err := track.ReadRTP()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			pli()
			continue
		}
		if err != nil {
			break
		}
		now := time.Now()
		asm.Push(pkt, now)
		for f, ok := asm.Pop(now); ok; f, ok = asm.Pop(now) {
			if f.AfterLoss {
				needKey = true
			}
			if needKey && !f.Keyframe {
				pli()
				continue
			}
			s.mu.Lock()
			rec := s.rec
			s.mu.Unlock()
			if rec != nil {
				_ = rec.WriteVideo(f.Data, f.Timestamp)
			}
			img, err := dec.DecodeInto(f.Data, spare)
			if errors.Is(err, vp8.ErrNoFrame) {
				continue
			}
			if err != nil {
				s.log.Debug("VP8 decode", "err", err)
				needKey = true
				pli()
				continue
			}
			needKey = false
			vs.frame(img.Bounds().Dx(), img.Bounds().Dy())
			spare = nil
			if s.frames != nil {
				spare = s.frames.Put(img)
			}
		}
	}
	if s.ctx.Err() == nil {
		s.emit(EvVideoAvailable, Availability{UserID: s.peer, Available: false})
	}
}

// videoStats counts decoded remote frames for the STATS event.
type videoStats struct {
	mu     sync.Mutex
	frames uint64
	w, h   int
}

func (v *videoStats) frame(w, h int) {
	v.mu.Lock()
	v.frames++
	v.w, v.h = w, h
	v.mu.Unlock()
}

func (v *videoStats) get() (uint64, int, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.frames, v.w, v.h
}
