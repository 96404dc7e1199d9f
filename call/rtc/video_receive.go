package rtc

import (
	"errors"
	"image"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/media/quality"
	"github.com/softphone/softphone/media/vp8"
)

// Video receive tuning (media-quality-notes §10).
const (
	// videoStall is how long without a video packet before we ask for a
	// keyframe (the sender may have lost our earlier PLI, or restarted),
	// unless the sender said its video is suspended.
	videoStall = time.Second
	// keyRetry spaces our keyframe requests while one is needed: a little
	// under the sender's 300 ms throttle, so a lost request costs one
	// interval, not two.
	keyRetry = 250 * time.Millisecond
	// frozenAfter: no decodable frame for this long while packets arrive
	// is a frozen picture, repaired with a keyframe.
	frozenAfter = 300 * time.Millisecond
	// sampleMaxDelay drops a frame that waited this long for a missing
	// packet (NACK had its chance); the next keyframe repairs the picture.
	sampleMaxDelay = 400 * time.Millisecond
	// defaultRTT until the estimator has measured one.
	defaultRTT = 100 * time.Millisecond
	// maxReadErrors in a row end the receive loop (the track is broken).
	maxReadErrors = 1000
)

// videoStats are the receive side's video figures for the STATS event;
// the receive loop writes them, sample reads them.
type videoStats struct {
	mu        sync.Mutex
	frames    uint64
	w, h      int
	nacks     uint64 // NACK messages we sent
	plis      uint64 // keyframe requests we sent
	freeze    quality.FreezeMeter
	suspended bool // the peer said it paused its video
}

func (v *videoStats) frame(w, h int, at time.Time) {
	v.mu.Lock()
	v.frames++
	v.w, v.h = w, h
	v.freeze.Frame(at)
	v.mu.Unlock()
}

// setSuspended records the peer's video pausing (no freeze) or resuming.
func (v *videoStats) setSuspended(on bool, at time.Time) {
	v.mu.Lock()
	v.suspended = on
	if on {
		v.freeze.Pause(at)
	}
	v.mu.Unlock()
}

func (v *videoStats) isSuspended() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.suspended
}

// recvVideoSample is one STATS interval of the receive side.
type recvVideoSample struct {
	frames         uint64
	w, h           int
	nacks, plis    uint64
	frozenFor      time.Duration
	freezes        int
	frozen, paused bool
	totalFrozen    time.Duration
}

func (v *videoStats) sample(now time.Time) recvVideoSample {
	v.mu.Lock()
	defer v.mu.Unlock()
	f, n := v.freeze.Take(now)
	return recvVideoSample{
		frames: v.frames, w: v.w, h: v.h, nacks: v.nacks, plis: v.plis,
		frozenFor: f, freezes: n, frozen: v.freeze.Frozen(now), paused: v.suspended,
		totalFrozen: v.freeze.Total(),
	}
}

// rtt is the round trip the NACK timing uses: the estimator's.
func (s *Session) rtt() time.Duration {
	s.mu.Lock()
	est := s.est
	s.mu.Unlock()
	if est == nil {
		return defaultRTT
	}
	if r := est.Stats().RTT; r > 0 {
		return r
	}
	return defaultRTT
}

// videoReceiver is one remote video track's receive state: the NACK list,
// the assembler, the decoder and when to ask for a keyframe.
type videoReceiver struct {
	s       *Session
	track   *webrtc.TrackRemote
	ssrc    uint32
	stats   *videoStats
	nack    *nackList
	asm     *vp8.Assembler
	dec     *vp8.Decoder
	spare   *image.YCbCr // a picture nobody holds any more, decoded into
	needKey bool
	lastKey time.Time // our last keyframe request
	// lastDecoded / lastPacket: the last decoded frame and the last
	// packet, for the frozen-picture check.
	lastDecoded, lastPacket time.Time
}

