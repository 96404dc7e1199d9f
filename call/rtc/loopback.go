package rtc

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Loopback (Config.Loopback): the session captures nothing and sends
// back what it receives after a delay, like the echo-test numbers of other
// phone services.
//
// It forwards the received RTP payloads (Opus, VP8) unchanged onto local
// tracks instead of decoding and re-encoding them: no codec work at all, so
// one process can echo many calls; the far end gets back exactly the
// quality it sent; and the delay is a queue, not a buffer of decoded frames.
// The price is that a VP8 stream can only be joined at a keyframe: a
// keyframe request (PLI/FIR) from the far end for our video is passed
// upstream, to the same far end, as a PLI for its video, rate-limited
// because the answer only arrives after the loopback delay.
const (
	// loopbackQueue bounds the packets waiting for their delay per track:
	// 2 s of 2 Mbps video in ~1200-byte packets. Beyond it packets are
	// dropped (the far end's NACK and PLI repair that).
	loopbackQueue = 4096
	// loopbackMinPLI is the least time between two upstream keyframe
	// requests; the effective interval is max(this, the delay).
	loopbackMinPLI = 500 * time.Millisecond
)

// loopback is a session's echo state: one local track per kind that every
// received track of that kind is forwarded to.
type loopback struct {
	delay   time.Duration
	audio   *webrtc.TrackLocalStaticRTP
	video   *webrtc.TrackLocalStaticRTP
	lastPLI atomic.Int64 // unix nanoseconds of the last upstream PLI
	dropped atomic.Uint64
}

// newLoopback returns nil when delay is not positive (a normal session).
func newLoopback(delay time.Duration) *loopback {
	if delay <= 0 {
		return nil
	}
	// The capabilities match the codecs the session registers (Opus
	// 48 kHz stereo, VP8); Bind picks the negotiated payload type.
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "loopback-audio", "loopback")
	if err != nil {
		return nil // only fails on bad options; none are passed
	}
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "loopback-video", "loopback")
	if err != nil {
		return nil
	}
	return &loopback{delay: delay, audio: audio, video: video}
}

func (l *loopback) track(kind webrtc.RTPCodecType) *webrtc.TrackLocalStaticRTP {
	if kind == webrtc.RTPCodecTypeVideo {
		return l.video
	}
	return l.audio
}

// addLoopbackSender publishes the loopback track of kind in place of the
// microphone or camera.
func (s *Session) addLoopbackSender(kind webrtc.RTPCodecType) {
	sender, err := s.pc.AddTrack(s.loop.track(kind))
	if err != nil {
		s.log.Warn("add loopback track", "kind", kind.String(), "err", err)
		return
	}
	s.mu.Lock()
	if kind == webrtc.RTPCodecTypeVideo {
		s.vSender = sender
	} else {
		s.aSender = sender
	}
	s.mu.Unlock()
	if kind == webrtc.RTPCodecTypeVideo {
		s.spawn(func() { s.loopbackKeyframes(sender) })
	} else {
		s.spawn(func() { drainRTCP(sender.Read) })
	}
}

// loopbackKeyframes reads our video sender's RTCP and turns the far end's
// keyframe requests into a PLI for the video it sends us.
func (s *Session) loopbackKeyframes(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.loopbackPLI()
			}
		}
	}
}

func (s *Session) loopbackPLI() {
	now := time.Now().UnixNano()
	last := s.loop.lastPLI.Load()
	if now-last < int64(max(loopbackMinPLI, s.loop.delay)) || !s.loop.lastPLI.CompareAndSwap(last, now) {
		return
	}
	s.mu.Lock()
	ssrc, pc := s.remote[webrtc.RTPCodecTypeVideo], s.pc
	s.mu.Unlock()
	if ssrc == 0 || pc == nil {
		return
	}
	if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		s.log.Debug("loopback PLI", "err", err)
	}
}

// onLoopbackTrack replaces onTrack in a loopback session: nothing is
// decoded or played, every packet goes back after the delay.
func (s *Session) onLoopbackTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	kind := track.Kind()
	s.mu.Lock()
	s.remote[kind] = uint32(track.SSRC())
	s.mu.Unlock()
	s.spawn(func() { drainRTCP(receiver.Read) })
	ev := EvAudioAvailable
	if kind == webrtc.RTPCodecTypeVideo {
		ev = EvVideoAvailable
	}
	s.emit(ev, Availability{UserID: s.peer, Available: true})
	q := make(chan delayedPacket, loopbackQueue)
	out := s.loop.track(kind)
	if !s.spawn(func() { s.loopbackWrite(q, out) }) {
		return
	}
	s.spawn(func() {
		defer close(q)
		for {
			pkt, _, err := track.ReadRTP()
			if err != nil {
				return
			}
			if len(pkt.Payload) == 0 {
				continue // padding-only bandwidth probes carry nothing to echo
			}
			select {
			case q <- delayedPacket{pkt: pkt, at: time.Now()}:
			default:
				if s.loop.dropped.Add(1)%100 == 1 {
					s.log.Warn("loopback queue full; dropping packets", "kind", kind.String(), "dropped", s.loop.dropped.Load())
				}
			}
		}
	})
	if kind == webrtc.RTPCodecTypeVideo {
		// Start the echoed picture on a keyframe even when the first one
		// was sent before DTLS was up.
		s.loopbackPLI()
	}
}

type delayedPacket struct {
	pkt *rtp.Packet
	at  time.Time
}

// loopbackWrite sends each packet of q once it is delay old. The header
// extensions of the far end's sender are dropped: our own interceptors add
// the ones negotiated for this direction (transport-wide sequence numbers).
func (s *Session) loopbackWrite(q <-chan delayedPacket, out *webrtc.TrackLocalStaticRTP) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var d delayedPacket
		select {
		case <-s.ctx.Done():
			return
		case p, ok := <-q:
			if !ok {
				return
			}
			d = p
		}
		if wait := time.Until(d.at.Add(s.loop.delay)); wait > 0 {
			t.Reset(wait)
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
			}
		}
		d.pkt.Header.Extension = false
		d.pkt.Header.ExtensionProfile = 0
		d.pkt.Header.Extensions = nil
		if err := out.WriteRTP(d.pkt); err != nil {
			s.log.Debug("loopback write", "err", err)
		}
	}
}
