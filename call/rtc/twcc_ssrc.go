package rtc

import (
	"strings"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// twccSSRC names a media stream, never a repair (RTX) stream, as the media
// SSRC of the transport-wide feedback we send. pion's TWCC recorder names
// the stream of the last packet it recorded before each report; when that
// was a probe's padding or a retransmission, the report went to the peer's
// RTX SSRC, whose RTCP nothing reads on a pion sender, and the peer's
// estimator never heard about that stretch of packets: its probes never
// completed (7 of 15 packets acknowledged while audio flowed, none once it
// stopped) and a picture suspended behind a cap that lifted stayed small.
// Feedback is transport-wide: any of the peer's media SSRCs is as good.
type twccSSRC struct {
	interceptor.NoOp
	mu    sync.Mutex
	rtx   map[uint32]bool
	video uint32 // a remote media stream to name, video preferred
	audio uint32
}

// twccSSRCFactory builds one twccSSRC per PeerConnection.
type twccSSRCFactory struct{}

func (twccSSRCFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &twccSSRC{rtx: map[uint32]bool{}}, nil
}

// BindRemoteStream learns the remote streams: repair streams and media.
func (t *twccSSRC) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	t.mu.Lock()
	defer t.mu.Unlock()
	mime := strings.ToLower(info.MimeType)
	switch {
	case mime == strings.ToLower(webrtc.MimeTypeRTX):
		t.rtx[info.SSRC] = true
	case strings.HasPrefix(mime, "video/"):
		t.video = info.SSRC
	case strings.HasPrefix(mime, "audio/"):
		t.audio = info.SSRC
	}
	return r
}

// UnbindRemoteStream forgets a stream that ended.
func (t *twccSSRC) UnbindRemoteStream(info *interceptor.StreamInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.rtx, info.SSRC)
	if t.video == info.SSRC {
		t.video = 0
	}
	if t.audio == info.SSRC {
		t.audio = 0
	}
}

// BindRTCPWriter rewrites the feedback on its way out.
func (t *twccSSRC) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, attrs interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			if fb, ok := p.(*rtcp.TransportLayerCC); ok {
				fb.MediaSSRC = t.mediaFor(fb.MediaSSRC)
			}
		}
		return w.Write(pkts, attrs)
	})
}

// mediaFor returns the SSRC to name instead of ssrc: a media stream's in
// place of a repair stream's.
func (t *twccSSRC) mediaFor(ssrc uint32) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.rtx[ssrc] {
		return ssrc
	}
	if t.video != 0 {
		return t.video
	}
	if t.audio != 0 {
		return t.audio
	}
	return ssrc
}