// receiveVideo assembles VP8 frames, decodes them and offers them to the UI
// (latest frame wins) and the recorder. Missing packets are asked for
// (NACK); a frame that cannot be decoded, a picture frozen while packets
// arrive, or a stall asks the sender for a keyframe.
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
	now := time.Now()
	r := &videoReceiver{s: s, track: track, ssrc: uint32(track.SSRC()), stats: vs,
		nack: newNackList(sampleMaxDelay), asm: vp8.NewAssembler(sampleMaxDelay), dec: dec, needKey: true,
		lastDecoded: now, lastPacket: now}
	bad := 0 // consecutive read errors
	for {
		now := time.Now()
		_ = track.SetReadDeadline(r.wakeAt(now))
		pkt, attrs, err := track.ReadRTP()
		now = time.Now()
		if isTimeout(err) {
			r.tick(now)
			continue
		}
		if err != nil {
			// A packet pion cannot parse (or one with a payload type the
			// track does not know) is dropped, not the end of the video:
			// ending here froze the picture for the rest of a lossy call.
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || s.ctx.Err() != nil || bad >= maxReadErrors {
				if bad >= maxReadErrors {
					s.log.Warn("video receive: giving up after read errors", "err", err)
				}
				break
			}
			bad++
			s.log.Debug("video receive: packet dropped", "err", err)
			continue
		}
		bad = 0
		r.packet(pkt, attrs, now)
		r.tick(now)
	}
	if s.ctx.Err() == nil {
		s.emit(EvVideoAvailable, Availability{UserID: s.peer, Available: false})
	}
}

// wakeAt is when the loop must look again without a packet: the next NACK,
// keyframe retry or frozen-picture check, at the latest after videoStall.
func (r *videoReceiver) wakeAt(now time.Time) time.Time {
	t := now.Add(videoStall)
	if n := r.nack.next(r.s.rtt()); !n.IsZero() && n.Before(t) {
		t = n
	}
	if r.needKey {
		if k := r.lastKey.Add(keyRetry); k.Before(t) {
			t = k
		}
	}
	if f := r.lastDecoded.Add(frozenAfter); f.After(now) && f.Before(t) {
		t = f
	}
	return t
}

func (r *videoReceiver) packet(pkt *rtp.Packet, attrs interceptor.Attributes, now time.Time) {
	r.lastPacket = now
	rtx := attrs != nil && attrs.Get(webrtc.AttributeRtxSsrc) != nil
	if r.nack.received(pkt.SequenceNumber, now, rtx) {
		r.needKey = true // a gap too large to repair packet by packet
	}
	r.asm.Push(pkt, now)
	for f, ok := r.asm.Pop(now); ok; f, ok = r.asm.Pop(now) {
		if f.AfterLoss {
			r.needKey = true
		}
		if r.needKey && !f.Keyframe {
			continue
		}
		r.s.mu.Lock()
		rec := r.s.rec
		r.s.mu.Unlock()
		if rec != nil {
			_ = rec.WriteVideo(f.Data, f.Timestamp)
		}
		img, err := r.dec.DecodeInto(f.Data, r.spare)
		if errors.Is(err, vp8.ErrNoFrame) {
			continue
		}
		if err != nil {
			r.s.log.Debug("VP8 decode", "err", err)
			r.needKey = true
			continue
		}
		r.needKey = false
		r.lastDecoded = now
		r.stats.frame(img.Bounds().Dx(), img.Bounds().Dy(), now)
		r.spare = nil
		if r.s.frames != nil {
			r.spare = r.s.frames.Put(img)
		}
	}
}

// tick sends what is due: NACKs, and a keyframe request when one is needed,
// the picture froze while packets keep coming, or the stream stalled.
func (r *videoReceiver) tick(now time.Time) {
	if seqs := r.nack.due(now, r.s.rtt()); len(seqs) > 0 {
		r.send(&rtcp.TransportLayerNack{MediaSSRC: r.ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)})
		r.stats.mu.Lock()
		r.stats.nacks++
		r.stats.mu.Unlock()
	}
	if r.stats.isSuspended() {
		return // the sender paused on purpose; it resumes with a keyframe
	}
	frozen := now.Sub(r.lastDecoded) >= frozenAfter && now.Sub(r.lastPacket) < frozenAfter
	stalled := now.Sub(r.lastPacket) >= videoStall
	if (r.needKey || frozen || stalled) && now.Sub(r.lastKey) >= keyRetry {
		r.lastKey = now
		r.send(&rtcp.PictureLossIndication{MediaSSRC: r.ssrc})
		r.stats.mu.Lock()
		r.stats.plis++
		r.stats.mu.Unlock()
	}
}

// isTimeout reports a read deadline passing. pion's track reads return
// os.ErrDeadlineExceeded from one buffer and packetio's own "i/o timeout"
// from another; taking the second for a broken track ended the receive
// loop (and the picture) in the first lossy minute once deadlines came
// every few tens of milliseconds.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &t) && t.Timeout()
}

func (r *videoReceiver) send(p rtcp.Packet) {
	if err := r.s.pc.WriteRTCP([]rtcp.Packet{p}); err != nil {
		r.s.log.Debug("send RTCP feedback", "err", err)
	}
}
