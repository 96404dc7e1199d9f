package rtc

import (
	"strconv"
	"strings"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/softphone/softphone/media/red"
)

// Opus with RFC 2198 redundancy, negotiated the way Chrome does it:
// audio/red at payload type 63 with fmtp "111/111" (its blocks are Opus at
// 111), listed before Opus in our offers and answers, so a browser sends
// it and a softphone peer too. A peer that does not offer or accept it
// leaves plain Opus, which both ends still send and receive.
const (
	mimeRED  = "audio/red"
	redPT    = 63
	opusPT   = 111
	redFmtp  = "111/111"
	redClock = 48000
)

// redCodec is our audio/red registration.
var redCodec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeRED, ClockRate: redClock, Channels: 2, SDPFmtpLine: redFmtp},
	PayloadType:        redPT,
}

// registerRED adds audio/red to the media engine (after Opus).
func registerRED(me *webrtc.MediaEngine) error {
	return me.RegisterCodec(redCodec, webrtc.RTPCodecTypeAudio)
}

// preferRED orders an audio transceiver's codecs RED first, so the peer
// sends redundancy (Chrome sends RED only when it precedes Opus in the
// answer it gets).
func (s *Session) preferRED(t *webrtc.RTPTransceiver) {
	if s.loop != nil || s.aenc == nil {
		return
	}
	if err := t.SetCodecPreferences([]webrtc.RTPCodecParameters{redCodec, s.aenc.RTPCodec().RTPCodecParameters}); err != nil {
		s.log.Warn("audio codec preferences", "err", err)
	}
}

// redFor returns the negotiated audio/red codec whose blocks are the Opus
// payload type pt, if any.
func redFor(codecs []webrtc.RTPCodecParameters, pt webrtc.PayloadType) (webrtc.RTPCodecParameters, bool) {
	for _, c := range codecs {
		if !strings.EqualFold(c.MimeType, mimeRED) {
			continue
		}
		want := strconv.Itoa(int(pt))
		ok := c.SDPFmtpLine != ""
		for p := range strings.SplitSeq(c.SDPFmtpLine, "/") {
			ok = ok && strings.TrimSpace(p) == want
		}
		if ok {
			return c, true
		}
	}
	return webrtc.RTPCodecParameters{}, false
}

// redWriter turns the Opus packets mediadevices writes into RED packets
// carrying copies of the previous frames, as many as ctl says (none
// while the audio is lean).
type redWriter struct {
	next webrtc.TrackLocalWriter
	pt   uint8 // audio/red
	ctl  *redControl

	mu  sync.Mutex
	enc red.Encoder
}

func (w *redWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.enc.Encode(h.PayloadType, h.Timestamp, payload, w.ctl.sendDistance())
	hdr := *h
	hdr.PayloadType = w.pt
	return w.next.WriteRTP(&hdr, p)
}

func (w *redWriter) Write(b []byte) (int, error) {
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		return 0, err
	}
	return w.WriteRTP(&p.Header, p.Payload)
}
